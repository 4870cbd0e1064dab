"""Claiming an inbound delivery: the unique key makes a retried message a no-op."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import InboundChannel, InboundMessage


def claim_inbound(
    session: Session, channel: InboundChannel, dedupe_key: str, *, sender: str, msg_type: str, msg_id: int | None
) -> InboundMessage | None:
    """Insert the delivery's row, or return None when that key was already claimed.

    INSERT ... ON CONFLICT DO NOTHING: on PostgreSQL a concurrent delivery of the same key waits for the
    first transaction and then finds the row; on SQLite transactions are serialised (BEGIN IMMEDIATE).
    """
    values = {
        "channel": channel, "dedupe_key": f"{channel.value}:{dedupe_key}", "sender": sender,
        "msg_type": msg_type, "msg_id": msg_id,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(InboundMessage).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    new_id = session.scalar(stmt.returning(InboundMessage.id))
    if new_id is None:
        return None
    return session.get(InboundMessage, new_id)


def find_inbound(session: Session, channel: InboundChannel, dedupe_key: str) -> InboundMessage | None:
    return session.scalar(
        sa.select(InboundMessage).where(InboundMessage.dedupe_key == f"{channel.value}:{dedupe_key}")
    )
