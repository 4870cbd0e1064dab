"""ledger indexes: whole-case deadline, unmet deadlines, and keyword search (pg_trgm) on PostgreSQL

Revision ID: 7a0e22194935
Revises: 7c1e2f9a4b10
Create Date: 2026-12-02 10:00:00

The ledger (handlers/ledger.py) sorts by ``complaint.due_at``, filters on overdue deadlines (a partial index of
the unmet ones, small and read without the table) — both declared on the models — and searches
with ``ILIKE '%keyword%'`` over four groups of columns, which only a trigram index can serve on a million
cases. The trigram indexes exist on PostgreSQL only (SQLite has no pg_trgm and scans, which is fine at a
company's size); their expressions are exactly those `handlers.ledger` queries, and their names end in
``_trgm``, which storage/migrate.py leaves out of the model comparison (the models cannot declare them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7a0e22194935'
down_revision = '7c1e2f9a4b10'
branch_labels = None
depends_on = None

# name -> indexed expression; must stay identical to handlers.ledger's _public_text, description,
# _identity_text and phone.
TRIGRAM_INDEXES = {
    "ix_complaint_public_trgm": "(coalesce(number, '') || ' ' || coalesce(product_name, '') || ' ' "
                                "|| coalesce(spec_model, '') || ' ' || coalesce(batch, ''))",
    "ix_complaint_description_trgm": "description",
    "ix_complaint_identity_trgm": "(coalesce(complainant_name, '') || ' ' || coalesce(contact_person, '') || ' ' "
                                  "|| coalesce(address, ''))",
    "ix_complaint_phone_trgm": "phone",
}


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_due_at'), ['due_at'], unique=False)
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index('ix_deadline_unmet', ['complaint_id', 'status', 'due_at'], unique=False,
                              postgresql_where=sa.text("status IN ('open', 'breached')"),
                              sqlite_where=sa.text("status IN ('open', 'breached')"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, expression in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON complaint USING gin ({expression} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_unmet')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_due_at'))
