"""The company's calendar exceptions (公司例外) in the database, and the `WorkCalendar` built from them.

`handlers.sla.calendar.WorkCalendar` knows China's official calendar; the ``calendar_exception`` table holds
the days the company decides otherwise (``tousu calendar set``/``import``, later the console). Every
deadline computation goes through `load_calendar`, so a change is in force for the next operation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.sla.calendar import DEFAULT_END_OF_DAY, WorkCalendar
from storage.models import CalendarException

WORK_WORDS = frozenset({"work", "working", "workday", "on", "上班", "工作日", "补班", "1", "true"})
OFF_WORDS = frozenset({"off", "rest", "holiday", "休息", "放假", "休", "0", "false"})

@dataclass(frozen=True)
class CalendarRules:
    """How the company counts working days, from tousu.toml: when "N 个工作日内" ends (``[sla] end_of_day``)
    and which years' 调休 it entered itself (``[calendar] confirmed_years``)."""

    end_of_day: dt.time = DEFAULT_END_OF_DAY
    confirmed_years: frozenset[int] = frozenset()


class CalendarImportError(ValueError):
    """A calendar exception file (CSV of date,work|off,note) has a bad line; names the line."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"第 {line} 行：{reason}")


_calendars: dict[tuple[Any, ...], WorkCalendar] = {}
_calendars_lock = threading.Lock()


def exception_rows(session: Session) -> list[tuple[dt.date, bool, str | None]]:
    """Every company exception as ``(date, is_working_day, note)``, oldest first."""
    rows = session.execute(
        sa.select(CalendarException.date, CalendarException.is_working_day, CalendarException.note).order_by(
            CalendarException.date
        )
    )
    return [(day, bool(working), note) for day, working, note in rows]


def load_calendar(session: Session, rules: CalendarRules | None = None) -> WorkCalendar:
    """The company calendar: China's official working days with the company's exceptions from the database.

    The one loader every promise and deadline is counted on (intake's 人工 call-back, the acknowledgement,
    the workflow's deadlines, the CLI). Calendars are shared while the exceptions and rules stay the same:
    a `WorkCalendar` precomputes each year on first use, and rebuilding it for every operation would
    repeat that work.
    """
    conf = rules or CalendarRules()
    rows = tuple(exception_rows(session))
    key = (rows, conf.end_of_day, conf.confirmed_years)
    with _calendars_lock:
        found = _calendars.get(key)
    if found is not None:
        return found
    calendar = WorkCalendar.from_rows(rows, end_of_day=conf.end_of_day, confirmed_years=conf.confirmed_years)
    with _calendars_lock:
        if len(_calendars) > 32:
            _calendars.clear()
        _calendars[key] = calendar
    return calendar


def parse_work_or_off(value: str) -> bool:
    """``work``/``上班`` → True, ``off``/``休息`` → False; ValueError for anything else."""
    word = value.strip().lower()
    if word in WORK_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise ValueError(f"expected work or off, got {value!r}")


@dataclass
class ExceptionChange:
    """What `set_exception` did to one day: added, updated or unchanged, with the old value."""

    date: dt.date
    outcome: str  # added, updated, unchanged, removed, absent
    before: tuple[bool, str | None] | None = None
    after: tuple[bool, str | None] | None = None


def set_exception(session: Session, day: dt.date, is_working_day: bool, note: str | None = None) -> ExceptionChange:
    """Declare ``day`` a working day or a day off for the company (insert or update). Flushes."""
    note = (note or "").strip() or None
    row = session.get(CalendarException, day)
    if row is None:
        session.add(CalendarException(date=day, is_working_day=is_working_day, note=note))
        session.flush()
        return ExceptionChange(day, "added", None, (is_working_day, note))
    before = (row.is_working_day, row.note)
    if before == (is_working_day, note):
        return ExceptionChange(day, "unchanged", before, before)
    row.is_working_day = is_working_day
    row.note = note
    session.flush()
    return ExceptionChange(day, "updated", before, (is_working_day, note))


def remove_exception(session: Session, day: dt.date) -> ExceptionChange:
    """Drop the company's exception for ``day`` (the official calendar applies again). Flushes."""
    row = session.get(CalendarException, day)
    if row is None:
        return ExceptionChange(day, "absent")
    before = (row.is_working_day, row.note)
    session.delete(row)
    session.flush()
    return ExceptionChange(day, "removed", before, None)


@dataclass
class ImportReport:
    changes: list[ExceptionChange] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for change in self.changes if change.outcome == outcome)


def parse_exception_csv(text: str) -> list[tuple[dt.date, bool, str | None]]:
    """Read ``date,work|off,note`` lines (a header line is allowed; ``#`` starts a comment line).

    The whole file is checked before anything is written: a bad line raises `CalendarImportError`
    naming its line number, and a date given twice with different values is refused.
    """
    rows: list[tuple[dt.date, bool, str | None]] = []
    seen: dict[dt.date, tuple[int, bool]] = {}
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    for index, record in enumerate(reader, start=1):
        cells = [cell.strip() for cell in record]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if index == 1 and cells[0].lower() in {"date", "日期"}:
            continue
        if len(cells) < 2:
            raise CalendarImportError(index, "每行应为 日期,work|off,备注")
        try:
            day = dt.date.fromisoformat(cells[0])
        except ValueError:
            raise CalendarImportError(index, f"日期应为 YYYY-MM-DD，而不是 {cells[0]!r}") from None
        try:
            working = parse_work_or_off(cells[1])
        except ValueError:
            raise CalendarImportError(index, f"第二列应为 work（上班）或 off（休息），而不是 {cells[1]!r}") from None
        if day in seen and seen[day][1] != working:
            raise CalendarImportError(index, f"{day} 与第 {seen[day][0]} 行矛盾")
        seen[day] = (index, working)
        note = ",".join(cells[2:]).strip() or None
        rows.append((day, working, note))
    return rows


def import_exceptions(session: Session, rows: Iterable[tuple[dt.date, bool, str | None]]) -> ImportReport:
    """Upsert many exceptions (idempotent: importing the same file twice changes nothing). Flushes."""
    report = ImportReport()
    for day, working, note in rows:
        report.changes.append(set_exception(session, day, working, note))
    return report


__all__ = [
    "CalendarImportError",
    "CalendarRules",
    "ExceptionChange",
    "ImportReport",
    "exception_rows",
    "import_exceptions",
    "load_calendar",
    "parse_exception_csv",
    "parse_work_or_off",
    "remove_exception",
    "set_exception",
]
