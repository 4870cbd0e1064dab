"""`storage.outbox.batched`: many messages queued in one statement, with the dedupe and clock of one at a time."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.models import OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import batched, queue_customer_text, queue_staff_text

NOW = dt.datetime(2026, 2, 13, 2, 0, tzinfo=dt.UTC)
HELD = NOW + dt.timedelta(hours=6)


def messages(db: Database) -> list[OutboxMessage]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_batch_is_written_at_the_end_of_its_block_as_one_at_a_time_would(db: Database) -> None:
    with db.transaction() as s:
        assert queue_staff_text(s, ["li.na"], "催办 1", now=NOW, dedupe_key="sla:1:g1:reminder:0") is not None
    statements: list[str] = []

    def record(conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.transaction() as s, batched(s):
            assert queue_staff_text(s, ["li.na"], "催办 1 again", now=NOW, dedupe_key="sla:1:g1:reminder:0") is None
            queue_staff_text(s, ["li.na", "wang.wei"], "超时", now=NOW, dedupe_key="sla:2:g1:breach",
                             not_before=HELD, title="投诉处理超时", url="/console/cases/26020002")
            queue_staff_text(s, ["li.na"], "超时 twice", now=NOW, dedupe_key="sla:2:g1:breach")
            queue_customer_text(s, "oCUSTOMER000000000000000001", "您的投诉已受理", now=NOW)
            with batched(s):  # a nested block joins the outer one
                queue_customer_text(s, "oCUSTOMER000000000000000001", "无 key 的消息", now=NOW)
            assert not [q for q in statements if q.lstrip().upper().startswith("INSERT")]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    inserts = [q for q in statements if q.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "ON CONFLICT" in inserts[0].upper()
    rows = messages(db)
    assert [(r.payload["text"], r.dedupe_key) for r in rows] == [
        ("催办 1", "sla:1:g1:reminder:0"), ("超时", "sla:2:g1:breach"), ("您的投诉已受理", None),
        ("无 key 的消息", None)]
    breach = rows[1]
    assert (breach.channel, breach.recipient, breach.status, breach.attempts) == (
        OutboxChannel.WECOM_APP, "li.na|wang.wei", OutboxStatus.PENDING, 0)
    assert (breach.next_attempt_at, breach.created_at) == (HELD, NOW)
    assert breach.payload == {"text": "超时", "title": "投诉处理超时", "url": "/console/cases/26020002"}
    assert rows[2].next_attempt_at == NOW


def test_an_error_inside_the_block_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as s, batched(s):
        queue_customer_text(s, "oCUSTOMER000000000000000001", "不会发出", now=NOW, dedupe_key="x")
        raise RuntimeError("the caller failed")
    with db.transaction() as s:
        assert queue_customer_text(s, "oCUSTOMER000000000000000001", "发出", now=NOW, dedupe_key="x") is not None
    assert [r.payload["text"] for r in messages(db)] == ["发出"]
