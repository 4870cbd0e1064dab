"""Schema migrations (Alembic), run from code so no alembic.ini has to be found at run time."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.base import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; running it again on an up-to-date database does nothing."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Leave out of the model comparison the PostgreSQL-only trigram indexes (``*_trgm``) that migrations
    create by hand: the models cannot declare an index that exists on one database only."""
    return not (type_ == "index" and name is not None and name.endswith("_trgm"))


def pending_model_changes(engine: sa.Engine) -> list[object]:
    """Differences between the models and the migrated schema; empty when a migration is not missing."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True, "include_name": include_name})
        return list(compare_metadata(ctx, Base.metadata))


def make_revision(url: str, message: str) -> None:
    """Autogenerate a new revision from the models (a developer's tool: `tousu db revision -m ...`)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
