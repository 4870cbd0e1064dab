"""Complaint numbers: YYMM + serial per Asia/Shanghai month, from a locked counter row, never max()+1."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.models import ComplaintCounter
from storage.numbering import format_number, next_complaint_number, period_of
from tests.conftest import run_concurrently

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
    with pytest.raises(ValueError, match="aware"):
        period_of(dt.datetime(2026, 11, 3))


@pytest.mark.parametrize(("serial", "number"), [
    (1, "26110001"), (42, "26110042"), (9999, "26119999"), (10000, "261110000"), (123456, "2611123456"),
])
def test_format_widens_past_9999(serial: int, number: str) -> None:
    assert format_number("2611", serial) == number


def test_format_refuses_zero() -> None:
    with pytest.raises(ValueError):
        format_number("2611", 0)


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
