"""The Chinese working-day calendar (工作日历) that every time limit is counted on.

Complaint rules say "N 个工作日内" and mean China's official calendar *including 调休*: a Saturday
that the State Council turns into a working day (调休上班) is one, a weekday inside a holiday block
is not. The `holidays` package knows those arrangements (its ``China`` class lists the substituted
days off and keeps the working weekends in ``weekend_workdays``); on top of it the company can
declare its own exceptions (公司例外, loaded by the caller from the ``calendar_exception`` table),
which win over everything.

Why precomputed years: deadlines are computed for every complaint, every reminder sweep and every
statistics run, so a day-by-day loop over the holiday dictionary is too slow. Each year is turned
once, lazily, into a bitmap and a sorted list of working-day ordinals; adding N working days is then
a ``bisect`` and an index, whatever N is.

Only the half-day group holidays (妇女节, 青年节, 儿童节, 建军节 — time off for some groups of people,
not for the company) must not count as days off, so the calendar asks the library for its
``public`` category alone.

Years for which the State Council has not yet published its arrangement are only *estimated* by the
library (it applies the statutory days and moves those falling on a weekend, without 调休); see
`WorkCalendar.is_confirmed`.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Final

import holidays
from holidays.constants import PUBLIC

from storage.base import SHANGHAI

__all__ = [
    "DEFAULT_END_OF_DAY",
    "SHANGHAI",
    "STATE_COUNCIL_CORRECTIONS",
    "DayInfo",
    "WorkCalendar",
    "local_day",
    "to_shanghai",
]


DEFAULT_END_OF_DAY: Final = time(23, 59, 59)
"""A limit of N working days runs to the end of its last day (民法典 第二百零三条: 截止时间为二十四时)."""

STATE_COUNCIL_CORRECTIONS: Final[Mapping[date, tuple[bool, str]]] = MappingProxyType({})
"""Days where `holidays.China` disagrees with the State Council: date → (is_working_day, reason).

Checked against 《国务院办公厅关于2025年部分节假日安排的通知》 (gov.cn 公报 2024 issue 11726) and
《国务院办公厅关于2026年部分节假日安排的通知》 (gov.cn 公报 2025 issue 12406): holidays 0.109 matches
both years day for day (tests/handlers/test_calendar.py checks all 730 days), so the table is empty.
If a library upgrade, or a mid-year change such as 2020's extended Spring Festival, ever disagrees
with a notice, add the day here with the notice in the reason, e.g.
``date(2026, 2, 14): (True, "调休上班（国务院办公厅关于2026年部分节假日安排的通知）")``, and pin it in
the tests.
"""

_WEEKEND: Final = frozenset({5, 6})  # Saturday, Sunday: China's weekend, as in holidays.China


def to_shanghai(moment: datetime) -> datetime:
    """Return ``moment`` as an aware datetime in Asia/Shanghai.

    Naive datetimes are refused: a naive value could be UTC (as stored) or local (as typed by staff),
    and guessing wrong moves a deadline by eight hours.
    """
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} — give a timezone (stored times are UTC)")
    return moment.astimezone(SHANGHAI)


def local_day(value: date | datetime) -> date:
    """The calendar day (in Asia/Shanghai) that ``value`` falls on; a plain date is returned as is."""
    if isinstance(value, datetime):
        return to_shanghai(value).date()
    return value


@dataclass(frozen=True, slots=True)
class DayInfo:
    """One day as the calendar sees it, for ``tousu calendar show 2026-02`` and the console.

    ``reason`` is Chinese text a clerk understands: 工作日, 周末, 春节, 调休上班, 公司例外：<note>…
    ``confirmed`` is False when the year's 调休 arrangement is the library's estimate (推定).
    """

    day: date
    is_working_day: bool
    reason: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class _Year:
    """One year precomputed: ``flags[ordinal - first_ordinal]`` is 1 for a working day."""

    year: int
    first_ordinal: int
    flags: bytes
    workdays: tuple[int, ...]  # sorted ordinals of the working days
    names: Mapping[date, str]  # the library's holiday names in this year (zh_CN), for reasons
    confirmed: bool  # the library carries this year's published 调休 arrangement


class WorkCalendar:
    """China's official working days (法定节假日 + 调休) plus the company's exceptions (公司例外).

    Read-only after construction and safe to share between threads: each year is computed once,
    under a lock, and published as an immutable object.
    """

    def __init__(
        self,
        exceptions: Mapping[date, bool] | None = None,
        *,
        notes: Mapping[date, str] | None = None,
        end_of_day: time = DEFAULT_END_OF_DAY,
        confirmed_years: Iterable[int] = (),
    ) -> None:
        """Build a calendar.

        ``exceptions`` maps a day to True (working day, 加班/补班) or False (day off, 公司放假); they
        override the official calendar. ``notes`` are their reasons for display. ``end_of_day`` is the
        time at which "the N-th working day" ends. ``confirmed_years`` lets the company mark a year as
        confirmed when it has entered that year's arrangement itself (as exceptions) before the
        library caught up.
        """
        self._exceptions: dict[date, bool] = {}
        for day, working in (exceptions or {}).items():
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"calendar exception keys must be dates, got {day!r}")
            self._exceptions[day] = bool(working)
        self._notes: dict[date, str] = dict(notes or {})
        if end_of_day.tzinfo is not None:
            raise ValueError("end_of_day is a local (Asia/Shanghai) wall-clock time; give it without tzinfo")
        self._end_of_day = end_of_day
        self._confirmed_years = frozenset(confirmed_years)
        self._years: dict[int, _Year] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[date, bool, str | None]],
        *,
        end_of_day: time = DEFAULT_END_OF_DAY,
        confirmed_years: Iterable[int] = (),
    ) -> WorkCalendar:
        """Build from ``calendar_exception(date, is_working_day, note)`` rows, as the database gives them."""
        exceptions: dict[date, bool] = {}
        notes: dict[date, str] = {}
        for day, working, note in rows:
            exceptions[day] = working
            if note:
                notes[day] = note
        return cls(exceptions, notes=notes, end_of_day=end_of_day, confirmed_years=confirmed_years)

    @property
    def end_of_day(self) -> time:
        """Local time at which a working day ends for "N 个工作日内" limits."""
        return self._end_of_day

    # -- precomputation -------------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is not None:
            return found
        with self._lock:
            found = self._years.get(year)
            if found is None:
                found = self._build_year(year)
                self._years[year] = found
        return found

    def _build_year(self, year: int) -> _Year:
        # The next year is loaded too: a notice can make a late-December weekend of the previous
        # year a working day (e.g. 2001-12-29 for 2002's New Year), and the library files it there.
        lib = holidays.China(years=(year, year + 1), categories=(PUBLIC,), language="zh_CN")
        first = date(year, 1, 1)
        n_days = (date(year + 1, 1, 1) - first).days if year < 9999 else 365
        flags = bytearray(n_days)
        workdays: list[int] = []
        for offset in range(n_days):
            day = first + timedelta(days=offset)
            working = lib.is_working_day(day)
            correction = STATE_COUNCIL_CORRECTIONS.get(day)
            if correction is not None:
                working = correction[0]
            if day in self._exceptions:
                working = self._exceptions[day]
            if working:
                flags[offset] = 1
                workdays.append(first.toordinal() + offset)
        names = {day: name for day, name in lib.items() if day.year == year}
        # A year is "published" when the library carries its 调休 data: working weekends or days
        # off substituted for them. Every year 2001–2026 has some; estimated years have none.
        confirmed = any(d.year == year for d in lib.weekend_workdays) or any("调休" in name for name in names.values())
        return _Year(
            year=year,
            first_ordinal=first.toordinal(),
            flags=bytes(flags),
            workdays=tuple(workdays),
            names=MappingProxyType(names),
            confirmed=confirmed,
        )

    # -- questions about days --------------------------------------------------------------------

    def is_working_day(self, day: date | datetime) -> bool:
        """True if ``day`` (a date, or an aware datetime taken in Asia/Shanghai) is a working day."""
        d = local_day(day)
        y = self._year(d.year)
        return y.flags[d.toordinal() - y.first_ordinal] == 1

    def is_confirmed(self, year: int) -> bool:
        """True if ``year`` follows a published State Council arrangement (not the library's 推定).

        Detected from the library's data: a year whose notice is in the library has 调休 — working
        weekends (``weekend_workdays``) and the days off substituted for them. A year without any is
        an estimate: statutory days only, weekend holidays moved to the next weekday. The company can
        also confirm a year itself (``confirmed_years``) after entering its arrangement as exceptions.
        """
        return year in self._confirmed_years or self._year(year).confirmed

    def next_working_day(self, day: date | datetime) -> date:
        """The first working day strictly after ``day``."""
        return self.working_day_after(day, 1)

    def working_day_after(self, day: date | datetime, n: int) -> date:
        """The ``n``-th working day strictly after ``day`` (``day`` itself is never counted), n ≥ 1.

        O(log 366) per year crossed: ``bisect`` into the year's sorted working days.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1 working day, got {n}")
        d = local_day(day)
        year = d.year
        y = self._year(year)
        i = bisect_right(y.workdays, d.toordinal())
        remaining = n
        while True:
            available = len(y.workdays) - i
            if remaining <= available:
                return date.fromordinal(y.workdays[i + remaining - 1])
            remaining -= available
            year += 1
            y = self._year(year)
            i = 0

    def working_days_between(self, start_day: date | datetime, end_day: date | datetime) -> int:
        """How many working days lie in (start_day, end_day] — the start day is not counted.

        So ``working_days_between(d, working_day_after(d, n)) == n``. Reversed arguments give the
        negative count, which reads naturally as "working days overdue".
        """
        a, b = local_day(start_day), local_day(end_day)
        if b < a:
            return -self.working_days_between(b, a)
        ya, yb = self._year(a.year), self._year(b.year)
        after_a = bisect_right(ya.workdays, a.toordinal())
        upto_b = bisect_right(yb.workdays, b.toordinal())
        if a.year == b.year:
            return upto_b - after_a
        middle = sum(len(self._year(year).workdays) for year in range(a.year + 1, b.year))
        return len(ya.workdays) - after_a + middle + upto_b

    # -- arithmetic on moments -------------------------------------------------------------------

    def add_working_days(self, start: datetime, n: int, *, end_of_day: time | None = None) -> datetime:
        """The deadline for "``n`` 个工作日内" when the clock starts at ``start``.

        It is the end of the ``n``-th working day after the day ``start`` falls on in Asia/Shanghai;
        that day is not counted, whatever the hour and whether or not it is a working day (民法典
        第二百零一条: 按照年、月、日计算期间的，开始的当日不计入). Returns an aware Asia/Shanghai datetime.
        """
        local = to_shanghai(start)
        due_day = self.working_day_after(local.date(), n)
        return datetime.combine(due_day, end_of_day or self._end_of_day, tzinfo=SHANGHAI)

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` clock hours (小时按自然时间计), in Asia/Shanghai.

        Computed in UTC so it stays right even for historic dates with a DST offset.
        """
        utc = to_shanghai(start).astimezone(UTC)
        return (utc + timedelta(hours=hours)).astimezone(SHANGHAI)

    # -- display -----------------------------------------------------------------------------

    def day_info(self, day: date | datetime) -> DayInfo:
        """One day with the reason it is (not) a working day, in Chinese."""
        d = local_day(day)
        y = self._year(d.year)
        working = y.flags[d.toordinal() - y.first_ordinal] == 1
        return DayInfo(
            day=d,
            is_working_day=working,
            reason=self._reason(d, working, y),
            confirmed=self.is_confirmed(d.year),
        )

    def month(self, year: int, month: int) -> list[DayInfo]:
        """Every day of one month, for ``tousu calendar show 2026-02``."""
        first = date(year, month, 1)
        days: list[DayInfo] = []
        day = first
        while day.month == month:
            days.append(self.day_info(day))
            day += timedelta(days=1)
        return days

    def _reason(self, day: date, working: bool, y: _Year) -> str:
        if day in self._exceptions:
            note = self._notes.get(day)
            return f"公司例外：{note}" if note else ("公司例外：上班" if working else "公司例外：休息")
        correction = STATE_COUNCIL_CORRECTIONS.get(day)
        if correction is not None:
            return correction[1]
        weekend = day.weekday() in _WEEKEND
        if working:
            return "调休上班" if weekend else "工作日"
        name = y.names.get(day)
        if name is not None and "调休" not in name:
            return name.replace("; ", "、")  # two holidays on one day (2028-10-03: 中秋节、国庆节)
        # A weekend or a substituted day off (休息日（由 2026-02-14 调休）) inside a holiday block:
        # say which holiday it belongs to, so "2/21 周末" reads as part of the Spring Festival.
        festival = self._block_festival(day)
        plain = name or "周末"
        return f"{festival}假期 · {plain}" if festival else plain

    def _block_festival(self, day: date) -> str | None:
        """The holiday(s) a weekend or substituted day off belongs to: those named in its block.

        The block is the run of consecutive days off around ``day``; 2025-10-07 lies in the joint
        国庆节、中秋节 block, 2026-02-21 in the 春节 one. It may cross New Year (2023-12-30 → 2024-01-01).
        """
        found: dict[date, str] = {}
        for step in (-1, 1):
            cursor = day
            for _ in range(12):
                cursor += timedelta(days=step)
                if self.is_working_day(cursor):
                    break
                name = self._year(cursor.year).names.get(cursor)
                if name and "调休" not in name:
                    festival = name.split("（")[0]  # drop （补假）/（推定）
                    found[cursor] = "春节" if festival == "农历除夕" else festival
        festivals: list[str] = []
        for _, festival in sorted(found.items()):
            for part in festival.split("; "):  # the library joins two holidays on one day with "; "
                if part not in festivals:
                    festivals.append(part)
        return "、".join(festivals) or None
