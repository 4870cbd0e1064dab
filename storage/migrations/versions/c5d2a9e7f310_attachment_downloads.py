"""attachment downloads: WeChat's temporary media copied to our disk by a job (status, attempts, lease, error)

Revision ID: c5d2a9e7f310
Revises: b3f1c8d2e4a7
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c5d2a9e7f310'
down_revision = 'b3f1c8d2e4a7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('attachment') as batch:
        batch.add_column(sa.Column('download_status', sa.String(length=16), server_default='none', nullable=False))
        batch.add_column(sa.Column('download_attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('download_after', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('download_error', sa.String(length=300), nullable=True))
    # Media received before this revision is still worth a try: WeChat answers 40007 once it has expired,
    # and the job marks those failed with a reason staff can read.
    op.execute(
        "UPDATE attachment SET download_status = 'pending' "
        "WHERE media_id IS NOT NULL AND kind IN ('image', 'voice', 'video', 'file')"
    )
    op.create_index('ix_attachment_download_due', 'attachment', ['download_status', 'download_after'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attachment_download_due', table_name='attachment')
    with op.batch_alter_table('attachment') as batch:
        batch.drop_column('download_error')
        batch.drop_column('download_after')
        batch.drop_column('download_attempts')
        batch.drop_column('download_status')
