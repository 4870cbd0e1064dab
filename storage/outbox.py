"""Queueing outbound messages: rows written in the caller's transaction, sent by scheduler/ after commit.

Every queueing call takes ``now`` (the caller's clock: ``ctx.now`` or the sweep's ``now``): a message is
due at ``now`` unless held back by ``not_before``, so a test with a fixed clock sees the times it set.

A ``dedupe_key`` makes a second queueing of the same message a no-op. The row is written with
``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``, never check-then-insert: on PostgreSQL two
transactions queuing the same key at once would otherwise both find nothing, and the second insert
would fail with a unique violation that rolls back its whole transaction (a customer's message with
it). With the upsert the second waits for the first and then inserts nothing; on SQLite writers are
serialised (BEGIN IMMEDIATE).

A job that queues many messages in one transaction (the SLA sweep) wraps them in :func:`batched`: the
queueing calls inside collect their rows, and one multi-row ``INSERT … ON CONFLICT (dedupe_key) DO
NOTHING`` writes them at the end, with the same dedupe and the same ``now=`` clock as one at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import OutboxChannel, OutboxMessage, OutboxStatus

#: In ``last_error`` of a failed row whose send may or may not have reached the recipient (the dispatcher
#: stopped mid-send, or the sender raised something that is not a platform answer).
OUTCOME_UNKNOWN = "outcome unknown: check before resending"
#: Channels whose API takes an idempotency key, so a send whose outcome is unknown may be repeated.
IDEMPOTENT_CHANNELS = frozenset({OutboxChannel.WECHAT_TEMPLATE})

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


_BATCH = "tousu.outbox.batch"  # Session.info key: rows collected by `batched`, not yet written


@cache
def _bulk_statement(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_table).on_conflict_do_nothing(index_elements=["dedupe_key"])


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Collect every message queued in ``session`` inside the block and write them in one statement at its end.

    Inside the block the queueing functions return None (the row is not written yet); the dedupe is the
    same (a key queued already, by this block, this transaction or a committed one, inserts nothing). An
    exception inside the block writes nothing (the caller's transaction is rolled back anyway). Nested
    blocks join the outer one.
    """
    if _BATCH in session.info:
        yield
        return
    rows: list[dict[str, Any]] = []
    session.info[_BATCH] = rows
    try:
        yield
    finally:
        del session.info[_BATCH]
    if rows:
        session.execute(_bulk_statement(session.get_bind().dialect.name), rows)


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
    this transaction or a committed one), or when the call is inside a `batched` block.
    """
    params = {
        "channel": channel, "recipient": recipient, "payload": payload, "dedupe_key": dedupe_key,
        "complaint_id": complaint_id, "status": OutboxStatus.PENDING, "attempts": 0,
        "next_attempt_at": now if not_before is None else not_before,
        "created_at": now,
    }
    pending = session.info.get(_BATCH)
    if pending is not None:
        pending.append(params)
        return None
    statement = _queue_statement(session.get_bind().dialect.name)
    return session.scalars(statement, params).first()


def queue_customer_text(
    session: Session, openid: str, text: str, *, now: dt.datetime, dedupe_key: str | None = None,
    complaint_id: int | None = None, template: dict[str, Any] | None = None,
    case_message: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """A text to a customer: sent as a 客服消息, falling back to ``template`` outside the 48 h window.

    The payload: ``text``; ``template`` = ``{template_id, url, data: {keyword: {value}}, client_msg_id}``
    (the template message to send on 45015; ``url`` may be a path, put on ``PUBLIC_BASE_URL`` by the
    sender); ``case_message`` = ``{key, purpose, text}`` for a message about a case, which the dispatcher
    turns into a task to phone the customer when the message fails for good
    (``handlers.workflow.notify.call_instead``).
    """
    payload: dict[str, Any] = {"text": text}
    if template:
        payload["template"] = template
    if case_message:
        payload["case_message"] = case_message
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


def outcome_unknown(message: OutboxMessage) -> bool:
    """True when sending ``message`` again might deliver it twice (it may have arrived the first time)."""
    return (message.status is OutboxStatus.FAILED and OUTCOME_UNKNOWN in (message.last_error or "")
            and message.channel not in IDEMPOTENT_CHANNELS)


class RequeueRefused(Exception):
    """Why a failed message was not queued again: ``code`` for callers (not_failed, changed, needs_confirmation)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


def attempt_token(message: OutboxMessage) -> str:
    """Names the row's last attempt (its count and claim time): what an operator saw on the page."""
    return f"{message.attempts}@{message.next_attempt_at.isoformat()}"


def requeue_failed(session: Session, message: OutboxMessage, *, now: dt.datetime, seen: str,
                   confirm_duplicate: bool = False, note: str = "queued again by an operator") -> None:
    """Put a ``failed`` message back in the queue for a new attempt, due at ``now``. Flushes.

    The dispatcher's rule is never to send twice by itself; a person may, knowingly:

    * only a ``failed`` row is queued again (``sent``, ``sending``, ``pending`` and ``cancelled`` are
      refused: ``not_failed``);
    * a row whose outcome is unknown (`outcome_unknown`) needs ``confirm_duplicate``, the operator's word
      that the recipient did not get it or may get it twice (``needs_confirmation``);
    * ``seen`` is the `attempt_token` the operator looked at: a row that changed since (another operator
      queued it, and it failed again, perhaps differently) is refused (``changed``), and the UPDATE is
      conditional on the row being unchanged, so two clicks at once queue it once.

    The attempt count starts again from 0, so the dispatcher's retry policy applies in full; the old
    count and error are replaced by ``note`` and belong in the caller's audit record.
    """
    if message.status is not OutboxStatus.FAILED:
        raise RequeueRefused("not_failed")
    if attempt_token(message) != seen:
        raise RequeueRefused("changed")
    if outcome_unknown(message) and not confirm_duplicate:
        raise RequeueRefused("needs_confirmation")
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.FAILED,
               OutboxMessage.attempts == message.attempts,
               OutboxMessage.next_attempt_at == message.next_attempt_at)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now,
                last_error=note[:500])
        .execution_options(synchronize_session="fetch")
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise RequeueRefused("changed")
