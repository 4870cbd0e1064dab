"""发送失败的消息: failed outbox rows listed with the recipient masked, within the reader's case scope; 重新发送
queues a new attempt that the dispatcher really sends — never twice: an unknown outcome needs an explicit
confirmation, a row that changed since the page was read is refused, two clicks at once queue it once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.channels.sink import build_channels
from handlers import admin
from scheduler.outbox import dispatch_due
from storage.models import AuditEvent, DevSinkMessage, OutboxChannel, OutboxMessage, OutboxStatus, Staff
from storage.outbox import OUTCOME_UNKNOWN, RequeueRefused, attempt_token, requeue_failed
from tests.bot.console.admin_support import make_people, post_form, signed_in, texts
from tests.bot.console.support import START, give_accounts, in_transaction, scope_cases
from tests.conftest import run_concurrently

OPENID = "oCustomerOpenid0000000000XYZ9"
URL = "/console/admin/outbox/"


def _failed(db, *, channel: OutboxChannel = OutboxChannel.WECHAT_CUSTOM, recipient: str = OPENID,
            error: str = "43004: require subscribe", complaint_id: int | None = None,
            text: str = "您的投诉已受理，电话 13800138000", status: OutboxStatus = OutboxStatus.FAILED) -> int:
    with db.transaction() as s:
        row = OutboxMessage(channel=channel, recipient=recipient, payload={"text": text}, status=status,
                            attempts=3, complaint_id=complaint_id, last_error=error, created_at=START,
                            next_attempt_at=START + dt.timedelta(minutes=5))
        s.add(row)
        s.flush()
        return row.id


def _row(db, message_id: int) -> OutboxMessage:
    with db.read_sessions() as s:
        row = s.get(OutboxMessage, message_id)
        assert row is not None
        return row


def _requeue(client, message_id: int, *, confirm: bool = False, seen: str | None = None, db=None):
    token = seen if seen is not None else attempt_token(_row(db, message_id))
    data = {"seen": token, **({"confirm_duplicate": "1"} if confirm else {})}
    return post_form(client, f"{URL}{message_id}/requeue", data, page=URL)


@pytest.fixture
def numbers(db, world) -> dict[str, str]:
    make_people(db, world)
    return scope_cases(db, world)


def _complaint_id(db, number: str) -> int:
    from storage.models import Complaint

    with db.read_sessions() as s:
        found = s.scalar(sa.select(Complaint.id).where(Complaint.number == number))
        assert found is not None
        return found


def test_the_list_masks_recipients_and_phones_and_shows_only_failed_rows(app, db, numbers) -> None:
    failed = _failed(db, complaint_id=_complaint_id(db, numbers["A"]))
    unknown = _failed(db, channel=OutboxChannel.WECOM_APP, recipient="zhao.lei|13912345678",
                      error=f"{OUTCOME_UNKNOWN} (dispatcher stopped mid-send; the recipient may have it)",
                      text="案件 A 已交办")
    sent = _failed(db, status=OutboxStatus.SENT, error="", text="已发送的消息")
    page = signed_in(app, "root").get(URL)
    assert page.status_code == 200
    text = texts(page.text)
    assert OPENID not in page.text and "oCus…XYZ9" in text  # the openid masked
    assert "13800138000" not in page.text and "138****8000" in text  # phones in the text masked
    assert "13912345678" not in page.text and "139****5678" in text  # … and among WeCom recipients
    assert "43004" in text and "客户已取消关注" in text
    assert "结果不明" in text and "我已核实，允许重复发送" in text
    assert f"#{failed}" in text and f"#{unknown}" in text and f"#{sent}" not in text and "已发送的消息" not in text
    assert numbers["A"] in text  # links to its case


def test_an_office_sees_the_failed_messages_of_its_ledger_and_of_no_case_only(app, db, world, numbers) -> None:
    mine = _failed(db, complaint_id=_complaint_id(db, numbers["A"]), text="品质案件的消息")  # quality ledger
    other = _failed(db, complaint_id=_complaint_id(db, numbers["B"]), text="综合案件的消息")  # general ledger
    no_case = _failed(db, channel=OutboxChannel.WECOM_APP, recipient="li.na", text="每日汇总")
    clerk = signed_in(app, "li.na")
    text = texts(clerk.get(URL).text)
    assert "品质案件的消息" in text and "每日汇总" in text
    assert "综合案件的消息" not in text and numbers["B"] not in text and f"#{other}" not in text
    response = _requeue(clerk, other, db=db)
    assert response.status_code == 404  # outside the scope: as if it did not exist
    assert _row(db, other).status is OutboxStatus.FAILED
    assert _requeue(clerk, mine, db=db).status_code == 302
    assert _requeue(clerk, no_case, db=db).status_code == 302
    give_accounts(db, world, "zhang.wei")
    other_office = texts(signed_in(app, "zhang.wei").get(URL).text)
    assert "综合案件的消息" in other_office and "品质案件的消息" not in other_office


def test_send_again_queues_a_new_attempt_that_is_really_sent_and_audited(app, db, numbers) -> None:
    message = _failed(db, complaint_id=_complaint_id(db, numbers["A"]))
    client = signed_in(app, "li.na")
    response = _requeue(client, message, db=db)
    assert response.status_code == 302
    assert "已重新排队" in texts(client.get(response.headers["Location"]).text)
    row = _row(db, message)
    assert row.status is OutboxStatus.PENDING and row.attempts == 0 and row.next_attempt_at <= START
    assert "李娜" in (row.last_error or "")
    rt = app.extensions["tousu"]
    stats = dispatch_due(rt.db, build_channels(rt.settings, rt.db), now=START)  # dev mode: the sink stands in
    assert stats.sent == 1 and _row(db, message).status is OutboxStatus.SENT
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(DevSinkMessage)) == 1
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "outbox.requeued"))
        assert event is not None and event.actor_label == "李娜" and event.subject == f"outbox:{message}"
        assert event.details["last_error"] == "43004: require subscribe" and event.details["attempts"] == 3
        assert OPENID not in str(event.details)
    assert _requeue(client, message, db=db).status_code == 404  # sent: nothing to send again


def test_an_unknown_outcome_is_sent_again_only_with_a_confirmation(app, db, numbers) -> None:
    message = _failed(db, error=f"unexpected error, {OUTCOME_UNKNOWN}: RuntimeError()")
    client = signed_in(app, "root")
    refused = _requeue(client, message, db=db)
    assert refused.status_code == 302
    assert "结果不明，对方可能已经收到，未重新发送" in texts(client.get(refused.headers["Location"]).text)
    assert _row(db, message).status is OutboxStatus.FAILED
    assert _requeue(client, message, db=db, confirm=True).status_code == 302
    assert _row(db, message).status is OutboxStatus.PENDING
    with db.read_sessions() as s:
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == "outbox.requeued"))
        assert event is not None and event.details["confirmed_duplicate"] is True


def test_a_template_message_needs_no_confirmation(db, numbers) -> None:
    """A template message carries client_msg_id, so WeChat drops a repeat: its unknown outcome is no risk."""
    message = _failed(db, channel=OutboxChannel.WECHAT_TEMPLATE, error=f"unexpected error, {OUTCOME_UNKNOWN}: x")
    with db.transaction() as s:
        row = s.get(OutboxMessage, message)
        assert row is not None
        requeue_failed(s, row, now=START, seen=attempt_token(row))
        assert row.status is OutboxStatus.PENDING


def test_a_row_that_changed_since_the_page_is_refused(app, db, numbers) -> None:
    message = _failed(db)
    client = signed_in(app, "root")
    seen = attempt_token(_row(db, message))
    with db.transaction() as s:  # meanwhile: queued again by someone, tried, and failed again
        s.execute(sa.update(OutboxMessage).where(OutboxMessage.id == message)
                  .values(next_attempt_at=START + dt.timedelta(hours=1), last_error="-1: busy"))
    response = _requeue(client, message, seen=seen)
    assert "状态已变化" in texts(client.get(response.headers["Location"]).text)
    assert _row(db, message).status is OutboxStatus.FAILED


def test_two_requeues_at_once_queue_the_message_once(db, numbers, world) -> None:
    message = _failed(db)
    with db.read_sessions() as s:
        token = attempt_token(s.get(OutboxMessage, message))  # type: ignore[arg-type]
    with in_transaction(db, world) as w:
        ids = (w["li.na"].id, w["zhou.min"].id)

    def click(staff_id: int) -> str:
        with db.transaction() as s:
            staff = s.get(Staff, staff_id)
            assert staff is not None
            admin.requeue_message(s, staff, message, seen=token, confirm_duplicate=False, now=START,
                                  origin=admin.audit.CLI)
        return "queued"

    results, errors = run_concurrently(click, [(i,) for i in ids])
    assert results == ["queued"]
    assert len(errors) == 1 and ((isinstance(errors[0], RequeueRefused) and errors[0].code == "changed")
                                 or isinstance(errors[0], LookupError))  # PG: row re-checked; SQLite: after
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "outbox.requeued")) == 1


@pytest.mark.parametrize("status", [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT,
                                    OutboxStatus.CANCELLED], ids=str)
def test_only_a_failed_row_is_queued_again(db, status: OutboxStatus) -> None:
    message = _failed(db, status=status)
    with db.transaction() as s:
        row = s.get(OutboxMessage, message)
        assert row is not None
        with pytest.raises(RequeueRefused) as refused:
            requeue_failed(s, row, now=START, seen=attempt_token(row), confirm_duplicate=True)
        assert refused.value.code == "not_failed"
    assert _row(db, message).status is status
