"""Statistics periods: a month, a quarter, a year or a custom range of days, in Asia/Shanghai.

A period is a half-open range of local days ``[start, end)``; its moments are the local midnights turned into
UTC (`start_utc`, `end_utc`), so a case received at 2026-10-31 23:30 +08 (15:30 UTC) belongs to October.
Keys are what URLs, the CLI and the stored reports use: ``2026-11``, ``2026-Q3``, ``2026``, and
``2026-11-03..2026-11-20`` (both days included) for a custom range.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from storage.base import SHANGHAI

PeriodKind = Literal["month", "quarter", "year", "custom"]
KINDS: tuple[PeriodKind, ...] = ("month", "quarter", "year", "custom")
MAX_CUSTOM_DAYS = 3660  # ten years: a custom range is a statistic, not a dump


class PeriodError(ValueError):
    """A period key that cannot be read; the message says what was expected."""


def _month_start(year: int, month: int) -> dt.date:
    while month > 12:
        year, month = year + 1, month - 12
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in local days; ``kind`` and ``key`` name it."""

    kind: PeriodKind
    start: dt.date
    end: dt.date  # exclusive

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}..{(self.end - dt.timedelta(days=1)).isoformat()}"

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)

    @property
    def end_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)

    def previous(self) -> Period:
        """The period just before (環比): the month, quarter or year before; a custom range of equal length."""
        if self.kind == "month":
            return month(_month_start(self.start.year, self.start.month - 1))
        if self.kind == "quarter":
            first = _month_start(self.start.year, self.start.month - 3)
            return Period("quarter", first, self.start)
        if self.kind == "year":
            return Period("year", dt.date(self.start.year - 1, 1, 1), self.start)
        length = self.end - self.start
        return Period("custom", self.start - length, self.start)

    def year_before(self) -> Period:
        """The same period one year earlier (同比)."""
        def back(day: dt.date) -> dt.date:
            try:
                return day.replace(year=day.year - 1)
            except ValueError:  # 29 February
                return day.replace(year=day.year - 1, day=28)
        return Period(self.kind, back(self.start), back(self.end))

    def months(self) -> list[Period]:
        """The calendar months the period touches (for a trend), each cut to the period."""
        found = []
        first = self.start.replace(day=1)
        while first < self.end:
            following = _month_start(first.year, first.month + 1)
            found.append(Period("month" if first >= self.start and following <= self.end else "custom",
                                max(first, self.start), min(following, self.end)))
            first = following
        return found


def month(day: dt.date) -> Period:
    first = day.replace(day=1)
    return Period("month", first, _month_start(first.year, first.month + 1))


def month_of(moment: dt.datetime) -> Period:
    """The local month ``moment`` falls in."""
    return month(moment.astimezone(SHANGHAI).date())


def last_month(moment: dt.datetime) -> Period:
    """The month before the local month of ``moment`` (what the report of the 1st covers)."""
    return month_of(moment).previous()


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|~|至)\s*(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str, kind: PeriodKind | None = None) -> Period:
    """Read a period key (see the module docstring); ``kind`` insists on one kind (the CLI's subcommands)."""
    value = (text or "").strip()
    found: Period | None = None
    try:
        if (m := _MONTH.match(value)) is not None:
            found = month(dt.date(int(m[1]), int(m[2]), 1))
        elif (m := _QUARTER.match(value)) is not None:
            first = dt.date(int(m[1]), 3 * int(m[2]) - 2, 1)
            found = Period("quarter", first, _month_start(first.year, first.month + 3))
        elif (m := _YEAR.match(value)) is not None:
            found = Period("year", dt.date(int(m[1]), 1, 1), dt.date(int(m[1]) + 1, 1, 1))
        elif (m := _RANGE.match(value)) is not None:
            start, last = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if last < start:
                raise PeriodError(f"{value!r}: the range ends before it starts")
            if (last - start).days >= MAX_CUSTOM_DAYS:
                raise PeriodError(f"{value!r}: a custom range may cover at most {MAX_CUSTOM_DAYS} days")
            found = Period("custom", start, last + dt.timedelta(days=1))
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"{value!r}: not a date") from None
    if found is None or found.start.year < 2000 or found.end.year > 2200:
        raise PeriodError(f"{value!r}: expected a month (2026-11), a quarter (2026-Q3), a year (2026) "
                          "or a range (2026-11-03..2026-11-20)")
    if kind is not None and found.kind != kind:
        raise PeriodError(f"{value!r}: expected a {kind}")
    return found
