"""Shared fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), an app, WeChat's side.

The schema is built once per run by the Alembic migrations; every test starts from empty tables, so tests
that use several connections or threads (retries, concurrency, a real server socket) see real behaviour.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.config import (
    DEV_AES_KEY,
    DEV_APPID,
    DEV_CORP_ID,
    DEV_WECHAT_TOKEN,
    PACKAGED_EXAMPLE,
    load_company_config,
)
from bot.wechat_sim import WeChatSide, WeComSide
from storage import migrate
from storage.base import Base
from storage.db import Database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

# Property tests check behaviour, not speed (that is `make bench`'s job): no per-example deadline, which a
# busy 2-core CI machine would otherwise turn into flaky failures; failures print the blob to reproduce.
hypothesis.settings.register_profile("tousu", deadline=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tousu"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tousu-test.sqlite3'}"


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    with db.engine.begin() as conn:  # start from nothing, whatever an earlier run left behind
        if db.dialect == "postgresql":
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(db.engine)
    # Tables a change adds before its migration is written still get created here, so work in progress
    # can be tested; tests/storage/test_migrations.py is what fails until the migration exists.
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


def _clear(db: Database) -> None:
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture
def db(database: Database) -> Iterator[Database]:
    from handlers import faq

    faq.invalidate_cache()  # per-process caches must not outlive the rows a test made
    yield database
    _clear(database)
    faq.invalidate_cache()


@pytest.fixture(autouse=True)
def _customer_links() -> Iterator[None]:
    """Links to the customer's page are configured per process by create_app (handlers/customer.py); an app a test
    built with WeChat web authorisation must not change the links the next test's messages carry."""
    from handlers import customer

    customer.configure_links("http://127.0.0.1:5000", "test-secret-key-0123456789", oauth=False)
    yield


@pytest.fixture(autouse=True)
def _no_webhooks() -> Iterator[None]:
    """[webhooks] is configured per process by create_app and the worker (handlers/webhooks.py); one test's app
    with webhooks must not make the next test's state changes queue them."""
    from handlers import webhooks

    webhooks.configure(None)
    yield
    webhooks.configure(None)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session for arranging data; the test commits when the code under test would."""
    with db.sessions() as s:
        yield s


def run_concurrently(
    target: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *, timeout: float = 60.0
) -> tuple[list[Any], list[BaseException]]:
    """Call ``target(*args)`` for each ``args`` in its own thread, all released at once by a barrier.

    Returns what the calls returned and what they raised (in completion order); concurrency tests assert
    on both, so a failure in a thread is never lost.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(args: tuple[Any, ...]) -> None:
        try:
            barrier.wait(timeout=timeout)
            value = target(*args)
            with lock:
                results.append(value)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(args,)) for args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout * 2)
    return results, errors


def count_rows(db: Database, model: Any, **filters: Any) -> int:
    """Rows of ``model`` matching ``filters``, read in a fresh snapshot (sees every commit so far)."""
    with db.read_sessions() as s:
        query = sa.select(sa.func.count()).select_from(model)
        for key, value in filters.items():
            query = query.where(getattr(model, key) == value)
        return int(s.scalar(query) or 0)


@pytest.fixture(scope="session")
def company_config() -> dict[str, Any]:
    return load_company_config(PACKAGED_EXAMPLE, dev=True)


@pytest.fixture
def app_config(database_url: str, company_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "TESTING": True,
        "TOUSU_DEV": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-0123456789",
        "WECHAT_TOKEN": DEV_WECHAT_TOKEN,
        "WECHAT_AES_KEY": DEV_AES_KEY,
        "WECHAT_APPID": DEV_APPID,
        "WECOM_CORP_ID": DEV_CORP_ID,
        "WECOM_TOKEN": DEV_WECHAT_TOKEN,
        "WECOM_AES_KEY": DEV_AES_KEY,
        "WECOM_AGENT_ID": "1000002",
        "COMPANY": company_config,
        "SCHEDULER": False,
        "CALLBACK_RETRY_HOLD_SECONDS": 0,
        # Each test's app counts sign-in throttles and failed deliveries on its own, whatever REDIS_URL the
        # environment has (CI sets one): shared counters would leak from one test into the next. Tests of the
        # sharing itself pass their own REDIS_URL.
        "REDIS_URL": None,  # an outage holds a retried delivery 5.5 s; tests that check it set it
    }


@pytest.fixture
def app(db: Database, app_config: dict[str, Any]) -> Any:
    from bot import create_app

    return create_app(app_config, database=db)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def wechat() -> WeChatSide:
    return WeChatSide(DEV_WECHAT_TOKEN, DEV_AES_KEY, DEV_APPID)


@pytest.fixture
def wecom() -> WeComSide:
    return WeComSide(DEV_WECHAT_TOKEN, DEV_AES_KEY, DEV_CORP_ID)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


class LiveServer:
    """The app on a real loopback socket (threaded), for tests that need real HTTP and concurrency."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()
