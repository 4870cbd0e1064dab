"""stats reports, and the indexes the repeat-complaint figure (同类问题重复投诉率) looks up

``stats_report`` keeps each built period report (one per kind and period). The repeat figure asks, for every
complaint of a period, whether an earlier one came from the same phone, or concerned the same product and
problem type, within a window: these two indexes (with the existing one on ``openid``) answer each question
with an index probe instead of a scan.

Revision ID: d7a1c3e5f2b9
Revises: c4d2a9e1f0b3
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = 'd7a1c3e5f2b9'
down_revision = 'c4d2a9e1f0b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'stats_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('period', sa.String(length=16), nullable=False),
        sa.Column('built_at', storage.base.UTCDateTime(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('notified_at', storage.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_report')),
        sa.UniqueConstraint('kind', 'period', name=op.f('uq_stats_report_kind_period')),
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_phone_received', ['phone', 'received_at'], unique=False)
        batch_op.create_index('ix_complaint_product_problem', ['product_name', 'problem_type', 'received_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_product_problem')
        batch_op.drop_index('ix_complaint_phone_received')
    op.drop_table('stats_report')
