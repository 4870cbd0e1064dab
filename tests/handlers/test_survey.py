"""The satisfaction survey: sent after the delay, answered in the chat, acted on per preset, reminded, closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from handlers import router, survey
from handlers.config import PolicyError, load_policy
from handlers.context import HandlerContext
from handlers.messages import IncomingMessage
from handlers.workflow import operations as ops
from storage.models import (
    ComplaintStatus,
    IntakeMode,
    IntakeSession,
    PerformanceKind,
    PerformanceRecord,
    Source,
    StaffTask,
    Survey,
    SurveyStatus,
    TaskKind,
)
from tests.handlers.test_workflow_support import (
    World,
    actions,
    company,
    investigated,
    local,
    make_complaint,
    make_world,
    outbox,
    texts,
    timeline,
)

S = ComplaintStatus
CUSTOMER = "oCUSTOMER0000000000000001"
FED_BACK = local(2026, 3, 3, 10)  # Tue


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def resolved(world: World, *, category: str = "product_quality", openid: str = CUSTOMER, channel: str | None = None,
             **fields: Any):
    """A complaint whose result was fed back at FED_BACK (nonferrous-quality for quality, general otherwise)."""
    c = make_complaint(world, category=category, openid=openid, **fields)
    investigated(world, c)
    ops.propose_plan(world.session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.start_implementation(world.session, world["zhao.lei"], c, ctx=world.ctx())
    ops.complete_implementation(world.session, world["zhao.lei"], c, ctx=world.ctx(), note="已更换")
    ops.feed_back_result(world.session, world["li.na"], c, ctx=world.at(FED_BACK), text="已为您更换同规格铝板。",
                         channel=channel)
    return c


def sent(world: World, c, at: dt.datetime = FED_BACK + dt.timedelta(hours=2)) -> Survey:
    found = survey.send_survey(world.session, c, ctx=world.at(at))
    assert found is not None
    return found


def message(text: str, sender: str = CUSTOMER, at: dt.datetime | None = None) -> IncomingMessage:
    return IncomingMessage(kind="text", sender=sender, created_at=at or FED_BACK, msg_id=1, text=text)


def tasks_of(session, c) -> list[tuple[TaskKind, str]]:
    rows = session.scalars(sa.select(StaffTask).where(StaffTask.complaint_id == c.id).order_by(StaffTask.id))
    return [(t.kind, t.reason) for t in rows]


def records_of(session, c) -> list[PerformanceRecord]:
    query = sa.select(PerformanceRecord).where(PerformanceRecord.complaint_id == c.id).order_by(PerformanceRecord.id)
    return list(session.scalars(query))


# -- what counts as an answer ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "stars", "comment"), [
    ("5", 5, None),
    ("1", 1, None),
    ("４", 4, None),  # full-width digit
    ("4 处理很及时", 4, "处理很及时"),
    ("4，处理很及时", 4, "处理很及时"),
    ("3星", 3, None),
    ("3 星 还可以", 3, "还可以"),
    ("2分", 2, None),
    ("★★★", 3, None),
    ("★★★☆☆", 3, None),
    ("★★★★★ 非常感谢", 5, "非常感谢"),
    ("五星", 5, None),
    ("两星", 2, None),
    ("一颗星，太慢了", 1, "太慢了"),
    ("五星好评", 5, None),
    ("很满意", 5, None),
    ("满意", 5, None),
    ("非常满意！谢谢", 5, "谢谢"),
    ("我很满意", 5, None),
    ("比较满意", 4, None),
    ("一般", 3, None),
    ("不满意", 2, None),
    ("不满意，太慢了", 2, "太慢了"),
    ("不太满意", 2, None),
    ("很不满意", 1, None),
    ("非常不满意!!", 1, None),
    ("差评", 1, None),
])
def test_answers_in_the_forms_people_type(text, stars, comment) -> None:
    rating = survey.parse_rating(text)
    assert rating is not None and (rating.stars, rating.comment) == (stars, comment)


@pytest.mark.parametrize("text", [
    "", "6", "0", "10", "50", "3吨", "26110001", "查询", "投诉", "满意度怎么算", "我要投诉", "你好", "☆☆☆",
    "★★★★★★", "同意", "好的",
])
def test_other_texts_are_no_answer(text) -> None:
    assert survey.parse_rating(text) is None


# -- configuration ----------------------------------------------------------------------------------------


def test_defaults_follow_the_seeds() -> None:
    conf = load_policy({}).survey
    assert conf.rules_for("nonferrous-quality").below_threshold == "supplementary"  # seed 001
    assert conf.rules_for("general").below_threshold == "reopen"  # seed 003: 直至客户满意
    assert conf.rules_for("gas-utility").below_threshold == "reopen"  # seed 004
    assert (conf.score(5), conf.score(4), conf.satisfied_score) == (100, 80, 85)


def test_rules_are_configuration_per_preset() -> None:
    conf = load_policy({
        "workflow": {"satisfied_score": 80},
        "survey": {"delay": "30min", "below_threshold": "supplementary", "follow_ups": {"product_quality": 2},
                   "presets": {"general": {"below_threshold": "reopen", "window": "5wd"}}},
    }).survey
    assert conf.satisfied_score == 80, "one threshold: [workflow].satisfied_score"
    assert conf.rules_for("gas-utility").below_threshold == "supplementary"
    assert conf.rules_for("general").below_threshold == "reopen"
    assert conf.rules_for("general").window.label() == "5个工作日"
    assert conf.rules_for("general").delay.label() == "30分钟"
    assert (conf.follow_ups_required("product_quality"), conf.follow_ups_required("delivery")) == (2, 0)


@pytest.mark.parametrize(("raw", "message"), [
    ({"survey": {"delay": "soon"}}, "survey.delay"),
    ({"survey": {"below_threshold": "ignore"}}, "survey.below_threshold"),
    ({"survey": {"colour": "red"}}, "survey.colour: unknown setting"),
    ({"survey": {"presets": {"nope": {}}}}, "survey.presets.nope: no SLA preset"),
    ({"survey": {"presets": {"general": {"praise": 5}}}}, "survey.presets.general.praise: unknown setting"),
    ({"survey": {"follow_ups": {"product_quality": "two"}}}, "survey.follow_ups.product_quality"),
    ({"survey": {"score_per_star": 0}}, "survey.score_per_star"),
    ({"survey": {"callback_below_stars": 9}}, "survey.callback_below_stars"),
])
def test_a_wrong_survey_setting_is_refused_at_start_up(raw, message) -> None:
    with pytest.raises(PolicyError, match=message.replace(".", r"\.")):
        load_policy(raw)


# -- sending -----------------------------------------------------------------------------------------------


def test_the_survey_goes_out_after_the_presets_delay(world: World, session) -> None:
    c = resolved(world)
    assert survey.send_survey(session, c, ctx=world.at(FED_BACK + dt.timedelta(hours=1, minutes=59))) is None
    assert c.status is S.RESOLVED
    found = sent(world, c, FED_BACK + dt.timedelta(hours=2))
    assert c.status is S.SURVEYING and found.round == 0 and found.status is SurveyStatus.SENT
    asked = texts(session, CUSTOMER, c)[-1]
    assert "请您对处理结果评价" in asked and f"/c/{c.number}?t=" in asked, "the survey links to the case page"
    assert survey.send_survey(session, c, ctx=world.at(FED_BACK + dt.timedelta(hours=3))) is None, "once per round"
    assert actions(session, c)[-1] == "start_survey"


def test_the_sweep_sends_only_to_wechat_complaints_and_respects_enabled(world: World, session,
                                                                        company_config) -> None:
    c = resolved(world)
    phone = resolved(world, source=Source.PHONE, channel="phone")  # told by phone: 回访 by phone too
    report = survey.sweep_surveys(session, ctx=world.at(FED_BACK + dt.timedelta(hours=3)))
    assert report.sent == 1 and c.status is S.SURVEYING and phone.status is S.RESOLVED
    off = make_world(session, company(company_config, survey={"enabled": False}), now=world.now)
    other = resolved(off, openid="oCUSTOMER0000000000000002")
    assert survey.sweep_surveys(session, ctx=off.at(FED_BACK + dt.timedelta(days=1))).rows == 0
    assert other.status is S.RESOLVED


def test_a_staff_visit_before_the_survey_still_gets_it_sent(world: World, session) -> None:
    c = resolved(world)
    ops.record_follow_up(session, world["li.na"], c, ctx=world.at(FED_BACK + dt.timedelta(hours=1)), method="phone",
                         notes="已电话回访")
    assert c.status is S.SURVEYING
    sent(world, c)
    assert actions(session, c)[-1] == "survey_sent"


# -- the rules an answer sets off ------------------------------------------------------------------------


def answer(world: World, c, stars: int, comment: str | None = None, *, at: dt.datetime | None = None):
    found = survey.open_surveys_for(world.session, CUSTOMER)
    assert found, "a survey is waiting"
    return survey.answer_survey(world.session, found[0][0], ctx=world.at(at or FED_BACK + dt.timedelta(hours=5)),
                                stars=stars, comment=comment, channel="wechat")


def test_five_stars_close_the_case_and_record_praise(world: World, session) -> None:
    c = resolved(world)
    sent(world, c)
    result = answer(world, c, 5, "处理很及时")
    assert result.consequences == ("praise", "close")
    assert c.status is S.CLOSED and (c.satisfaction_stars, c.satisfaction_score) == (5, 100)
    assert c.satisfaction_comment == "处理很及时"
    [praise] = records_of(session, c)
    assert (praise.kind, praise.staff_id, praise.department_id) == (
        PerformanceKind.PRAISE, world["zhao.lei"].id, c.handling_department_id)
    assert any("五星好评" in t for t in texts(session, "zhao.lei", c)), "the handler hears of the praise"
    assert timeline(session, c)[-1].details["outcome"] == "satisfied"
    assert tasks_of(session, c) == []


def test_four_stars_are_below_85_and_take_supplementary_measures_on_the_quality_preset(world: World, session) -> None:
    c = resolved(world)  # nonferrous-quality (seed 001: 补充措施 until satisfied)
    sent(world, c)
    result = answer(world, c, 4)
    assert result.consequences == ("supplementary",)
    assert c.status is S.SURVEYING, "the case waits for the measures"
    [(kind, reason)] = tasks_of(session, c)
    assert kind is TaskKind.SUPPLEMENTARY and "80 分" in reason and "85 分" in reason
    assert records_of(session, c) == []


def test_four_stars_reopen_where_the_preset_says_so(world: World, session) -> None:
    c = resolved(world, category="delivery")  # general preset: 直至客户满意
    sent(world, c)
    assert answer(world, c, 4).consequences == ("reopen",)
    assert c.status is S.REOPENED and c.reopen_count == 1
    assert "重新进入处理" in texts(session, CUSTOMER, c)[-1]


def test_two_stars_call_back_note_the_handler_notify_management_and_reopen(world: World, session) -> None:
    c = resolved(world, category="delivery")
    sent(world, c)
    result = answer(world, c, 2, "太慢了")
    assert result.consequences == ("callback", "notice", "reopen")
    assert c.status is S.REOPENED
    assert [kind for kind, _ in tasks_of(session, c)] == [TaskKind.CALLBACK]
    kinds = [(r.kind, r.staff_id, r.department_id, r.stars) for r in records_of(session, c)]
    assert kinds == [(PerformanceKind.CRITICISM, world["zhao.lei"].id, c.handling_department_id, 2),
                     (PerformanceKind.NOTICE, world["zhao.lei"].id, c.handling_department_id, 2)]
    notice = [m for m in outbox(session, complaint=c) if "chen.gang" in m.recipient.split("|")]
    assert any("低分评价通报" in m.payload["title"] and "2 星" in m.payload["text"] and "太慢了" in m.payload["text"]
               for m in notice), "management is told"
    logged = [e for e in timeline(session, c) if e.action == "survey_notice"]
    assert logged and logged[0].details["staff_id"] == world["zhao.lei"].id


def test_three_stars_neither_call_back_nor_notify(world: World, session) -> None:
    c = resolved(world, category="delivery")
    sent(world, c)
    assert answer(world, c, 3).consequences == ("reopen",)
    assert records_of(session, c) == []


def test_satisfied_waits_for_the_follow_ups_the_category_needs(world: World, session, company_config) -> None:
    strict = make_world(session, company(company_config, survey={"follow_ups": {"product_quality": 2}}),
                        now=world.now)
    c = resolved(strict)
    ops.record_follow_up(session, strict["li.na"], c, ctx=strict.at(FED_BACK + dt.timedelta(hours=1)),
                         method="phone", notes="第一次回访")
    sent(strict, c)
    assert answer(strict, c, 5).consequences == ("praise", "follow_ups")
    assert c.status is S.SURVEYING, "one visit of the two the category needs"
    [(kind, reason)] = tasks_of(session, c)
    assert kind is TaskKind.CALLBACK and "须回访 2 次，已回访 1 次" in reason
    ops.record_follow_up(session, strict["li.na"], c, ctx=strict.at(FED_BACK + dt.timedelta(hours=6)),
                         method="visit", notes="第二次回访，客户满意", satisfied=True)
    ops.close(session, strict["li.na"], c, ctx=strict.ctx())
    assert c.status is S.CLOSED


def test_the_first_answer_stands_and_a_later_one_is_kept_as_a_comment(world: World, session) -> None:
    c = resolved(world)
    found = sent(world, c)
    answer(world, c, 4, "还行")
    later = survey.answer_survey(session, found, ctx=world.at(FED_BACK + dt.timedelta(hours=6)), stars=1,
                                 comment="又坏了", channel="page")
    assert not later.first and later.consequences == ()
    assert (found.stars, found.score, found.comment, found.channel) == (4, 80, "还行", "wechat")
    assert found.later_answers[0]["stars"] == 1 and found.later_answers[0]["text"] == "又坏了"
    assert (c.satisfaction_stars, c.satisfaction_comment) == (4, "还行")
    assert len(tasks_of(session, c)) == 1, "nothing more is set off"
    assert actions(session, c)[-1] == "survey_comment"


# -- no answer: one reminder, then 未评价 -------------------------------------------------------------------


def test_no_answer_gets_one_reminder_then_closes_as_unrated(world: World, session) -> None:
    c = resolved(world)
    sweep = survey.sweep_surveys
    sweep(session, ctx=world.at(FED_BACK + dt.timedelta(hours=2)))  # Tue 12:00: sent
    found = session.scalar(sa.select(Survey).where(Survey.complaint_id == c.id))
    assert found is not None and found.remind_at == local(2026, 3, 4, 23, 59, 59)  # 1 working day
    assert found.expires_at == local(2026, 3, 6, 23, 59, 59)  # 3 working days
    assert sweep(session, ctx=world.at(local(2026, 3, 4, 12))).rows == 0
    assert sweep(session, ctx=world.at(local(2026, 3, 5, 0, 0))).reminded == 1  # the next tick after 23:59:59
    assert "还未评价" in texts(session, CUSTOMER, c)[-1]
    assert sweep(session, ctx=world.at(local(2026, 3, 5, 10))).rows == 0, "ONE reminder"
    assert sweep(session, ctx=world.at(local(2026, 3, 6, 23, 59))).rows == 0
    report = sweep(session, ctx=world.at(local(2026, 3, 7, 0, 1)))
    assert report.expired == 1
    assert found.status is SurveyStatus.EXPIRED and c.status is S.CLOSED
    assert c.satisfaction_score is None, "未评价 is never counted as satisfied"
    close = timeline(session, c)[-1]
    assert close.action == "close" and close.details["outcome"] == "no_answer"
    reminders = [t for t in texts(session, CUSTOMER, c) if "还未评价" in t]
    assert len(reminders) == 1


def test_a_late_reminder_still_leaves_the_customer_time(world: World, session) -> None:
    c = resolved(world)
    found = sent(world, c)
    window = found.expires_at - found.remind_at
    late = local(2026, 3, 10, 9)  # the worker was down past the whole window
    assert survey.sweep_surveys(session, ctx=world.at(late)).reminded == 1
    assert found.expires_at == late + window and c.status is S.SURVEYING


def test_a_case_staff_closed_meanwhile_withdraws_the_survey(world: World, session) -> None:
    c = resolved(world)
    found = sent(world, c)
    ops.record_follow_up(session, world["li.na"], c, ctx=world.at(FED_BACK + dt.timedelta(hours=3)),
                         method="phone", notes="客户满意", satisfied=True)
    ops.close(session, world["li.na"], c, ctx=world.ctx())
    assert survey.sweep_surveys(session, ctx=world.at(local(2026, 3, 5, 9))).cancelled == 1
    assert found.status is SurveyStatus.CANCELLED
    assert survey.open_surveys_for(session, CUSTOMER) == []
    assert not any("还未评价" in t for t in texts(session, CUSTOMER, c))


def test_a_reopened_case_gets_a_new_survey_when_its_new_result_is_fed_back(world: World, session) -> None:
    c = resolved(world, category="delivery")
    sent(world, c)
    answer(world, c, 2)
    assert c.status is S.REOPENED
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 3, 4, 9)))
    ops.record_investigation(session, world["zhao.lei"], c, ctx=world.ctx(), methods=["phone"], findings="复查",
                             cause="service_fault", responsibility="company",
                             responsible_department=world.dept("logistics"), responsibility_type="direct")
    ops.submit_report(session, world["zhao.lei"], c, ctx=world.ctx(), report_text="复查")
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="再次更换",
                     due_date=dt.date(2026, 3, 6))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    ops.complete_implementation(session, world["zhao.lei"], c, ctx=world.ctx(), note="已更换")
    ops.feed_back_result(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 10)), text="已再次更换。")
    second = sent(world, c, local(2026, 3, 5, 12))
    assert second.round == 1
    answer(world, c, 5, at=local(2026, 3, 5, 13))
    assert c.status is S.CLOSED


# -- the chat flow (through the router, ahead of intake) -------------------------------------------------


def test_the_router_gives_a_pending_survey_the_answer(world: World, session) -> None:
    c = resolved(world, category="delivery")
    sent(world, c)
    ctx = world.at(FED_BACK + dt.timedelta(hours=4))
    reply = router.route(session, message("2 太慢了"), ctx)
    assert reply.handler == survey.HANDLER_NAME
    assert "★★☆☆☆" in reply.texts[0] and "重新处理" in reply.texts[0] and "电话联系" in reply.texts[0]
    assert c.status is S.REOPENED
    again = router.route(session, message("5"), ctx)
    assert again.handler == survey.HANDLER_NAME and "以首次评价为准" in again.texts[0]
    assert c.satisfaction_stars == 2


def test_without_a_survey_numbers_go_on_to_the_other_flows(world: World, session) -> None:
    resolved(world)
    reply = router.route(session, message("5"), world.ctx())
    assert reply.handler != survey.HANDLER_NAME


def test_a_bare_number_belongs_to_the_intake_form_while_one_is_being_filled(world: World, session) -> None:
    c = resolved(world)
    sent(world, c)
    ctx = world.at(FED_BACK + dt.timedelta(hours=4))
    router.route(session, message("投诉"), ctx)  # a second complaint: the form asks for the category (1–4)
    assert session.scalar(sa.select(IntakeSession.mode).where(IntakeSession.openid == CUSTOMER)) is IntakeMode.FILLING
    reply = router.route(session, message("1"), ctx)
    assert reply.handler != survey.HANDLER_NAME and c.satisfaction_stars is None
    stars = router.route(session, message("★★★★★"), ctx)
    assert stars.handler == survey.HANDLER_NAME and c.status is S.CLOSED


def test_with_two_surveys_waiting_a_number_picks_the_case(world: World, session) -> None:
    first, second = resolved(world), resolved(world)
    sent(world, first)
    sent(world, second)
    ctx = world.at(FED_BACK + dt.timedelta(hours=4))
    reply = router.route(session, message(f"{second.number} 5"), ctx)
    assert second.status is S.CLOSED and first.status is S.SURVEYING
    assert reply.handler == survey.HANDLER_NAME
    reply = router.route(session, message("5"), ctx)
    assert first.status is S.CLOSED
    assert "也在等待评价" not in reply.texts[0]


def test_someone_elses_survey_is_not_answered(world: World, session) -> None:
    c = resolved(world)
    sent(world, c)
    reply = router.route(session, message("1", sender="oSTRANGER00000000000001"),
                         HandlerContext(now=FED_BACK + dt.timedelta(hours=4), policy=world.policy))
    assert reply.handler != survey.HANDLER_NAME and c.status is S.SURVEYING


def test_a_reminded_survey_does_not_hold_up_the_next_reminder(world: World, session) -> None:
    first, second = resolved(world), resolved(world)
    sent(world, first)
    sent(world, second)
    tick = world.at(local(2026, 3, 5, 9))
    assert survey.sweep_surveys(session, ctx=tick, limit=1).reminded == 1
    assert survey.sweep_surveys(session, ctx=tick, limit=1).reminded == 1, "the batch moves on to the next one"
    reminded = session.scalars(sa.select(Survey.reminded_at).where(Survey.complaint_id.in_([first.id, second.id])))
    assert all(at is not None for at in reminded)
