"""Alembic environment: runs against the connection or URL handed over by storage.migrate."""

from __future__ import annotations

from alembic import context

import storage.models  # noqa: F401  (registers every table on Base.metadata)
from storage.base import Base
from storage.db import make_engine
from storage.migrate import include_name

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds the table
        compare_type=True,
        include_name=include_name,  # autogenerate keeps the hand-made PostgreSQL trigram indexes
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `tousu db upgrade`")
run_migrations_online()
