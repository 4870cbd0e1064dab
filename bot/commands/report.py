"""`tousu report`: build a period report (统计报表) by hand, as the worker does on the 1st for the month.

    tousu report monthly 2026-11              # build (or show) November's report
    tousu report monthly 2026-11 --rebuild    # count again now (the stored figures are replaced)
    tousu report monthly 2026-11 --notify     # and queue management's WeCom card if it was not queued yet
    tousu report quarterly 2026-Q3
    tousu report yearly 2026 --xlsx 2026.xlsx # also write the Excel workbook
    tousu report refresh-facts                # rebuild every complaint's KPI facts (after a restore or a load in SQL)

The report is stored (one per period) and shown in the console at /console/stats/reports/<kind>/<period>.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import sqlalchemy as sa

from bot.commands import settings_or_exit
from handlers.stats.periods import PeriodError, PeriodKind, parse_period
from handlers.stats.report import REPORT_PATH, ensure_report, notify_management
from storage.db import Database

_KINDS: dict[str, PeriodKind] = {"monthly": "month", "quarterly": "quarter", "yearly": "year"}


@click.group()
def report() -> None:
    """Statistics reports (统计报表): monthly, quarterly, yearly."""


def _run(kind: str, value: str, rebuild: bool, notify: bool, xlsx: Path | None) -> None:
    try:
        period = parse_period(value, kind=_KINDS[kind])
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="PERIOD") from None
    settings = settings_or_exit()
    database = Database(settings.database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        with database.transaction() as session:
            row, built = ensure_report(session, period, policy=settings.policy, now=now, rebuild=rebuild)
            told = notify_management(session, row, now=now) if notify else 0
            data = dict(row.data)
    finally:
        database.dispose()
    figures = {f["key"]: f["value"] for f in data["current"]["figures"]}
    click.echo(f"{period.kind} {period.key}: {'built now' if built else 'already built'} "
               f"(counted at {data['built_at']})")
    click.echo("  " + ", ".join(f"{key}={figures[key]}" for key in (
        "received", "closed", "closure_rate", "response_rate", "on_time_rate", "satisfaction_rate",
        "average_score", "repeat_rate", "overdue", "unrated")))
    if notify:
        click.echo(f"  management card: {'queued for ' + str(told) + ' people' if told else 'already queued'}")
    click.echo(f"  console: {REPORT_PATH.format(kind=period.kind, period=period.key)}")
    if xlsx is not None:
        from bot.console.stats_workbook import report_workbook

        xlsx.write_bytes(report_workbook(data, company=settings.policy.company.name,
                                         category_label=settings.policy.category_label))
        click.echo(f"  workbook: {xlsx}")


_PERIOD_HELP = {"monthly": "YYYY-MM", "quarterly": "YYYY-Qn", "yearly": "YYYY"}


def _command(kind: str) -> click.Command:
    @click.command(name=kind, help=f"Build the {kind} report of PERIOD ({_PERIOD_HELP[kind]}).")
    @click.argument("period")
    @click.option("--rebuild", is_flag=True, help="Count again now, replacing the stored figures.")
    @click.option("--notify", is_flag=True, help="Queue management's WeCom card (once per report).")
    @click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Also write the Excel workbook.")
    def command(period: str, rebuild: bool, notify: bool, xlsx: Path | None) -> None:
        _run(kind, period, rebuild, notify, xlsx)

    return command


for _kind in _KINDS:
    report.add_command(_command(_kind))


@report.command("refresh-facts")
def refresh_facts() -> None:
    """Rebuild the KPI facts of every complaint (kept by every change; this is for rows written around it)."""
    from handlers.stats.facts import rebuild_all

    settings = settings_or_exit()
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            rebuild_all(session.connection())
            count = session.scalar(sa.text("SELECT count(*) FROM kpi_fact"))
    finally:
        database.dispose()
    click.echo(f"KPI facts rebuilt for {count} complaints")

__all__ = ["report"]
