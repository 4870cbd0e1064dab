"""`tousu calendar`: the working-day calendar (China's official one, 调休 included, plus company exceptions).

    tousu calendar show 2026-02
    tousu calendar due --from "2026-02-13 10:00" --workdays 15
    tousu calendar set 2027-02-06 work --note "春节调休上班"
    tousu calendar unset 2027-02-06
    tousu calendar import exceptions.csv      # lines of date,work|off,note

Company exceptions live in the ``calendar_exception`` table, so every process (web, worker, CLI) counts
deadlines on the same calendar.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.commands import settings_or_exit
from handlers.sla.calendar import SHANGHAI, WorkCalendar
from handlers.sla.calendar_store import (
    CalendarImportError,
    CalendarRules,
    import_exceptions,
    load_calendar,
    parse_exception_csv,
    parse_work_or_off,
    remove_exception,
    set_exception,
)
from storage.db import Database

_WEEKDAYS = "一二三四五六日"
_OUTCOMES = {"added": "已添加", "updated": "已更新", "unchanged": "无变化", "removed": "已删除", "absent": "本无例外"}


_settings = settings_or_exit


@contextmanager
def _transaction() -> Iterator[tuple[Session, CalendarRules]]:
    settings = _settings()
    conf = settings.policy.calendar
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            yield session, conf
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if "calendar_exception" not in str(exc):
            raise
        click.echo("tousu: the database has no calendar table yet: run `tousu db upgrade`", err=True)
        sys.exit(2)
    finally:
        database.dispose()


def _calendar() -> WorkCalendar:
    with _transaction() as (session, conf):
        return load_calendar(session, conf)


def _parse_month(value: str) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        dt.date(year, month, 1)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from None
    return year, month


def _parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def _parse_moment(value: str) -> dt.datetime:
    """ISO 8601; a time without offset is Asia/Shanghai (what a clerk types), never UTC."""
    text = value.strip().replace("/", "-")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"expected \"YYYY-MM-DD HH:MM\" (Asia/Shanghai), got {value!r}") from None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment


def _warn_unconfirmed(calendar: WorkCalendar, years: set[int]) -> None:
    for year in sorted(years):
        if not calendar.is_confirmed(year):
            click.echo(
                f"注意：{year} 年的节假日安排尚未公布（或未收录），按推定计算，公布后请核对"
                f"（可用 tousu calendar set/import 录入）。", err=True,
            )


@click.group()
def calendar() -> None:
    """Working-day calendar: show a month, compute a due moment, set company exceptions."""


@calendar.command("show")
@click.argument("month")
def show(month: str) -> None:
    """Show every day of MONTH (YYYY-MM): working day or not, and why."""
    year, number = _parse_month(month)
    cal = _calendar()
    days = cal.month(year, number)
    status = "已公布" if cal.is_confirmed(year) else "推定（尚未公布，请核对）"
    click.echo(f"{year}年{number}月 工作日历　{year} 年安排：{status}")
    for info in days:
        mark = "班" if info.is_working_day else "休"
        click.echo(f"{info.day.isoformat()}  周{_WEEKDAYS[info.day.weekday()]}  {mark}  {info.reason}")
    working = sum(1 for info in days if info.is_working_day)
    click.echo(f"工作日 {working} 天，休息日 {len(days) - working} 天")


@calendar.command("due")
@click.option("--from", "start", required=True,
              help="When the clock starts, e.g. \"2026-02-13 10:00\" (Asia/Shanghai).")
@click.option("--workdays", type=click.IntRange(min=1), default=None, help="N 个工作日内")
@click.option("--hours", type=click.FloatRange(min=0, min_open=True), default=None, help="N 小时内 (clock hours)")
def due(start: str, workdays: int | None, hours: float | None) -> None:
    """Print the due moment (ISO 8601, +08:00) of a limit starting at --from."""
    if (workdays is None) == (hours is None):
        raise click.UsageError("give exactly one of --workdays or --hours")
    moment = _parse_moment(start)
    cal = _calendar()
    result = cal.add_working_days(moment, workdays) if workdays is not None else cal.add_hours(moment, hours or 0)
    _warn_unconfirmed(cal, {moment.astimezone(SHANGHAI).year, result.year})
    click.echo(result.astimezone(SHANGHAI).isoformat())


@calendar.command("set")
@click.argument("day")
@click.argument("kind")
@click.option("--note", default=None, help="Why (shown in `calendar show`), e.g. \"公司年会放假\".")
def set_day(day: str, kind: str, note: str | None) -> None:
    """Declare DAY (YYYY-MM-DD) a company working day (work) or day off (off)."""
    date = _parse_day(day)
    try:
        working = parse_work_or_off(kind)
    except ValueError:
        raise click.BadParameter(f"expected work or off, got {kind!r}", param_hint="KIND") from None
    with _transaction() as (session, _conf):
        change = set_exception(session, date, working, note)
    click.echo(f"{date.isoformat()} 设为{'上班' if working else '休息'}"
               f"{f'（{change.after[1]}）' if change.after and change.after[1] else ''}：{_OUTCOMES[change.outcome]}")


@calendar.command("unset")
@click.argument("day")
def unset_day(day: str) -> None:
    """Remove the company exception for DAY (the official calendar applies again)."""
    date = _parse_day(day)
    with _transaction() as (session, _conf):
        change = remove_exception(session, date)
    click.echo(f"{date.isoformat()}：{_OUTCOMES[change.outcome]}")


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_file(file: Path) -> None:
    """Import company exceptions from a CSV file of date,work|off,note (checked whole before writing)."""
    try:
        rows = parse_exception_csv(file.read_text(encoding="utf-8-sig"))
    except CalendarImportError as exc:
        click.echo(f"tousu: {file}: {exc}", err=True)
        sys.exit(1)
    with _transaction() as (session, _conf):
        report = import_exceptions(session, rows)
    click.echo(f"导入 {len(rows)} 行：新增 {report.count('added')}，更新 {report.count('updated')}，"
               f"无变化 {report.count('unchanged')}")
