"""Complaint numbers: YYMM + serial per Asia/Shanghai month, from a locked counter row, never max()+1."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.models import ComplaintCounter
from storage.numbering import format_number, next_complaint_number, period_of
from tests.conftest import run_concurrently
from tests.storage.locks import wait_until_blocked

UTC = dt.UTC


@pytest.mark.parametrize(("moment", "period"), [
    (dt.datetime(2026, 11, 3, 8, 0, tzinfo=UTC), "2611"),
    # 2026-11-30 16:30 UTC is already 1 December in Shanghai: the month turns at local midnight
    (dt.datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "2612"),
    (dt.datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), "2612"),
    (dt.datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "2701"),
])
def test_period_is_the_shanghai_month(moment: dt.datetime, period: str) -> None:
    assert period_of(moment) == period


def test_period_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match=r"^period_of needs an aware datetime$"):
        period_of(dt.datetime(2026, 11, 3))


@pytest.mark.parametrize(("serial", "number"), [
    (1, "26110001"), (42, "26110042"), (9999, "26119999"), (10000, "261110000"), (123456, "2611123456"),
])
def test_format_widens_past_9999(serial: int, number: str) -> None:
    assert format_number("2611", serial) == number


@pytest.mark.parametrize("serial", [0, -1])
def test_format_refuses_a_serial_below_one(serial: int) -> None:
    with pytest.raises(ValueError, match=rf"^serial must be positive, got {serial}$"):
        format_number("2611", serial)


def test_numbers_count_up_within_a_month_and_restart_each_month(db: Database) -> None:
    november = dt.datetime(2026, 11, 10, tzinfo=UTC)
    december = dt.datetime(2026, 12, 2, tzinfo=UTC)
    with db.transaction() as s:
        numbers = [next_complaint_number(s, november) for _ in range(3)]
        numbers.append(next_complaint_number(s, december))
    with db.transaction() as s:
        numbers.append(next_complaint_number(s, november))
    assert numbers == ["26110001", "26110002", "26110003", "26120001", "26110004"]
    with db.read_sessions() as s:
        counters = {c.period: c.last_serial for c in s.scalars(sa.select(ComplaintCounter))}
    assert counters == {"2611": 4, "2612": 1}


def test_a_rolled_back_transaction_gives_its_number_back(db: Database) -> None:
    at = dt.datetime(2026, 11, 10, tzinfo=UTC)
    with db.transaction() as s:
        assert next_complaint_number(s, at) == "26110001"
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert next_complaint_number(s, at) == "26110002"
        raise RuntimeError("submit failed later in the transaction")
    with db.transaction() as s:
        assert next_complaint_number(s, at) == "26110002", "no gap after a rollback"


def test_the_serial_widens_in_a_busy_month(db: Database) -> None:
    at = dt.datetime(2026, 11, 10, tzinfo=UTC)
    with db.transaction() as s:
        s.add(ComplaintCounter(period="2611", last_serial=9999))
    with db.transaction() as s:
        assert next_complaint_number(s, at) == "261110000"


def test_simultaneous_numbers_are_distinct_and_consecutive(db: Database) -> None:
    """Threads, each its own transaction: the counter row serialises them (row lock / BEGIN IMMEDIATE)."""
    at = dt.datetime(2026, 11, 10, tzinfo=UTC)
    def take() -> str:
        with db.transaction() as s:
            return next_complaint_number(s, at)

    numbers, errors = run_concurrently(take, [()] * 20)
    assert errors == []
    assert sorted(numbers) == [f"2611{n:04d}" for n in range(1, 21)]


def test_the_month_turns_at_shanghai_midnight_16_00_utc_on_the_last_day(db: Database) -> None:
    last_second = dt.datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 30 November in Shanghai
    with db.transaction() as s:
        numbers = [next_complaint_number(s, moment) for moment in (last_second, last_second + dt.timedelta(seconds=1))]
    assert numbers == ["26110001", "26120001"]


@pytest.mark.postgres
def test_a_counter_deleted_under_a_waiting_submission_fails_it_loudly(db: Database) -> None:
    """The one way the UPDATE finds no row: the counter vanished between the submission's two statements.
    The submission fails (and rolls back) instead of numbering from nothing."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers: nothing can run between the two statements")
    at = dt.datetime(2026, 11, 10, tzinfo=UTC)
    with db.transaction() as s:
        assert next_complaint_number(s, at) == "26110001"
    held = threading.Event()

    def operator_deletes_the_counter() -> str:
        with db.transaction() as s:
            s.execute(sa.select(ComplaintCounter).where(ComplaintCounter.period == "2611").with_for_update())
            held.set()
            assert wait_until_blocked(db), "the submission never queued behind the locked counter"
            s.execute(sa.delete(ComplaintCounter).where(ComplaintCounter.period == "2611"))
        return "deleted"

    def submission() -> str:
        assert held.wait(10)
        with db.transaction() as s:
            return next_complaint_number(s, at)

    results, errors = run_concurrently(lambda run: run(), [(operator_deletes_the_counter,), (submission,)])
    assert results == ["deleted"]
    assert [str(e) for e in errors] == ["complaint counter 2611 vanished"]
