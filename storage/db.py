"""Engine and session setup: SQLite (WAL) as the embedded default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Create an engine with the settings each dialect needs to be safe under concurrent requests."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": 30}
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _make_sqlite_serialisable(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def _make_sqlite_serialisable(engine: sa.Engine) -> None:
    """WAL for concurrent readers, and BEGIN IMMEDIATE so two writers queue instead of deadlocking.

    pysqlite's default deferred BEGIN lets two transactions both read and then fail to upgrade to a write
    lock ("database is locked"); taking the write lock at BEGIN makes SQLite's busy timeout queue them,
    which is the SQLite equivalent of the row lock PostgreSQL gives us.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")


class WriterQueue:
    """Serialises SQLite write transactions across threads and processes with a blocking lock.

    SQLite allows one writer; a second one waits in its busy handler, which sleeps in growing steps
    (1, 2, 5, 10 … ms) instead of waking when the lock frees. Under gunicorn with two workers that sleep
    was half of a message's latency. A blocking ``flock`` on a side file wakes the next writer at once.
    ``flock`` does not exclude threads sharing one descriptor, hence the thread lock in front of it.
    """

    def __init__(self, database_path: str) -> None:
        self.path = database_path + ".writelock"
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._depth = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if self._depth == 0:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)


class Database:
    """Owns the engine and the session factory; the request or job boundary owns each transaction."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        database = self.engine.url.database
        self._writers = (
            WriterQueue(database)
            if self.engine.dialect.name == "sqlite" and database and database != ":memory:" else None
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads take no write lock on SQLite (a deferred BEGIN); never write through these.
        self.read_sessions = sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception (which is re-raised)."""
        if self._writers is None:
            with self.sessions() as session, session.begin():
                yield session
            return
        with self._writers.held(), self.sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
