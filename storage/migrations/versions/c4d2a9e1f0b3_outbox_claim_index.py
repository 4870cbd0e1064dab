"""outbox claim index: (status, next_attempt_at, id), so a claim reads one index entry, not the whole backlog

The dispatcher claims the next due row ``ORDER BY next_attempt_at, id LIMIT 1``. With the index on
(status, next_attempt_at) alone, PostgreSQL read and sorted every pending due row for each claim (2 ms with
2,000 queued, growing with the backlog); with ``id`` in the index the claim is an ordered index scan that
stops at the first row it can lock.

Revision ID: c4d2a9e1f0b3
Revises: c4d2a9e7f1b3
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = 'c4d2a9e1f0b3'
down_revision = 'c4d2a9e7f1b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_due')
        batch_op.create_index('ix_outbox_message_due', ['status', 'next_attempt_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_due')
        batch_op.create_index('ix_outbox_message_due', ['status', 'next_attempt_at'], unique=False)
