"""Queueing into the outbox: the injected clock, and a dedupe key that never fails a transaction."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.models import OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import queue_customer_text, queue_message, queue_staff_text
from tests.conftest import count_rows, run_concurrently
from tests.storage.locks import wait_until_blocked

NOW = dt.datetime(2026, 2, 13, 2, 0, tzinfo=dt.UTC)
OPENID = "oCUSTOMER000000000000000001"


def test_a_queued_message_is_due_at_the_callers_clock(db: Database) -> None:
    held = NOW + dt.timedelta(hours=6)
    with db.transaction() as s:
        now = queue_customer_text(s, OPENID, "您的投诉已受理", now=NOW, complaint_id=7)
        later = queue_staff_text(s, ["li.na", "wang.wei"], "催办", now=NOW, not_before=held, title="投诉处理催办")
        assert now is not None and later is not None
        ids = now.id, later.id
    with db.read_sessions() as s:
        first, second = (s.get(OutboxMessage, i) for i in ids)
        assert first is not None and second is not None
        assert (first.status, first.attempts, first.next_attempt_at, first.created_at) == (
            OutboxStatus.PENDING, 0, NOW, NOW)
        assert (first.channel, first.recipient, first.payload, first.complaint_id) == (
            OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "您的投诉已受理"}, 7)
        assert (second.next_attempt_at, second.created_at) == (held, NOW)
        assert (second.recipient, second.payload) == ("li.na|wang.wei", {"text": "催办", "title": "投诉处理催办"})


def test_the_same_key_queued_twice_is_queued_once(db: Database) -> None:
    with db.transaction() as s:
        first = queue_message(s, OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "一"}, now=NOW, dedupe_key="k")
        again = queue_message(s, OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "二"}, now=NOW, dedupe_key="k")
        assert first is not None and again is None
    with db.transaction() as s:
        assert queue_message(s, OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "三"}, now=NOW, dedupe_key="k") is None
        keyless = [queue_message(s, OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "四"}, now=NOW) for _ in range(2)]
        assert all(m is not None for m in keyless), "messages without a key are never deduplicated"
    with db.read_sessions() as s:
        assert sorted(m.payload["text"] for m in s.scalars(sa.select(OutboxMessage))) == ["一", "四", "四"]


@pytest.mark.postgres
def test_concurrent_queueing_of_one_key_never_fails_the_second_transaction(db: Database) -> None:
    """The second transaction waits for the first, finds the key taken and commits its own work.

    Before ``ON CONFLICT DO NOTHING`` its check saw nothing (the first had not committed), its insert
    waited on the unique index, and then failed with UniqueViolation, rolling back everything it did.
    """
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): the second cannot start before the first ends")
    first_queued = threading.Event()

    def first() -> str:
        with db.transaction() as s:
            queue_message(s, OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "first"}, now=NOW, dedupe_key="same")
            first_queued.set()
            assert wait_until_blocked(db), "the second transaction never queued behind the first"
        return "first committed"

    def second() -> str:
        assert first_queued.wait(10)
        with db.transaction() as s:
            mine = queue_message(s, OutboxChannel.WECHAT_CUSTOM, "oOTHER", {"text": "own work"}, now=NOW)
            duplicate = queue_message(s, OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "second"}, now=NOW,
                                      dedupe_key="same")
            assert mine is not None and duplicate is None
        return "second committed"

    results, errors = run_concurrently(lambda run: run(), [(first,), (second,)])
    assert errors == []
    assert sorted(results) == ["first committed", "second committed"]
    assert count_rows(db, OutboxMessage, dedupe_key="same") == 1
    assert count_rows(db, OutboxMessage, recipient="oOTHER") == 1
    with db.read_sessions() as s:
        assert s.scalar(sa.select(OutboxMessage.payload).where(OutboxMessage.dedupe_key == "same")) == {
            "text": "first"}
