"""Deadline rows end to end, on the 2026 calendar (Spring Festival 2/15–2/23 off, 2/14 and 2/28 worked;
National Day 10/1–10/7 off, 10/10 worked), with a fixed clock.

Working days after Fri 2026-02-13: 1 = Sat 2/14 · 2 = 2/24 · 3 = 2/25 · 4 = 2/26 · 5 = 2/27 · 6 = Sat 2/28 ·
… 15 = Thu 3/12 · 30 = Thu 4/2. After Wed 2026-09-30: 1 = 10/8 · 2 = 10/9 · 3 = Sat 10/10 · 4 = 10/12 ·
5 = 10/13 · … 15 = 10/27 · 30 = 11/17.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.sla.calendar import SHANGHAI, WorkCalendar
from handlers.sla.calendar_store import set_exception
from handlers.sla.presets import reminders_between
from handlers.workflow import operations as ops
from handlers.workflow.deadlines import (
    SweepReport,
    next_deadline,
    open_initial_deadlines,
    sweep_deadlines,
)
from storage.models import Complaint, Deadline, DeadlineStatus, OutboxMessage, Severity, Source, Staff, TimelineEvent
from tests.conftest import run_concurrently
from tests.handlers.test_workflow_support import (
    World,
    actions,
    assigned,
    company,
    deadline,
    eod,
    investigated,
    local,
    make_complaint,
    make_world,
    milestones,
    outbox,
    texts,
    timeline,
)
from tests.storage.locks import wait_until_blocked

OPEN, MET, BREACHED, CANCELLED = "open", "met", "breached", "cancelled"


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


# -- initial deadlines ---------------------------------------------------------------------------


def test_registration_opens_the_receipt_and_registration_anchored_deadlines(world: World, session) -> None:
    c = make_complaint(world, received_at=local(2026, 2, 13, 10), registered_at=local(2026, 2, 13, 10, 5))
    assert milestones(session, c) == {
        "first_response": (OPEN, local(2026, 2, 13, 11)),  # working day: 1 h
        "registration": (MET, local(2026, 2, 13, 12)),  # 2 h, met by the registration itself
        "whole_case": (OPEN, eod(2026, 3, 12)),  # 15 working days
        "investigation_organised": (OPEN, eod(2026, 2, 24)),  # 2 wd from registration
    }
    assert c.due_at == eod(2026, 3, 12)
    assert deadline(session, c, "registration").met_at == local(2026, 2, 13, 10, 5)
    opened = timeline(session, c)[0]
    assert opened.action == "deadlines_opened" and opened.details["preset"] == "nonferrous-quality"
    assert opened.details["deadlines_met"] == {"registration": "on_time"}


def test_opening_twice_adds_nothing(world: World, session) -> None:
    c = make_complaint(world)
    assert open_initial_deadlines(session, c, world.now, policy=world.policy) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 4


def test_major_complaint_limits_and_management_told_once(world: World, session) -> None:
    c = make_complaint(world, severity=Severity.MAJOR)
    got = milestones(session, c)
    assert got["whole_case"] == (OPEN, eod(2026, 4, 2))  # 30 wd
    assert got["investigation_organised"] == (OPEN, eod(2026, 2, 14))  # 1 wd: the 调休 Saturday
    ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=True, severity=Severity.MAJOR)
    notices = [m for m in outbox(session, complaint=c) if m.payload.get("title") == "重大投诉上报"]
    assert len(notices) == 1 and notices[0].recipient == "chen.gang|wu.fang"


def test_first_response_on_a_non_working_day_is_four_hours(world: World, session) -> None:
    c = make_complaint(world, received_at=local(2026, 2, 17, 20, 30))  # 初一, inside the holiday block
    assert deadline(session, c, "first_response").due_at == local(2026, 2, 18, 0, 30)
    assert c.due_at == eod(2026, 3, 13)  # 15 wd after 2/17: 2/24 … 2/28 (调休), 3/2 … 3/13


def test_phone_complaint_was_answered_at_receipt(world: World, session) -> None:
    c = make_complaint(world, source=Source.PHONE, received_at=local(2026, 2, 13, 9, 10),
                       registered_at=local(2026, 2, 13, 10))
    first = deadline(session, c, "first_response")
    assert (first.status, first.met_at) == (DeadlineStatus.MET, local(2026, 2, 13, 9, 10))
    assert deadline(session, c, "investigation_organised").anchor_at == local(2026, 2, 13, 10)


def test_general_category_uses_the_general_preset(world: World, session) -> None:
    c = make_complaint(world, category="service_attitude")
    assert c.sla_preset == "general"
    assert milestones(session, c) == {
        "registration": (MET, local(2026, 2, 14, 10)),  # 24 h
        "whole_case": (OPEN, eod(2026, 2, 25)),  # 3 wd
        "investigation_report": (OPEN, eod(2026, 2, 24)),  # 2 wd from registration
    }


def test_company_calendar_exceptions_count(world: World, session) -> None:
    set_exception(session, dt.date(2026, 2, 14), False, "公司统一放假")  # the 调休 Saturday, off for the company
    c = make_complaint(world, severity=Severity.MAJOR)
    assert deadline(session, c, "investigation_organised").due_at == eod(2026, 2, 24)


# -- anchors and milestones as the case moves ------------------------------------------------------


def test_each_step_meets_and_starts_its_milestones_across_national_day(world: World, session) -> None:
    world.now = local(2026, 9, 30, 16)
    c = make_complaint(world)
    assert c.due_at == eod(2026, 10, 27)
    ops.record_contact(session, world["li.na"], c, ctx=world.at(local(2026, 9, 30, 16, 40)), method="phone")
    assigned(world, c)
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 10, 8, 9)))
    assert deadline(session, c, "investigation_report").due_at == eod(2026, 10, 14)  # 10/9, 10/10 (调休) … 10/14
    ops.decide_site_visit(session, world["zhao.lei"], c, ctx=world.at(local(2026, 10, 8, 10)))
    assert deadline(session, c, "site_visit").due_at == eod(2026, 10, 12)  # 10/9, 10/10 (调休), 10/12
    ops.receive_sample(session, world["zhao.lei"], c, ctx=world.at(local(2026, 10, 9, 10)))
    assert deadline(session, c, "retest").due_at == eod(2026, 10, 13)
    ops.record_site_visit(session, world["zhao.lei"], c, ctx=world.at(local(2026, 10, 10, 14)))
    ops.record_retest(session, world["zhao.lei"], c, ctx=world.at(local(2026, 10, 14, 14)))  # one day late
    got = milestones(session, c)
    assert got["first_response"][0] == MET and got["investigation_organised"][0] == MET
    assert got["site_visit"][0] == MET
    retest = deadline(session, c, "retest")
    assert retest.status is DeadlineStatus.MET and retest.met_at > retest.due_at  # met late
    assert timeline(session, c)[-1].details["deadlines_met"] == {"retest": "late"}


def test_only_the_unanswered_open_case_is_breached(world: World, session) -> None:
    late = make_complaint(world)
    done = make_complaint(world)
    ops.record_contact(session, world["li.na"], done, ctx=world.at(local(2026, 2, 13, 10, 5)), method="phone")
    gone = make_complaint(world)
    ops.triage(session, world["li.na"], gone, ctx=world.ctx(), valid=False, invalid_reason="重复")
    sweep_deadlines(session, local(2026, 2, 13, 12), policy=world.policy)
    rows = session.scalars(sa.select(Deadline).where(Deadline.status == DeadlineStatus.BREACHED)).all()
    assert [(row.complaint_id, row.milestone) for row in rows] == [(late.id, "first_response")]


def test_next_deadline_is_the_most_urgent_unmet_one(world: World, session) -> None:
    c = make_complaint(world)
    assert next_deadline(session, c).milestone == "first_response"
    ops.record_contact(session, world["li.na"], c, ctx=world.at(local(2026, 2, 13, 10, 30)), method="wechat")
    assert next_deadline(session, c).milestone == "investigation_organised"


# -- severity changes -------------------------------------------------------------------------------


def test_changing_severity_recomputes_open_deadlines(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 2, 24, 9)))
    assert deadline(session, c, "investigation_report").due_at == eod(2026, 3, 2)  # 2/25 … 2/28 (调休), 3/2
    ops.change_severity(session, world["li.na"], c, ctx=world.at(local(2026, 2, 24, 10)),
                        severity=Severity.MAJOR, reason="涉及多个批次")
    got = milestones(session, c)
    assert got["investigation_report"] == (OPEN, eod(2026, 2, 27))  # 3 wd
    assert got["whole_case"] == (OPEN, eod(2026, 4, 2))  # 30 wd
    assert c.due_at == eod(2026, 4, 2)
    event = timeline(session, c)[-1]
    assert event.action == "change_severity"
    assert event.details["changes"]["severity"] == {"before": "general", "after": "major"}
    assert event.details["changes"]["due_at"]["after"] == eod(2026, 4, 2).isoformat()
    assert {d["milestone"] for d in event.details["deadlines_changed"]} == {"investigation_report", "whole_case"}
    assert any(m.payload.get("title") == "重大投诉上报" for m in outbox(session, complaint=c))


def test_a_breach_that_no_longer_stands_reopens_the_deadline(world: World, session) -> None:
    c = assigned(world, make_complaint(world, severity=Severity.MAJOR))
    sweep_deadlines(session, local(2026, 2, 16, 9), policy=world.policy)
    organised = deadline(session, c, "investigation_organised")
    assert organised.status is DeadlineStatus.BREACHED  # 1 wd: Sat 2/14
    ops.change_severity(session, world["li.na"], c, ctx=world.at(local(2026, 2, 16, 10)),
                        severity=Severity.GENERAL, reason="单批次轻微问题")
    assert (organised.status, organised.due_at) == (DeadlineStatus.OPEN, eod(2026, 2, 24))
    assert organised.breached_at is None and organised.generation == 2


def test_a_new_category_at_triage_switches_the_preset(world: World, session) -> None:
    c = make_complaint(world)  # registered as a quality objection: nonferrous-quality
    ops.triage(session, world["zhang.wei"], c, ctx=world.at(local(2026, 2, 13, 10, 30)), valid=True,
               category="service_attitude")
    assert c.sla_preset == "general"
    assert milestones(session, c) == {
        "first_response": (CANCELLED, local(2026, 2, 13, 11)),  # not a milestone of the general preset
        "registration": (MET, local(2026, 2, 13, 12)),
        "whole_case": (OPEN, eod(2026, 2, 25)),  # 3 wd instead of 15
        "investigation_organised": (CANCELLED, eod(2026, 2, 24)),
        "investigation_report": (OPEN, eod(2026, 2, 24)),  # 2 wd from registration
    }
    assert c.due_at == eod(2026, 2, 25)
    details = timeline(session, c)[-1].details
    assert details["changes"]["sla_preset"] == {"before": "nonferrous-quality", "after": "general"}
    assert details["deadlines_cancelled"] == ["first_response", "investigation_organised"]


def test_plan_start_anchor_moves_with_severity(world: World, session) -> None:
    c = investigated(world, make_complaint(world))
    assert deadline(session, c, "plan_started", unmet=True).anchor_event == "report_submitted"
    ops.change_severity(session, world["li.na"], c, ctx=world.ctx(), severity=Severity.MAJOR, reason="造成客户损失")
    plan_started = deadline(session, c, "plan_started")
    assert plan_started.status is DeadlineStatus.CANCELLED  # 重大: counts from the approval, not yet given
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.approve_plan(session, world["chen.gang"], c, ctx=world.at(local(2026, 2, 24, 9)))
    started = deadline(session, c, "plan_started", unmet=True)
    assert (started.anchor_event, started.due_at) == ("plan_approved", eod(2026, 2, 25))


# -- the sweep ------------------------------------------------------------------------------------


def _alerts(session) -> list[tuple[str, str, str]]:
    return [(m.payload.get("title", ""), m.recipient, m.dedupe_key or "") for m in outbox(session)
            if m.payload.get("title") in {"投诉处理催办", "投诉处理超时", "超时督办"}]


def test_reminders_breach_and_escalation_each_once(world: World, session) -> None:
    c = make_complaint(world)  # first response due 11:00; reminders at 10:30 and 10:48
    first = deadline(session, c, "first_response")
    assert first.reminder_times == [local(2026, 2, 13, 10, 30).isoformat(), local(2026, 2, 13, 10, 48).isoformat()]
    assert first.next_alert_at == local(2026, 2, 13, 10, 30)

    assert sweep_deadlines(session, local(2026, 2, 13, 10, 29), policy=world.policy).total == 0
    report = sweep_deadlines(session, local(2026, 2, 13, 10, 31), policy=world.policy)
    assert report.reminders == 1
    [(title, recipient, key)] = _alerts(session)
    # Not yet assigned: the lead office (intake staff and head) is reminded.
    assert title == "投诉处理催办" and set(recipient.split("|")) == {"zhang.wei", "liu.yang", "li.na"}
    assert key == f"sla:{first.id}:g1:reminder:0"
    assert sweep_deadlines(session, local(2026, 2, 13, 10, 31), policy=world.policy).total == 0  # idempotent

    sweep_deadlines(session, local(2026, 2, 13, 10, 50), policy=world.policy)
    sweep_deadlines(session, local(2026, 2, 13, 11, 0, 0), policy=world.policy)  # on time still
    assert first.status is DeadlineStatus.OPEN
    report = sweep_deadlines(session, local(2026, 2, 13, 11, 0, 1), policy=world.policy)
    assert report.breaches == 1 and first.status is DeadlineStatus.BREACHED
    assert "deadline_breached" in actions(session, c)
    # Supervision one working day after the breach: end of Sat 2/14 (调休上班).
    assert first.escalate_at == eod(2026, 2, 14)
    assert sweep_deadlines(session, local(2026, 2, 14, 23, 0), policy=world.policy).escalations == 0
    report = sweep_deadlines(session, local(2026, 2, 15, 0, 0), policy=world.policy)
    assert report.escalations == 1
    titles = [title for title, _, key in _alerts(session) if key.startswith(f"sla:{first.id}:")]
    assert titles == ["投诉处理催办", "投诉处理催办", "投诉处理超时", "超时督办"]
    assert [r for t, r, _ in _alerts(session) if t == "超时督办"] == ["chen.gang|wu.fang"]
    assert first.next_alert_at is None
    sweep_deadlines(session, local(2026, 3, 1), policy=world.policy)  # other deadlines breach; this one is done
    assert [t for t, _, key in _alerts(session) if key.startswith(f"sla:{first.id}:")] == titles


def test_breach_goes_to_the_handling_department_head_and_reminders_to_the_responsible(world: World, session) -> None:
    c = make_complaint(world, severity=Severity.MAJOR)
    assigned(world, c, responsible="qian.hao")
    session.query(OutboxMessage).delete()
    sweep_deadlines(session, local(2026, 2, 14, 12, 1), policy=world.policy)  # 50 % of the 1-wd window
    assert any("【催办】" in t and "组织调查" in t for t in texts(session, "qian.hao", c))
    sweep_deadlines(session, local(2026, 2, 15, 0, 0, 1), policy=world.policy)
    assert any("【超时】" in t and "组织调查" in t for t in texts(session, "zhao.lei", c))


def test_after_a_pause_only_the_latest_alert_goes_out(world: World, session) -> None:
    c = make_complaint(world)
    report = sweep_deadlines(session, local(2026, 2, 13, 12), policy=world.policy)  # both reminders and breach passed
    assert (report.reminders, report.breaches) == (0, 1)
    assert deadline(session, c, "first_response").reminders_done == 2


def test_met_and_closed_deadlines_are_not_swept(world: World, session) -> None:
    c = make_complaint(world)
    ops.record_contact(session, world["li.na"], c, ctx=world.at(local(2026, 2, 13, 10, 10)), method="phone")
    assert deadline(session, c, "first_response").next_alert_at is None
    ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=False, invalid_reason="不属实")
    assert sweep_deadlines(session, local(2026, 6, 1), policy=world.policy).total == 0
    assert {status for status, _ in milestones(session, c).values()} <= {MET, CANCELLED}


def test_reminders_of_a_working_day_window_skip_the_holiday(world: World, session) -> None:
    c = make_complaint(world)
    whole = deadline(session, c, "whole_case")
    # 50 % of 15 wd = noon of the 8th working day (3/3); 80 % = 00:00 + 0.0 of the 13th (3/10 …)
    assert [dt.datetime.fromisoformat(t) for t in whole.reminder_times] == [
        local(2026, 3, 3, 12), local(2026, 3, 10, 0)]


def test_sweep_is_shared_safely_between_two_sessions(world: World, session, db) -> None:
    make_complaint(world)
    session.commit()
    with db.sessions() as one, one.begin():
        sweep_deadlines(one, local(2026, 2, 13, 10, 31), policy=world.policy)
    with db.sessions() as two, two.begin():
        assert sweep_deadlines(two, local(2026, 2, 13, 10, 31), policy=world.policy).total == 0
    with db.read_sessions() as check:
        titles = [m.payload.get("title") for m in check.scalars(sa.select(OutboxMessage))]
    assert titles.count("投诉处理催办") == 1


# -- extension ----------------------------------------------------------------------------------------


def test_extension_moves_the_whole_case_deadline_only_with_consent(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    refused = ops.request_extension(session, world["zhao.lei"], c, ctx=world.at(local(2026, 3, 2, 10)),
                                    reason="等待第三方检测报告", new_due=dt.date(2026, 3, 31))
    assert refused.old_due_at == eod(2026, 3, 12) and refused.new_due_at == eod(2026, 3, 31)
    assert any("延长至 3月31日（周二）23:59" in t for t in texts(session, c.openid, c))
    ops.answer_extension(session, refused, ctx=world.ctx(), consent=False, answer_text="不同意")
    assert c.due_at == eod(2026, 3, 12) and deadline(session, c, "whole_case").due_at == eod(2026, 3, 12)
    assert any("客户不同意" in t for t in texts(session, "zhao.lei", c))

    agreed = ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="等待第三方检测报告",
                                   new_due=dt.date(2026, 3, 31))
    ops.answer_extension(session, agreed, ctx=world.ctx(), consent=True, answer_text="同意")
    whole = deadline(session, c, "whole_case")
    assert c.due_at == eod(2026, 3, 31) and whole.due_at == eod(2026, 3, 31) and whole.extended
    event = timeline(session, c)[-1]
    assert event.actor_kind.value == "customer"
    assert event.details["changes"]["due_at"] == {"before": eod(2026, 3, 12).isoformat(),
                                                  "after": eod(2026, 3, 31).isoformat()}
    # A later severity change keeps the agreed date.
    ops.change_severity(session, world["li.na"], c, ctx=world.ctx(), severity=Severity.MAJOR, reason="多批次")
    assert c.due_at == eod(2026, 3, 31)


def test_unanswered_extension_expires_at_the_old_deadline(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    extension = ops.request_extension(session, world["zhao.lei"], c, ctx=world.at(local(2026, 3, 2, 10)),
                                      reason="等待检测", new_due=dt.date(2026, 3, 31))
    assert sweep_deadlines(session, local(2026, 3, 12, 23, 0), policy=world.policy).extensions_expired == 0
    report = sweep_deadlines(session, local(2026, 3, 13, 0, 0), policy=world.policy)
    assert report.extensions_expired == 1 and extension.status.value == "expired"
    assert c.due_at == eod(2026, 3, 12)
    assert "extension_expired" in actions(session, c)
    assert any("延期未生效" in t for t in texts(session, "zhao.lei", c))


def test_extension_rules(world: World, session) -> None:
    from handlers.workflow.errors import InvalidValue, MissingField, PreconditionFailed

    c = assigned(world, make_complaint(world))
    with pytest.raises(InvalidValue) as err:
        ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="x", new_due=dt.date(2026, 3, 1))
    assert err.value.field == "new_due"
    with pytest.raises(MissingField):
        ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason=" ", new_due=dt.date(2026, 4, 1))
    ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="检测", new_due=dt.date(2026, 4, 1))
    with pytest.raises(PreconditionFailed, match="等待客户答复"):
        ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="检测",
                              new_due=dt.date(2026, 4, 2))
    late = assigned(world, make_complaint(world))
    with pytest.raises(PreconditionFailed, match="到期前"):
        ops.request_extension(session, world["zhao.lei"], late, ctx=world.at(local(2026, 3, 13, 9)), reason="检测",
                              new_due=dt.date(2026, 4, 1))


def test_general_preset_caps_an_extension_at_its_ceiling(world: World, session) -> None:
    from handlers.workflow.errors import InvalidValue

    c = make_complaint(world, category="service_attitude")  # general: 3 wd, at most 10 wd (3/5)
    assigned(world, c, department="sales", responsible="wang.qiang")
    with pytest.raises(InvalidValue, match="最长只能延至 3月5日"):
        ops.request_extension(session, world["wang.qiang"], c, ctx=world.ctx(), reason="复杂",
                              new_due=dt.date(2026, 3, 6))
    ops.request_extension(session, world["wang.qiang"], c, ctx=world.ctx(), reason="复杂", new_due=dt.date(2026, 3, 5))


def test_phone_complaint_extension_is_recorded_by_staff(world: World, session) -> None:
    c = make_complaint(world, source=Source.PHONE, openid=None)
    assigned(world, c)
    extension = ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="检测",
                                      new_due=dt.date(2026, 3, 31), via="phone")
    assert outbox(session, recipient="oCUSTOMER0000000000000001") == []
    ops.answer_extension(session, extension, ctx=world.ctx(), consent=True, staff=world["li.na"],
                         answer_text="电话中客户同意")
    assert c.due_at == eod(2026, 3, 31)
    assert session.scalars(sa.select(TimelineEvent).order_by(TimelineEvent.id.desc())).first().actor_id == str(
        world["li.na"].id)


def test_custom_end_of_day_and_reminder_fractions(world: World, session) -> None:
    world.config = company(world.config, sla={"end_of_day": "17:30", "reminder_fractions": [0.9]})
    c = make_complaint(world)
    whole = deadline(session, c, "whole_case")
    assert whole.due_at == local(2026, 3, 12, 17, 30)
    assert len(whole.reminder_times) == 1


# -- concurrency and properties ------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_workers_sweeping_at_once_never_take_the_same_row(world: World, session, db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    make_complaint(world)
    session.commit()
    moment = local(2026, 2, 13, 10, 31)
    with db.sessions() as one, one.begin():
        first = sweep_deadlines(one, moment, policy=world.policy)  # holds the row locks until commit
        with db.sessions() as two, two.begin():
            second = sweep_deadlines(two, moment, policy=world.policy)
    assert (first.rows, first.reminders) == (1, 1)
    assert (second.rows, second.reminders) == (0, 0)


def _breach_notices(db, row: Deadline) -> list[OutboxMessage]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"sla:{row.id}:%:breach"))))


def _race_world(world: World, session) -> tuple[Complaint, dt.datetime]:
    """Registered 2/13 10:00 and left alone: at 2/25 09:00 the first response (11:00 on 2/13) and the
    organisation of the investigation (end of 2/24) are both breached, and no sweep has seen them yet."""
    c = make_complaint(world)
    session.commit()
    return c, local(2026, 2, 25, 9, 0)


@pytest.mark.postgres
def test_a_staff_edit_holding_the_complaint_makes_the_sweep_skip_it_no_deadlock(world: World, session, db) -> None:
    """The edit locks the complaint first; the sweep, arriving meanwhile, skips that complaint.

    With the sweep locking deadline rows first, it held the first-response row and waited for the
    complaint (its timeline insert), while the edit held the complaint and waited for that row: deadlock.
    """
    if db.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers instead")
    c, moment = _race_world(world, session)
    locked, swept = threading.Event(), threading.Event()

    def staff_edit() -> str:
        with db.transaction() as s:
            complaint = ops.load_complaint(s, c.id)
            locked.set()
            wait_until_blocked(db, unless=swept)  # the sweep either skips the complaint or queues behind it
            ops.record_contact(s, s.get(Staff, world["li.na"].id), complaint, ctx=world.ctx(moment), method="phone")
        return "edited"

    def sweep() -> SweepReport:
        assert locked.wait(10)
        try:
            with db.transaction() as s:
                return sweep_deadlines(s, moment, policy=world.policy)
        finally:
            swept.set()

    results, errors = run_concurrently(lambda run: run(), [(staff_edit,), (sweep,)])
    assert errors == []
    report = next(r for r in results if isinstance(r, SweepReport))
    assert report.rows == 0, "the complaint under edit is left for the next sweep"
    with db.transaction() as s:
        later = sweep_deadlines(s, moment + dt.timedelta(minutes=1), policy=world.policy)
    with db.transaction() as s:
        again = sweep_deadlines(s, moment + dt.timedelta(minutes=2), policy=world.policy)
    assert (later.breaches, again.total) == (1, 0)
    with db.read_sessions() as s:
        first, organised = (deadline(s, c, m) for m in ("first_response", "investigation_organised"))
        assert (first.status, first.met_at, first.breach_notified_at) == (DeadlineStatus.MET, moment, None)
        assert (organised.status, organised.breach_notified_at) == (
            DeadlineStatus.BREACHED, moment + dt.timedelta(minutes=1))
        assert actions(s, c)[-2:] == ["record_contact", "deadline_breached"]
    assert (len(_breach_notices(db, first)), len(_breach_notices(db, organised))) == (0, 1)


@pytest.mark.postgres
def test_a_staff_edit_arriving_during_the_sweep_waits_for_it_and_loses_nothing(world: World, session, db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers instead")
    c, moment = _race_world(world, session)
    swept = threading.Event()

    def sweep() -> SweepReport:
        with db.transaction() as s:
            report = sweep_deadlines(s, moment, policy=world.policy)
            swept.set()
            assert wait_until_blocked(db), "the edit never queued behind the sweep's complaint lock"
        return report

    def staff_edit() -> str:
        assert swept.wait(10)
        with db.transaction() as s:
            complaint = ops.load_complaint(s, c.id)
            ops.record_contact(s, s.get(Staff, world["li.na"].id), complaint, ctx=world.ctx(moment), method="phone")
        return "edited"

    results, errors = run_concurrently(lambda run: run(), [(sweep,), (staff_edit,)])
    assert errors == []
    report = next(r for r in results if isinstance(r, SweepReport))
    assert report.breaches == 2
    with db.transaction() as s:
        assert sweep_deadlines(s, moment + dt.timedelta(minutes=1), policy=world.policy).total == 0
    with db.read_sessions() as s:
        first, organised = (deadline(s, c, m) for m in ("first_response", "investigation_organised"))
        # The sweep's breach and the edit's late contact both stand on the same row.
        assert (first.status, first.met_at, first.breached_at, first.breach_notified_at) == (
            DeadlineStatus.MET, moment, moment, moment)
        assert organised.status is DeadlineStatus.BREACHED
        assert actions(s, c)[-1] == "record_contact"
    assert (len(_breach_notices(db, first)), len(_breach_notices(db, organised))) == (1, 1)


def test_load_complaint_by_number_or_id_with_a_row_lock(world: World, session) -> None:
    from handlers.workflow.errors import NotFound

    c = make_complaint(world, number="26029999")
    session.commit()
    assert ops.load_complaint(session, "26029999") is c
    assert ops.load_complaint(session, c.id, for_update=False) is c
    with pytest.raises(NotFound):
        ops.load_complaint(session, "26020000")


@given(
    start=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 11, 30)),
    days=st.integers(min_value=1, max_value=40),
    fractions=st.lists(st.floats(min_value=0.05, max_value=0.95), min_size=1, max_size=3),
)
@settings(max_examples=200, deadline=None)
def test_reminders_of_an_extended_window_fall_inside_it_on_working_days(start, days, fractions) -> None:
    calendar = WorkCalendar()
    anchor = start.replace(tzinfo=SHANGHAI)
    due = calendar.add_working_days(anchor, days)
    reminders = reminders_between(anchor, due, fractions, calendar, working_days=True)
    assert reminders == sorted(reminders) and len(reminders) <= len(fractions)
    for moment in reminders:
        assert anchor < moment <= due
        assert calendar.is_working_day(moment.date())


def test_workflow_notices_name_the_category_as_the_form_options_do(session, company_config) -> None:
    """Bug 4: the 重大 notice and the SLA alerts named the category from the built-in list, ignoring
    ``[form.options]``, while intake used the configured label."""
    options = [{"code": "product_quality", "label": "铝材质量问题"}, {"code": "other", "label": "其他"}]
    world = make_world(session, company(company_config, form={"options": {"category": options}}))
    c = make_complaint(world, severity=Severity.MAJOR)
    [notice] = [m for m in outbox(session, complaint=c) if m.payload.get("title") == "重大投诉上报"]
    assert "铝材质量问题" in notice.payload["text"] and "产品质量" not in notice.payload["text"]
    sweep_deadlines(session, local(2026, 2, 13, 11, 0, 1), policy=world.policy)
    breach = [m for m in outbox(session, complaint=c) if m.payload.get("title") == "投诉处理超时"]
    assert breach and all("铝材质量问题" in m.payload["text"] for m in breach)
