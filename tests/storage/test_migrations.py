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


def test_downgrade_to_empty_and_up_again(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}")
    migrate.upgrade(db.engine)
    migrate.downgrade(db.engine, "base")
    assert migrate.current_revision(db.engine) is None
    migrate.upgrade(db.engine)
    assert migrate.pending_model_changes(db.engine) == []


def test_migrations_on_the_test_database_match_the_models(database):
    """The same check on the suite's database (PostgreSQL when TEST_DATABASE_URL is set)."""
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    assert migrate.pending_model_changes(database.engine) == []
