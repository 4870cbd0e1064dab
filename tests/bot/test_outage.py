"""A database that is really not there: WeChat's retries ride out a short outage, a long one ends in one apology.

The database is made unreachable for real: on SQLite a directory stands where the database file should be; on
PostgreSQL the app points at a database that does not exist yet. "It comes back" creates and migrates it.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.webhook import LAST_DELIVERY
from bot.wechat_sim import WeChatSide
from storage import migrate
from storage.db import Database
from storage.models import InboundMessage

REDIS_URL = "redis://127.0.0.1:6379/11"


class GoneDatabase:
    """A database URL nothing answers at, until :meth:`come_back`."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        url = make_url(database_url)
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            self.path = tmp_path / "gone.sqlite3"
            self.path.mkdir()  # SQLite cannot open a directory: "unable to open database file"
            self.url = f"sqlite:///{self.path}"
        else:
            self.admin_url = database_url
            self.name = f"{url.database}_gone_{uuid.uuid4().hex[:8]}"
            self.url = url.set(database=self.name).render_as_string(hide_password=False)
        self.database = Database(self.url)

    def come_back(self) -> None:
        if self.dialect == "sqlite":
            self.path.rmdir()
        else:
            self._admin(f'CREATE DATABASE "{self.name}"')
        migrate.upgrade(self.database.engine)

    def drop(self) -> None:
        self.database.dispose()
        if self.dialect != "sqlite":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()


@pytest.fixture
def gone(database_url: str, tmp_path: Path) -> Iterator[GoneDatabase]:
    gone = GoneDatabase(database_url, tmp_path)
    yield gone
    gone.drop()


def _app(app_config: dict[str, Any], gone: GoneDatabase, **extra: Any) -> Any:
    from bot import create_app

    # As deployed (not TESTING), where a crash would be answered 200 + apology: the outage must not be.
    return create_app(app_config | {"TESTING": False, "DATABASE_URL": gone.url, **extra}, database=gone.database)


def post(client: Any, signed: Any) -> Any:
    return client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("tousu")]


def test_a_long_outage_asks_for_every_retry_and_apologises_on_the_last(app_config, gone, wechat: WeChatSide, caplog):
    caplog.set_level(logging.INFO, logger="tousu")
    client = _app(app_config, gone).test_client()
    signed = wechat.sign(wechat.text("oOutage000000001", "我要投诉", msg_id=880001))
    answers = []
    for delivery in range(1, LAST_DELIVERY + 1):
        caplog.clear()
        response = post(client, signed)
        answers.append(response.status_code)
        lines = _lines(caplog)
        assert len(lines) == 1, "one line per failed delivery"
        assert lines[0].exc_info is None and "Traceback" not in caplog.text, "no stack trace for an outage"
        line = json.loads(lines[0].getMessage())
        assert line["status"] == "db_unavailable"
        assert line["detail"].endswith(f"failed delivery {delivery}")
        assert "oOutage000000001" not in caplog.text
    assert answers == [503] * (LAST_DELIVERY - 1) + [200]
    assert "没有处理成功" in wechat.open_reply(response.data)["Content"]
    other = wechat.sign(wechat.text("oOutage000000001", "还在吗", msg_id=880002))
    assert post(client, other).status_code == 503, "each message is counted on its own"


def test_a_short_outage_is_covered_by_the_retry(app_config, gone, wechat):
    client = _app(app_config, gone).test_client()
    signed = wechat.sign(wechat.text("oOutage000000002", "你好", msg_id=880003))
    assert post(client, signed).status_code == 503
    gone.come_back()
    retry = post(client, signed)
    assert retry.status_code == 200
    reply = wechat.open_reply(retry.data)["Content"]
    assert "没有处理成功" not in reply, "the customer gets the real answer, not the apology"
    assert wechat.open_reply(post(client, signed).data)["Content"] == reply, "a later retry: the same answer"
    with gone.database.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 1


@pytest.fixture
def shared_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield client  # the counters expire by themselves (120 s); each test counts a message id of its own


def test_with_redis_the_deliveries_are_counted_across_processes(app_config, gone, wechat, shared_redis):
    """Two workers (two apps) each take some of the retries: the fourth delivery overall apologises."""
    workers = [_app(app_config, gone, REDIS_URL=REDIS_URL).test_client() for _ in range(2)]
    # A message id of its own: Redis is shared with whatever else runs on the machine (another suite, say).
    signed_id = secrets.randbelow(10**12) + 10**12
    signed = wechat.sign(wechat.text("oOutage000000003", "你好", msg_id=signed_id))
    answers = [post(workers[n % 2], signed).status_code for n in range(LAST_DELIVERY)]
    assert answers == [503] * (LAST_DELIVERY - 1) + [200]
    assert any(shared_redis.scan_iter(f"tousu:failed-delivery:*{signed_id}*"))


def test_without_redis_each_process_counts_alone(app_config, gone, wechat):
    workers = [_app(app_config, gone).test_client() for _ in range(2)]
    signed = wechat.sign(wechat.text("oOutage000000004", "你好", msg_id=880005))
    answers = [post(workers[n % 2], signed).status_code for n in range(LAST_DELIVERY)]
    assert answers == [503] * LAST_DELIVERY, "two processes, two deliveries each: no apology yet"


def test_redis_down_too_falls_back_to_counting_in_process(app_config, gone, wechat, caplog):
    caplog.set_level(logging.WARNING, logger="tousu")
    client = _app(app_config, gone, REDIS_URL="redis://127.0.0.1:1/11").test_client()
    signed = wechat.sign(wechat.text("oOutage000000005", "你好", msg_id=880006))
    answers = [post(client, signed).status_code for _ in range(LAST_DELIVERY)]
    assert answers == [503] * (LAST_DELIVERY - 1) + [200]
    assert "redis unavailable" in caplog.text


def test_a_retried_delivery_is_answered_only_after_the_hold_and_the_last_at_once(app_config, gone, wechat):
    """WeChat documents a retry for a delivery it had no answer to within 5 s; a 503 alone may not be one."""
    client = _app(app_config, gone, CALLBACK_RETRY_HOLD_SECONDS=0.4).test_client()
    signed = wechat.sign(wechat.text("oOutage000000009", "你好", msg_id=880009))
    timings = []
    for _ in range(LAST_DELIVERY):
        started = time.perf_counter()
        status = post(client, signed).status_code
        timings.append((status, time.perf_counter() - started))
    assert [status for status, _ in timings] == [503] * (LAST_DELIVERY - 1) + [200]
    assert all(took >= 0.4 for _, took in timings[:-1]), timings
    assert timings[-1][1] < 0.4, "the last delivery apologises at once"
