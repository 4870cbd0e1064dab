"""Complaint numbers (投诉编号): ``YYMM`` + a serial within the month, from a counter row (seed 002).

The counter for a month is one ``complaint_counter`` row. Taking a number is one
``UPDATE … SET last_serial = last_serial + 1 … RETURNING`` inside the caller's transaction: the update
locks the row until that transaction ends, so concurrent submissions queue on it and get consecutive
serials, and a transaction that rolls back gives its serial back (no gaps in normal operation). It is
never ``max()+1``, which two transactions can read at the same time. The first number of a month
creates the row with ``INSERT … ON CONFLICT DO NOTHING``, which is safe when two submissions start the
month together. On SQLite the same statements run inside a BEGIN IMMEDIATE transaction, which is
already serialised.

The serial has four digits (``26110001`` … ``26119999``). A month with more than 9 999 complaints keeps
counting with more digits (``261110000``): numbers stay unique, since every number with a four-digit
serial has eight characters and every longer one belongs to a serial past 9 999, and the column holds
up to 16 characters.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.base import SHANGHAI
from storage.models import ComplaintCounter

SERIAL_DIGITS = 4


def period_of(moment: dt.datetime) -> str:
    """The counter period ``YYMM`` of an aware datetime, in Asia/Shanghai (months turn at local midnight)."""
    if moment.tzinfo is None:
        raise ValueError("period_of needs an aware datetime")
    local = moment.astimezone(SHANGHAI)
    return f"{local.year % 100:02d}{local.month:02d}"


def format_number(period: str, serial: int) -> str:
    """``2611`` and ``1`` → ``26110001``; serials past 9 999 widen (``261110000``)."""
    if serial < 1:
        raise ValueError(f"serial must be positive, got {serial}")
    return f"{period}{serial:0{SERIAL_DIGITS}d}"


def next_serial(session: Session, period: str) -> int:
    """Take the next serial of ``period`` in the caller's transaction (the counter row stays locked)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ComplaintCounter).values(period=period, last_serial=0).on_conflict_do_nothing(
            index_elements=["period"]
        )
    )
    serial = session.scalar(
        sa.update(ComplaintCounter)
        .where(ComplaintCounter.period == period)
        .values(last_serial=ComplaintCounter.last_serial + 1)
        .returning(ComplaintCounter.last_serial)
        .execution_options(synchronize_session=False)
    )
    if serial is None:  # the row was inserted above or existed; only a concurrent DELETE could do this
        raise RuntimeError(f"complaint counter {period} vanished")
    return int(serial)


def next_complaint_number(session: Session, at: dt.datetime) -> str:
    """The next complaint number for the month (Asia/Shanghai) of ``at``, e.g. ``26110001``."""
    period = period_of(at)
    return format_number(period, next_serial(session, period))
