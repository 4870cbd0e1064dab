"""figures and message-log indexes: complaint.closed_at, survey.answered_at, performance_record.at, two
covering indexes (a case's department/person; a deadline's due time, case, status, met time), and the
outbox rows the message-log purge has still to empty

绩效 and the KPIs select by "closed / answered / recorded in the period"; without these PostgreSQL read the
whole table for each, and joined deadlines and surveys to the wide complaint rows (a year of 绩效 over
1,000,000 cases: see README, Record keeping). ix_deadline_figures starts with due_at and so replaces
ix_deadline_due_at. The partial outbox index holds only finished rows not emptied yet
(`handlers.records.purge_message_log`).

Revision ID: d7e3b5a1c9f2
Revises: e1a7c3b9d2f4
Create Date: 2026-12-01 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'd7e3b5a1c9f2'
down_revision = 'e1a7c3b9d2f4'
branch_labels = None
depends_on = None

FIGURES = ['id', 'handling_department_id', 'responsible_staff_id', 'lead_office_id']
UNPURGED = "recipient <> '' AND status IN ('sent', 'cancelled')"


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_closed_at', ['closed_at'], unique=False)
        batch_op.create_index('ix_complaint_figures', FIGURES, unique=False)
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_figures', ['due_at', 'complaint_id', 'status', 'met_at'], unique=False)
        batch_op.drop_index('ix_deadline_due_at')
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answered_at', ['answered_at'], unique=False)
    with op.batch_alter_table('performance_record', schema=None) as batch_op:
        batch_op.create_index('ix_performance_record_at', ['at'], unique=False)
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_unpurged', ['created_at'], unique=False,
                              postgresql_where=sa.text(UNPURGED), sqlite_where=sa.text(UNPURGED))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_unpurged')
    with op.batch_alter_table('performance_record', schema=None) as batch_op:
        batch_op.drop_index('ix_performance_record_at')
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answered_at')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_due_at', ['due_at'], unique=False)
        batch_op.drop_index('ix_deadline_figures')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_figures')
        batch_op.drop_index('ix_complaint_closed_at')
