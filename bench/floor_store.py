"""The durable floor's store: the least writing any correct tousu must do per message, with the raw driver.

The issues ask for more than the floor baseline does: every inbound message recorded under a unique key
(so WeChat's retries have one effect), the follower's conversation row locked, read and saved in the same
transaction, and the reply stored for the retries, all committed before the passive reply leaves. This
module does exactly that and nothing else, as cheaply as each driver allows, on tousu's own migrated
schema:

* claim the MsgId: ``INSERT … ON CONFLICT DO NOTHING RETURNING id``;
* lock and load the follower's row: ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (creates it if new);
* save the row and record the reply: two ``UPDATE`` s; commit.

PostgreSQL (psycopg 3): the five statements travel in two pipelined round trips (BEGIN + claim + lock;
save + record + COMMIT), one connection per process. SQLite (stdlib ``sqlite3``): WAL, ``synchronous=NORMAL``,
``BEGIN IMMEDIATE`` behind the same blocking writer lock tousu uses (storage/db.py), one connection per
process. No ORM, no routing, no templates: ``bench/run.py`` divides tousu's figures by these too, so the
printout separates what durability costs from what tousu's own code costs.

:class:`SqlAlchemyStore` runs the very same statements through tousu's storage layer instead
(``storage.db.Database``: a SQLAlchemy session per message, the writer lock and BEGIN IMMEDIATE on SQLite), as
ARCHITECTURE.md requires of every query. Still no routing, no conversation, no templates: dividing it by the raw
store shows what the required database layer alone costs, before tousu's code does anything.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import threading
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage.db import Database, WriterQueue

# Constant SQL with placeholders only (hence S608 below): {p} is the driver's paramstyle.
#: The conversation row's state columns, read when it is locked and written back after the step.
_STATE = "mode, step, answers, displays, notes, started_at, callback_requested_at, updated_at"
_CLAIM = ("INSERT INTO inbound_message (channel, dedupe_key, sender, msg_type, msg_id, received_at, status) "
          "VALUES ('wechat', {p}, {p}, {p}, {p}, {p}, 'processing') ON CONFLICT (dedupe_key) DO NOTHING RETURNING id")
_LOCK = ("INSERT INTO intake_session (openid, mode, answers, displays, notes, updated_at, created_at) "  # noqa: S608
         "VALUES ({p}, 'none', '{{}}', '{{}}', '{{}}', {p}, {p}) "
         f"ON CONFLICT (openid) DO UPDATE SET openid = excluded.openid RETURNING id, {_STATE}")
_SAVE = ("UPDATE intake_session SET mode = {p}, step = {p}, answers = {p}, displays = {p}, notes = {p}, "
         "updated_at = {p} WHERE id = {p}")
_RECORD = "UPDATE inbound_message SET reply = {p}, handler = {p}, status = 'done' WHERE id = {p}"
_EARLIER = "SELECT reply FROM inbound_message WHERE dedupe_key = {p}"
#: Every store runs these, with the parameters in the order the placeholders come.
_STATEMENTS = {"claim": _CLAIM, "lock": _LOCK, "save": _SAVE, "record": _RECORD, "earlier": _EARLIER}


def _now(sqlite: bool) -> Any:
    """This moment as tousu stores it: on SQLite as SQLAlchemy stores its UTC datetimes (naive ISO text)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=None).isoformat(" ") if sqlite else now


class Store(Protocol):
    def deliver(self, openid: str, msg_id: int, msg_type: str, reply: str) -> str | None:
        """Claim, lock, save and record in one transaction; returns the reply to send (a retry's: the
        first delivery's)."""


class _OneConnection:
    """One connection per process, opened on first use (gunicorn forks after import); requests take
    turns on it (gunicorn's sync workers never wait)."""

    def __init__(self, connect: Callable[[], Any], placeholder: str) -> None:
        self._connect = connect
        self._conn: Any = None
        self._pid = 0
        self._lock = threading.Lock()
        self._sql = {name: template.format(p=placeholder) for name, template in _STATEMENTS.items()}

    def _connection(self) -> Any:
        if self._conn is None or self._pid != os.getpid():
            self._conn, self._pid = self._connect(), os.getpid()
        return self._conn


class PostgresStore(_OneConnection):
    """Two pipelined round trips per message (psycopg 3)."""

    def __init__(self, url: str) -> None:
        import psycopg

        parsed = make_url(url)
        super().__init__(lambda: psycopg.connect(
            host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username,
            password=parsed.password, dbname=parsed.database, autocommit=True,
        ), "%s")

    def deliver(self, openid: str, msg_id: int, msg_type: str, reply: str) -> str | None:
        with self._lock:
            return self._deliver(openid, msg_id, msg_type, reply)

    def _deliver(self, openid: str, msg_id: int, msg_type: str, reply: str) -> str | None:
        conn, sql = self._connection(), self._sql
        now = _now(sqlite=False)
        key = f"wechat:{msg_id}"
        try:
            with conn.pipeline() as pipeline:
                conn.execute("BEGIN")
                claim = conn.execute(sql["claim"], (key, openid, msg_type, msg_id, now))
                lock = conn.execute(sql["lock"], (openid, now, now))
                pipeline.sync()
                claimed, row = claim.fetchone(), lock.fetchone()
                if claimed is None:
                    earlier = conn.execute(sql["earlier"], (key,))
                    conn.execute("COMMIT")
                    pipeline.sync()
                    found = earlier.fetchone()
                    return found[0] if found else None
                conn.execute(sql["save"], ("none", None, "{}", "{}", "{}", now, row[0]))
                conn.execute(sql["record"], (reply, "help", claimed[0]))
                conn.execute("COMMIT")
        except BaseException:
            if not conn.closed:
                conn.execute("ROLLBACK")
            raise
        return reply


class SqliteStore(_OneConnection):
    """BEGIN IMMEDIATE behind tousu's blocking writer lock (stdlib sqlite3, WAL)."""

    def __init__(self, url: str) -> None:
        import sqlite3

        database = make_url(url).database
        if not database or database == ":memory:":
            raise ValueError("the durable floor needs a SQLite file (several processes share it)")

        def connect() -> Any:
            conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False, timeout=30)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                conn.execute(f"PRAGMA {pragma}")
            return conn

        super().__init__(connect, "?")
        self._writers = WriterQueue(database)

    def deliver(self, openid: str, msg_id: int, msg_type: str, reply: str) -> str | None:
        now = _now(sqlite=True)
        key = f"wechat:{msg_id}"
        sql = self._sql
        with self._lock, self._writers.held():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                claimed = conn.execute(sql["claim"], (key, openid, msg_type, msg_id, now)).fetchone()
                row = conn.execute(sql["lock"], (openid, now, now)).fetchone()
                if claimed is None:
                    found = conn.execute(sql["earlier"], (key,)).fetchone()
                    conn.execute("COMMIT")
                    return found[0] if found else None
                conn.execute(sql["save"], ("none", None, "{}", "{}", "{}", now, row[0]))
                conn.execute(sql["record"], (reply, "help", claimed[0]))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return reply


class SqlAlchemyStore:
    """The same transaction through ``storage.db.Database`` (SQLAlchemy 2.x, as tousu's storage layer)."""

    def __init__(self, url: str) -> None:
        self.db = Database(url)
        self._sqlite = self.db.dialect == "sqlite"
        self._sql = {name: _numbered(template) for name, template in _STATEMENTS.items()}

    def deliver(self, openid: str, msg_id: int, msg_type: str, reply: str) -> str | None:
        now = _now(self._sqlite)
        key = f"wechat:{msg_id}"
        sql = self._sql
        with self.db.transaction() as session:
            conn = session.connection()
            claimed = conn.execute(sql["claim"], _params(key, openid, msg_type, msg_id, now)).first()
            row = conn.execute(sql["lock"], _params(openid, now, now)).one()
            if claimed is None:
                found = conn.execute(sql["earlier"], _params(key)).first()
                return found[0] if found else None
            conn.execute(sql["save"], _params("none", None, "{}", "{}", "{}", now, row[0]))
            conn.execute(sql["record"], _params(reply, "help", claimed[0]))
        return reply


def _numbered(template: str) -> sa.TextClause:
    """A statement template as text(), which binds by name: its n-th placeholder becomes ``:p<n>``."""
    count = itertools.count()
    return sa.text(re.sub("\0", lambda _: f":p{next(count)}", template.format(p="\0")))


def _params(*values: Any) -> dict[str, Any]:
    """Positional values for a :func:`_numbered` statement, as the raw stores pass them."""
    return {f"p{index}": value for index, value in enumerate(values)}


def store_for(url: str) -> Store:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return SqliteStore(url)
    if backend == "postgresql":
        return PostgresStore(url)
    raise ValueError(f"no durable floor for {backend!r}")
