"""surveys: the satisfaction survey per complaint and round, and the performance records its answers leave

Revision ID: c4d2a9e7f1b3
Revises: c5d2a9e7f310
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c4d2a9e7f1b3'
down_revision = 'c5d2a9e7f310'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'survey',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stars', sa.Integer(), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=True),
        sa.Column('later_answers', sa.JSON(), nullable=False),
        sa.Column('consequences', sa.JSON(), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_survey_complaint_id_complaint'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey')),
        sa.UniqueConstraint('complaint_id', 'round', name=op.f('uq_survey_complaint_id_round')),
    )
    op.create_index(op.f('ix_survey_complaint_id'), 'survey', ['complaint_id'], unique=False)
    op.create_index('ix_survey_status', 'survey', ['status'], unique=False)
    op.create_table(
        'performance_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=True),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('stars', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                                name=op.f('fk_performance_record_complaint_id_complaint'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_performance_record_survey_id_survey'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_performance_record_staff_id_staff'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_performance_record_department_id_department'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_record')),
        sa.UniqueConstraint('survey_id', 'kind', name=op.f('uq_performance_record_survey_id_kind')),
    )
    op.create_index(op.f('ix_performance_record_complaint_id'), 'performance_record', ['complaint_id'], unique=False)
    op.create_index(op.f('ix_performance_record_staff_id'), 'performance_record', ['staff_id'], unique=False)
    op.create_index('ix_performance_record_department', 'performance_record', ['department_id', 'kind', 'at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_performance_record_department', table_name='performance_record')
    op.drop_index(op.f('ix_performance_record_staff_id'), table_name='performance_record')
    op.drop_index(op.f('ix_performance_record_complaint_id'), table_name='performance_record')
    op.drop_table('performance_record')
    op.drop_index('ix_survey_status', table_name='survey')
    op.drop_index(op.f('ix_survey_complaint_id'), table_name='survey')
    op.drop_table('survey')
