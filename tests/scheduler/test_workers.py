"""`tousu worker` as real processes on one PostgreSQL database, against the fake WeChat/WeCom server.

* Two workers dispatch one queue: every message is delivered exactly once (claims with ``FOR UPDATE SKIP
  LOCKED``, each committed before its send).
* A worker SIGKILLed while a 客服消息 is on the wire (the fake holds the request): the row stays ``sending``
  and no worker takes it again; a restarted worker delivers the rest; recovery (`recover_stale_sending`, every
  10 minutes in the worker) marks the row "outcome unknown" and it is not resent automatically — 客服消息
  has no idempotency key, so only a person may send it again (`storage.outbox.requeue_failed`). A template
  message killed the same way is queued again and its ``client_msg_id`` keeps WeChat from delivering it twice.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler.outbox import recover_stale_sending
from storage.db import Database
from storage.models import OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import outcome_unknown, queue_customer_text, queue_message, queue_staff_text
from tests.conftest import TEST_DATABASE_URL
from tests.fakes.fake_wechat import (
    CUSTOM_SEND,
    FAKE_AGENT_ID,
    TEMPLATE_SEND,
    WECOM_SEND,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)

pytestmark = pytest.mark.postgres
TOUSU = Path(sys.executable).parent / "tousu"
SURVEY = "请对本次处理结果评价：回复 1-5 星（5 星为非常满意）。"


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("several worker processes on one database: PostgreSQL (TEST_DATABASE_URL)")
    if not TOUSU.exists():
        pytest.skip("the tousu command is not installed (make install)")


def worker_env(fake: FakeWeChat) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "WECOM_", "TOUSU_", "REDIS_"))}
    return env | {
        "TOUSU_DEV": "1", "DATABASE_URL": str(TEST_DATABASE_URL),
        "WECHAT_APPID": fake.appid, "WECHAT_SECRET": fake.secret, "WECHAT_API_BASE_URL": fake.url,
        "WECOM_CORP_ID": fake.corp_id, "WECOM_SECRET": fake.corp_secret, "WECOM_AGENT_ID": str(FAKE_AGENT_ID),
        "WECOM_API_BASE_URL": fake.url, "WECOM_OAUTH_BASE_URL": fake.url,
    }


class Workers:
    """`tousu worker` processes started by a test, stopped (or killed) by it; their logs kept."""

    def __init__(self, fake: FakeWeChat, tmp: Path) -> None:
        self.env, self.tmp = worker_env(fake), tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([str(TOUSU), "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.tmp)
        self.procs.append(proc)
        return proc

    def log(self, index: int) -> str:
        return (self.tmp / f"worker-{index}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(fake_wechat: FakeWeChat, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(fake_wechat, tmp_path)
    try:
        yield started
    finally:
        started.stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, workers: Workers | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(workers.log(i)[-2000:] for i in range(len(workers.procs))) if workers else ""
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.05)


def statuses(db: Database) -> Counter[OutboxStatus]:
    with db.sessions() as session:
        return Counter(session.scalars(sa.select(OutboxMessage.status)))


def test_two_workers_deliver_every_message_exactly_once(db: Database, fake_wechat: FakeWeChat,
                                                        workers: Workers) -> None:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with db.transaction() as session:
        for n in range(150):
            if n % 3 == 0:
                queue_staff_text(session, ["zhao.lei"], f"投诉 {n} 处理超时", now=now, dedupe_key=f"w:{n}",
                                 title="投诉处理超时", url=f"/console/cases/{n}")
            else:
                queue_customer_text(session, f"oCUSTOMER{n:018d}", f"{SURVEY}（{n}）", now=now, dedupe_key=f"w:{n}")

    workers.start()
    workers.start()
    wait_for(lambda: statuses(db) == Counter({OutboxStatus.SENT: 150}), 90, "150 messages sent", workers)
    workers.stop()

    sends = [c for c in fake_wechat.deliveries if c.path in (CUSTOM_SEND, WECOM_SEND)]
    bodies = Counter(str(c.body) for c in sends)
    assert len(sends) == 150 and max(bodies.values()) == 1  # each exactly once
    per_worker = [sum(int(part.split(" sent")[0].rsplit(" ", 1)[-1]) for part in workers.log(i).splitlines()
                      if "outbox: " in part and " sent," in part) for i in range(2)]
    assert sum(per_worker) == 150 and all(per_worker), per_worker  # both took a share of the one queue


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(db: Database, fake_wechat: FakeWeChat,
                                                                        workers: Workers) -> None:
    fake = fake_wechat
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with db.transaction() as session:
        held = queue_customer_text(session, "oCUSTOMER000000000000000001", SURVEY, now=now - dt.timedelta(seconds=2),
                                   dedupe_key="k:held")
        template = queue_message(session, OutboxChannel.WECHAT_TEMPLATE, "oCUSTOMER000000000000000002",
                                 {"template_id": "TPL-SURVEY", "data": {"thing1": {"value": "请评价"}}},
                                 now=now - dt.timedelta(seconds=1), dedupe_key="k:template")
        rest = [queue_customer_text(session, f"oCUSTOMER{n:018d}", f"{SURVEY}（{n}）", now=now, dedupe_key=f"k:{n}")
                for n in range(3, 13)]
        assert held is not None and template is not None and all(rest)
        held_id, template_id = held.id, template.id
    # The first 客服消息 and the first template message are held by the fake: the worker waits on the wire.
    fake.delay(60, path=CUSTOM_SEND, times=1)
    first = workers.start()
    wait_for(lambda: len(fake.calls_to(CUSTOM_SEND)) == 1, 30, "the worker's first send", workers)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    with db.sessions() as session:
        row = session.get(OutboxMessage, held_id)
        assert row is not None and (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
        claimed_at = row.next_attempt_at

    # A second run, killed on the template message this time.
    fake.delay(60, path=TEMPLATE_SEND, times=1)
    second = workers.start()
    wait_for(lambda: len(fake.calls_to(TEMPLATE_SEND)) == 1, 30, "the template send", workers)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=10)

    # Restarted: the rest is delivered, the two rows on the wire are left alone.
    workers.start()
    wait_for(lambda: statuses(db)[OutboxStatus.SENT] == 10, 60, "the ten other messages", workers)
    assert statuses(db)[OutboxStatus.SENDING] == 2
    assert [c.body["touser"] for c in fake.calls_to(CUSTOM_SEND)].count("oCUSTOMER000000000000000001") == 1

    # Recovery, once the rows are stale (the worker job uses scheduler.OUTBOX_STALE_AFTER, 10 minutes; the same
    # function with 1 second, on the real clock): the 客服消息 becomes "outcome unknown" (failed, for a person
    # to check); the template message goes back to the queue and its repeat is dropped by client_msg_id.
    assert dt.datetime.now(dt.UTC) - claimed_at > dt.timedelta(seconds=1)
    recovered = recover_stale_sending(db, dt.timedelta(seconds=1))
    assert (recovered.requeued, recovered.failed) == (1, 1)
    wait_for(lambda: statuses(db)[OutboxStatus.SENT] == 11, 30, "the template message sent again", workers)
    time.sleep(6)  # one more dispatch tick: the unknown one stays failed, not resent
    with db.sessions() as session:
        unknown = session.get(OutboxMessage, held_id)
        again = session.get(OutboxMessage, template_id)
        assert unknown is not None and again is not None
        assert unknown.status is OutboxStatus.FAILED and outcome_unknown(unknown)
        assert again.status is OutboxStatus.SENT and again.attempts == 2
    to_held = [c for c in fake.calls_to(CUSTOM_SEND) if c.body["touser"] == "oCUSTOMER000000000000000001"]
    assert len(to_held) == 1  # the one call made before the kill, never repeated
    templates = fake.calls_to(TEMPLATE_SEND)
    assert len(templates) == 2 and {c.body["client_msg_id"] for c in templates} == {f"tousu-{template_id}"}
    # The fake took both held calls eventually; the template's repeat was dropped: each customer got one.
    wait_for(lambda: len([c for c in fake.deliveries if c.path == TEMPLATE_SEND]) == 1, 70, "held template answer")
    delivered = Counter(c.body["touser"] for c in fake.deliveries)
    assert set(delivered.values()) == {1}
