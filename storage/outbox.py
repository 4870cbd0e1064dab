"""Queueing outbound messages: rows written in the caller's transaction, sent by scheduler/ after commit.

Every queueing call takes ``now`` (the caller's clock: ``ctx.now`` or the sweep's ``now``): a message is
due at ``now`` unless held back by ``not_before``, so a test with a fixed clock sees the times it set.

A ``dedupe_key`` makes a second queueing of the same message a no-op. The row is written with
``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``, never check-then-insert: on PostgreSQL two
transactions queuing the same key at once would otherwise both find nothing, and the second insert
would fail with a unique violation that rolls back its whole transaction (a customer's message with
it). With the upsert the second waits for the first and then inserts nothing; on SQLite writers are
serialised (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import OutboxChannel, OutboxMessage, OutboxStatus

_table = sa.Table(OutboxMessage.__tablename__, OutboxMessage.metadata)  # the mapped table, typed as a Table
_COLUMNS = ("channel", "recipient", "payload", "dedupe_key", "complaint_id", "status", "attempts",
            "next_attempt_at", "created_at")


@cache
def _queue_statement(dialect: str) -> Any:
    """The insert that cannot conflict, loaded back as an ORM row (built once per dialect)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(_table)
        .values({c: sa.bindparam(c, type_=_table.c[c].type) for c in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(*_table.c)
    )
    return sa.select(OutboxMessage).from_statement(stmt)


def queue_message(
    session: Session,
    channel: OutboxChannel,
    recipient: str,
    payload: dict[str, Any],
    *,
    now: dt.datetime,
    dedupe_key: str | None = None,
    complaint_id: int | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox, due at ``now``, or at ``not_before`` when given (office hours).

    Returns the new row, or None when a message with the same ``dedupe_key`` is already queued (by
    this transaction or a committed one).
    """
    params = {
        "channel": channel, "recipient": recipient, "payload": payload, "dedupe_key": dedupe_key,
        "complaint_id": complaint_id, "status": OutboxStatus.PENDING, "attempts": 0,
        "next_attempt_at": now if not_before is None else not_before,
        "created_at": now,
    }
    statement = _queue_statement(session.get_bind().dialect.name)
    return session.scalars(statement, params).first()


def queue_customer_text(
    session: Session, openid: str, text: str, *, now: dt.datetime, dedupe_key: str | None = None,
    complaint_id: int | None = None, template: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """A text to a customer: sent as a 客服消息, falling back to ``template`` outside the 48 h window."""
    payload: dict[str, Any] = {"text": text}
    if template:
        payload["template"] = template
    return queue_message(
        session, OutboxChannel.WECHAT_CUSTOM, openid, payload, now=now, dedupe_key=dedupe_key,
        complaint_id=complaint_id,
    )


def queue_staff_text(
    session: Session, userids: list[str], text: str, *, now: dt.datetime, dedupe_key: str | None = None,
    complaint_id: int | None = None, title: str | None = None, url: str | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage | None:
    """A WeCom app message to staff (``userids`` joined with '|'); a title makes it a text card."""
    payload: dict[str, Any] = {"text": text}
    if title:
        payload["title"] = title
    if url:
        payload["url"] = url
    return queue_message(
        session, OutboxChannel.WECOM_APP, "|".join(userids), payload, now=now, dedupe_key=dedupe_key,
        complaint_id=complaint_id, not_before=not_before,
    )


def cancel_pending_for(session: Session, recipient: str) -> int:
    """Cancel messages not yet sent to ``recipient`` (a customer who unsubscribed); returns how many."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.recipient == recipient, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error="recipient unsubscribed")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
