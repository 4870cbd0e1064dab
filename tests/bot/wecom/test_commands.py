"""WeCom chat commands (handlers/staff_commands.py) end to end: a signed, encrypted /wecom callback in, the
reply out, the database after. Each command's happy path, its refusals, and the WeCom limits."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from handlers import accounts
from handlers.render import WECHAT_TEXT_LIMIT, render_message
from handlers.workflow import operations as ops
from handlers.workflow.scope import ConsoleRole
from storage.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    Extension,
    OutboxChannel,
    OutboxMessage,
    Source,
    Staff,
    TimelineEvent,
)
from tests.bot.console.case_support import alert, post_blind
from tests.bot.console.support import PASSWORD, START, csrf_token, give_accounts, in_transaction, sign_in
from tests.bot.wecom.support import command
from tests.handlers.test_workflow_support import assigned, investigated, make_complaint


def _case(db, world, *, status: str = "assigned", responsible: str = "zhao.lei", **fields) -> str:
    """A case of 生产部 with 赵磊 responsible, brought to ``status`` by the real operations."""
    with in_transaction(db, world) as w:
        c = make_complaint(w, **fields)
        assigned(w, c, responsible=responsible)
        if status in ("investigating", "implementing"):
            investigated(w, c)
        if status == "implementing":
            person = w["zhao.lei"]
            ops.propose_plan(w.session, person, c, ctx=w.ctx(), measures=["replace"], description="更换合格铝板",
                             due_date=dt.date(2026, 2, 27))
            ops.start_implementation(w.session, person, c, ctx=w.ctx())
            ops.complete_implementation(w.session, person, c, ctx=w.ctx(), note="已更换")
        return c.number


def _events(db, number: str, action: str) -> list[TimelineEvent]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(TimelineEvent).join(Complaint, Complaint.id == TimelineEvent.complaint_id)
                              .where(Complaint.number == number, TimelineEvent.action == action)))


def _status(db, number: str) -> str:
    with db.read_sessions() as s:
        return s.scalar(sa.select(Complaint.status).where(Complaint.number == number)).value


def test_help_lists_every_command(client, wecom, db, world):
    for text in ("帮助", "你好", "查询", ""):
        answer = command(client, wecom, db, "zhao.lei", text or " ")
        assert answer.status == 200
        for word in ("待办", "查 26110001", "接单 26110001", "进度 26110001", "反馈 26110001", "延期 26110001", "帮助"):
            assert word in answer.text, (text, word)


def test_accept_starts_the_investigation(client, wecom, db, world):
    number = _case(db, world)
    answer = command(client, wecom, db, "zhao.lei", f"接单 {number}")
    assert "已接单" in answer.text and "调查中" in answer.text
    assert _status(db, number) == "investigating"
    assert len(_events(db, number, "start_investigation")) == 1


def test_accept_without_a_space_and_with_full_width_digits(client, wecom, db, world):
    number = _case(db, world)
    wide = "".join(chr(ord(d) + 0xFEE0) for d in number)
    answer = command(client, wecom, db, "zhao.lei", f"接单{wide}")
    assert "已接单" in answer.text
    assert _status(db, number) == "investigating"


def test_progress_note_is_recorded_for_staff_only(client, wecom, db, world):
    number = _case(db, world)
    answer = command(client, wecom, db, "zhao.lei", f"进度 {number} 已联系客户，约定周五到现场")
    assert "已记录" in answer.text
    (event,) = _events(db, number, "add_progress_note")
    assert event.details["text"] == "已联系客户，约定周五到现场"
    assert event.details["to_customer"] is False
    assert event.details["by"] == "赵磊"


def test_feed_back_resolves_the_case_and_tells_the_customer(client, wecom, db, world):
    number = _case(db, world, status="implementing")
    answer = command(client, wecom, db, "zhao.lei", f"反馈 {number} 已为您更换合格铝板3吨")
    assert "已向投诉人反馈" in answer.text, answer.text
    assert _status(db, number) == "resolved"
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c.result_text == "已为您更换合格铝板3吨"
        told = s.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == c.openid)).all()
    assert any("已为您更换合格铝板3吨" in (m.payload.get("text") or "") for m in told)


def test_extension_asks_the_customer_for_n_working_days(client, wecom, db, world):
    number = _case(db, world, status="investigating")
    answer = command(client, wecom, db, "zhao.lei", f"延期 {number} 3 需等待复检结果")
    assert "已提交" in answer.text and "同意后生效" in answer.text, answer.text
    with db.read_sessions() as s:
        (ext,) = s.scalars(sa.select(Extension)).all()
        c = s.get(Complaint, ext.complaint_id)
    assert ext.reason == "需等待复检结果" and ext.asked_via == "wechat" and ext.new_due_at > ext.old_due_at
    assert c.due_at == ext.old_due_at  # nothing moves before the complainant agrees


@pytest.mark.parametrize(("text", "word"), [
    ("查", "查"), ("接单", "接单"), ("进度 {n}", "进度"), ("反馈 {n}", "反馈"), ("延期 {n}", "延期"),
    ("延期 {n} 3", "延期"), ("延期 {n} 三天 原因", "延期"), ("延期 {n} 0 原因", "延期"), ("延期 {n} 61 原因", "延期"),
])
def test_missing_or_bad_arguments_get_the_usage_hint(client, wecom, db, world, text, word):
    number = _case(db, world, status="investigating")
    answer = command(client, wecom, db, "zhao.lei", text.format(n=number))
    assert answer.text.startswith("用法：" + word) or f"\n用法：{word}" in answer.text, answer.text
    assert _events(db, number, "add_progress_note") == [] and _events(db, number, "request_extension") == []


@pytest.mark.parametrize("bad", ["2611", "abc", "26110001x", "12345678901"])
def test_a_bad_number_says_what_a_number_is(client, wecom, db, world, bad):
    answer = command(client, wecom, db, "zhao.lei", f"查 {bad}")
    assert f"“{bad}”不是投诉编号" in answer.text and "用法：查" in answer.text


def test_unknown_number_is_not_found(client, wecom, db, world):
    answer = command(client, wecom, db, "zhao.lei", "查 26029999")
    assert answer.text == render_message("staff/not_found", number="26029999")


@pytest.mark.parametrize(("status", "text", "action"), [
    ("assigned", "反馈 {n} 已处理", "feed_back_result"),  # not in this state
    ("investigating", "接单 {n}", "start_investigation"),  # already started
    ("investigating", "反馈 {n} 已处理", "feed_back_result"),  # the plan is not carried out yet
])
def test_a_refusal_gives_the_consoles_own_reason(client, wecom, db, world, status, text, action):
    """The same words the case page shows for the same action in the same state (and nothing changes)."""
    number = _case(db, world, status=status)
    give_accounts(db, world, "zhao.lei")
    sign_in(client, "zhao.lei")
    with db.read_sessions() as s:
        version = s.scalar(sa.select(Complaint.version).where(Complaint.number == number))
    console = post_blind(client, number, action, csrf_token(client.get("/console/").text), version,
                         text="已处理")
    assert console.status_code in (403, 422)
    reason = alert(console.text)
    before = _status(db, number), len(_events(db, number, action))
    answer = command(client, wecom, db, "zhao.lei", text.format(n=number))
    assert reason in answer.text, (reason, answer.text)
    assert (_status(db, number), len(_events(db, number, action))) == before


def test_a_refused_action_writes_nothing_but_the_delivery_is_recorded(client, wecom, db, world):
    number = _case(db, world, status="investigating")
    with db.read_sessions() as s:
        version = s.scalar(sa.select(Complaint.version).where(Complaint.number == number))
    answer = command(client, wecom, db, "zhao.lei", f"反馈 {number} 结果", msg_id=770001)
    assert "未能反馈处理结果" in answer.text
    with db.read_sessions() as s:
        assert s.scalar(sa.select(Complaint.version).where(Complaint.number == number)) == version
    again = command(client, wecom, db, "zhao.lei", f"反馈 {number} 结果", msg_id=770001)
    assert again.text == answer.text  # the retry gets the first answer


def test_wecom_retries_of_one_command_act_once(client, wecom, db, world):
    """WeCom delivers again when it had no answer in 5 s: three deliveries of one MsgId, one note, one feedback."""
    progress_case = _case(db, world)
    result_case = _case(db, world, status="implementing")
    answers = [command(client, wecom, db, "zhao.lei", f"进度 {progress_case} 已联系客户", msg_id=990001)
               for _ in range(3)]
    assert len({a.text for a in answers}) == 1 and "已记录" in answers[0].text
    assert len(_events(db, progress_case, "add_progress_note")) == 1
    answers = [command(client, wecom, db, "zhao.lei", f"反馈 {result_case} 已更换", msg_id=990002)
               for _ in range(3)]
    assert all("已向投诉人反馈" in a.text for a in answers)
    assert len(_events(db, result_case, "feed_back_result")) == 1
    with db.read_sessions() as s:
        openid = s.scalar(sa.select(Complaint.openid).where(Complaint.number == result_case))
        told = s.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == openid)).all()
    assert sum("已更换" in (m.payload.get("text") or "") for m in told) == 1


def test_todo_lists_my_cases_and_a_long_answer_is_split_within_2048_bytes(client, wecom, db, world):
    numbers = [_case(db, world) for _ in range(45)]
    other = _case(db, world, responsible="qian.hao")  # 生产部 too, but not 赵磊's to do
    answer = command(client, wecom, db, "zhao.lei", "待办")
    pieces = [answer.text, *answer.extra]
    assert len(pieces) >= 2, "45 cases do not fit one WeCom text"
    assert all(len(p.encode()) <= WECHAT_TEXT_LIMIT for p in pieces)
    whole = "\n".join(pieces)
    assert "需要您处理的投诉 45 件" in whole
    assert all(n in whole for n in numbers) and other not in whole
    with db.read_sessions() as s:
        queued = s.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == "zhao.lei")).all()
    assert {m.channel for m in queued} == {OutboxChannel.WECOM_APP}


def test_todo_with_nothing_to_do(client, wecom, db, world):
    answer = command(client, wecom, db, "zhou.min", "待办")
    assert "目前没有需要您处理的投诉" in answer.text


def test_show_is_audited_like_the_case_page(client, wecom, db, world):
    number = _case(db, world)
    answer = command(client, wecom, db, "zhao.lei", f"查 {number}")
    assert f"投诉 {number} · 已交办" in answer.text
    assert "接单" in answer.text  # what he can do from here
    with db.read_sessions() as s:
        (event,) = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "case.viewed")).all()
        assert event.subject == number and event.details["via"] == "wecom"
        assert event.actor_label == "赵磊"


@pytest.mark.parametrize("who", ["nobody.here", "console-only admin"])
def test_unknown_userid_is_refused_politely_with_nothing_else(client, wecom, db, world, who):
    """Not in the org chart: a userid WeCom would not know, or the made-up one of a console-only account."""
    number = _case(db, world)
    userid = who
    if who == "console-only admin":
        with db.transaction() as s:
            account = accounts.create_account(s, name="管理员", role=ConsoleRole.ADMIN, login="root",
                                              password=PASSWORD, now=START)
            userid = s.get(Staff, account.staff_id).wecom_userid
    for text in ("待办", f"查 {number}", f"进度 {number} 已联系客户", "帮助"):
        answer = command(client, wecom, db, userid, text)
        assert answer.text == render_message("staff/refused") and answer.extra == []
    assert _events(db, number, "add_progress_note") == []


def test_a_person_whose_console_account_is_disabled_is_refused(client, wecom, db, world):
    number = _case(db, world)
    give_accounts(db, world, "zhao.lei")
    with db.transaction() as s:
        accounts.set_disabled(s, accounts.account_by_login(s, "zhao.lei"), True, now=START)
    answer = command(client, wecom, db, "zhao.lei", f"查 {number}")
    assert answer.text == render_message("staff/refused")


def test_deactivated_person_is_refused(client, wecom, db, world):
    number = _case(db, world)
    with db.transaction() as s:
        s.execute(sa.update(Staff).where(Staff.wecom_userid == "zhao.lei").values(active=False))
    answer = command(client, wecom, db, "zhao.lei", f"查 {number}")
    assert answer.text == render_message("staff/refused")
    assert number not in answer.text


def test_entering_the_app_gets_no_answer(client, wecom, db, world):
    signed = wecom.sign(wecom.event("zhao.lei", "enter_agent"))
    response = client.post("/wecom", query_string=signed.params, data=signed.body)
    assert response.status_code == 200 and response.data == b"success"


def test_status_after_accept_matches_the_database(client, wecom, db, world):
    number = _case(db, world)
    command(client, wecom, db, "zhao.lei", f"接单 {number}")
    assert ComplaintStatus(_status(db, number)) is ComplaintStatus.INVESTIGATING


def test_feed_back_on_a_case_filed_by_phone_names_how_the_customer_was_told(client, wecom, db, world):
    number = _case(db, world, status="implementing", source=Source.PHONE, openid=None)
    refused = command(client, wecom, db, "zhao.lei", f"反馈 {number} 已更换")
    assert "反馈方式" in refused.text and _status(db, number) == "implementing"
    answer = command(client, wecom, db, "zhao.lei", f"反馈 {number} 电话：已电话告知更换方案")
    assert "已向投诉人反馈" in answer.text and "（电话）" in answer.text, answer.text
    (event,) = _events(db, number, "feed_back_result")
    assert event.details["channel"] == "phone"
    with db.read_sessions() as s:
        assert s.scalar(sa.select(Complaint.result_text).where(Complaint.number == number)) == "已电话告知更换方案"
