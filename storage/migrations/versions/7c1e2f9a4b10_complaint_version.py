"""complaint version (optimistic concurrency for staff acting on one case)

Revision ID: 7c1e2f9a4b10
Revises: 4d3b0c725aaf
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7c1e2f9a4b10'
down_revision = '4d3b0c725aaf'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('version')
