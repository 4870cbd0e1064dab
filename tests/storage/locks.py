"""Observing PostgreSQL's row locks from a test: deterministic interleavings instead of sleeps."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from storage.db import Database


def wait_until_blocked(db: Database, *, waiting: int = 1, timeout: float = 10.0,
                       unless: threading.Event | None = None) -> bool:
    """Wait until ``waiting`` other sessions of this database wait on a lock; False if they never did.

    A concurrency test holds a lock in one thread, starts the competing transaction in another, and
    calls this before letting the first go on, so the second is known to be queued on the lock. With
    ``unless``, it also stops waiting (returning False) once that event is set: the competitor finished
    without waiting at all.
    """
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout
    with db.engine.connect() as conn:
        while time.monotonic() < deadline and not (unless is not None and unless.is_set()):
            if int(conn.execute(query).scalar_one()) >= waiting:
                return True
            conn.rollback()  # a fresh snapshot of pg_stat_activity on the next read
            time.sleep(0.02)
    return False
