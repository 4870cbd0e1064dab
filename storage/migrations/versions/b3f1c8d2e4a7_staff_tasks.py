"""staff tasks: calls and measures staff must do by hand (电话告知, 电话回访, 补充措施)

Revision ID: b3f1c8d2e4a7
Revises: 7a0e22194935
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b3f1c8d2e4a7'
down_revision = '7a0e22194935'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_task',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=191), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_staff_task_complaint_id_complaint'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                                name=op.f('fk_staff_task_department_id_department'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['done_by_id'], ['staff.id'], name=op.f('fk_staff_task_done_by_id_staff'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_task')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_staff_task_dedupe_key')),
    )
    op.create_index('ix_staff_task_open', 'staff_task', ['status', 'department_id'], unique=False)
    op.create_index(op.f('ix_staff_task_complaint_id'), 'staff_task', ['complaint_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_staff_task_complaint_id'), table_name='staff_task')
    op.drop_index('ix_staff_task_open', table_name='staff_task')
    op.drop_table('staff_task')
