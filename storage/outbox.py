"""Queueing outbound messages: rows written in the caller's transaction, sent by scheduler/ after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import OutboxChannel, OutboxMessage, OutboxStatus


def queue_message(
    session: Session,
    channel: OutboxChannel,
    recipient: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    complaint_id: int | None = None,
    not_before: dt.datetime | None = None,
) -> OutboxMessage | None:
    """Add a message to the outbox; with ``dedupe_key`` a second queueing of the same message is a no-op.

    ``not_before`` holds the message back until then (office hours). Returns the new row, or None when a
    message with the same ``dedupe_key`` is already queued.
    """
    if dedupe_key is not None:
        existing = session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    message = OutboxMessage(
        channel=channel, recipient=recipient, payload=payload, dedupe_key=dedupe_key, complaint_id=complaint_id
    )
    if not_before is not None:
        message.next_attempt_at = not_before
    session.add(message)
    session.flush()
    return message


def queue_customer_text(
    session: Session, openid: str, text: str, *, dedupe_key: str | None = None, complaint_id: int | None = None,
    template: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """A text to a customer: sent as a 客服消息, falling back to ``template`` outside the 48 h window."""
    payload: dict[str, Any] = {"text": text}
    if template:
        payload["template"] = template
    return queue_message(
        session, OutboxChannel.WECHAT_CUSTOM, openid, payload, dedupe_key=dedupe_key, complaint_id=complaint_id
    )


def queue_staff_text(
    session: Session, userids: list[str], text: str, *, dedupe_key: str | None = None,
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
        session, OutboxChannel.WECOM_APP, "|".join(userids), payload, dedupe_key=dedupe_key,
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
