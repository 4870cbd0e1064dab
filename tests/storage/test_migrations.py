"""Migrations: complete (they match the models) and idempotent."""

from __future__ import annotations

from storage import migrate
from storage.db import Database


def test_migrations_match_the_models(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    migrate.upgrade(db.engine)
    assert migrate.pending_model_changes(db.engine) == [], "run `tousu db revision -m ...` for the change"
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_upgrade_twice_is_a_no_op(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'twice.sqlite3'}")
    migrate.upgrade(db.engine)
    first = migrate.current_revision(db.engine)
    migrate.upgrade(db.engine)
    assert migrate.current_revision(db.engine) == first


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
