"""stats reports, the KPI facts, and the indexes the repeat-complaint fact (同类问题重复投诉率) looks up

``stats_report`` keeps each built period report (one per kind and period). ``kpi_fact`` holds, per complaint,
what the statistics need of its deadline, survey and earlier-complaint rows (handlers/stats/facts.py keeps it in
the transaction of every change); it is filled here for the complaints that exist. The repeat fact asks, for a
complaint, for the latest earlier one from the same phone, or about the same product and problem type: these
two indexes (with the existing one on ``openid``) answer each with an index probe instead of a scan.

Revision ID: d7a1c3e5f2b9
Revises: d7e3b5a1c9f2
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.base

revision = 'd7a1c3e5f2b9'
down_revision = 'd7e3b5a1c9f2'
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
    op.create_table(
        'kpi_fact',
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('received_at', storage.base.UTCDateTime(), nullable=False),
        sa.Column('response_decided_at', storage.base.UTCDateTime(), nullable=True),
        sa.Column('response_on_time', sa.Boolean(), nullable=False),
        sa.Column('whole_met', sa.Boolean(), nullable=False),
        sa.Column('whole_on_time', sa.Boolean(), nullable=False),
        sa.Column('overdue_since', storage.base.UTCDateTime(), nullable=True),
        sa.Column('unrated', sa.Boolean(), nullable=False),
        sa.Column('repeat_prev_at', storage.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_kpi_fact_complaint_id_complaint'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('complaint_id', name=op.f('pk_kpi_fact')),
    )
    with op.batch_alter_table('kpi_fact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_fact_received_at'), ['received_at'], unique=False)
    from handlers.stats.facts import rebuild_all  # the one definition of the facts

    rebuild_all(op.get_bind())


def downgrade() -> None:
    op.drop_table('kpi_fact')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_product_problem')
        batch_op.drop_index('ix_complaint_phone_received')
    op.drop_table('stats_report')
