"""`tousu records purge [--dry-run]`: destroy the closed cases whose keeping time is over AND whose destruction
management approved in the console (管理 › 档案销毁), and forget the message logs' texts older than
``[workflow].message_log_days`` (as the worker does nightly); the rules are `handlers.records`."""

from __future__ import annotations

import datetime as dt

import click

from bot.commands import settings_or_exit
from handlers.evidence import remove_files
from handlers.records import count_message_log, destroy_approved
from storage.base import SHANGHAI
from storage.db import Database


@click.group()
def records() -> None:
    """Record keeping: cases past their keeping time ([workflow].retention_years) and their destruction."""


@records.command("purge")
@click.option("--dry-run", is_flag=True, help="List what is due and what would be destroyed; change nothing.")
def purge(dry_run: bool) -> None:
    """Destroy the approved due cases: personal data and evidence files go, figures stay."""
    settings = settings_or_exit()
    years = settings.policy.workflow.retention_years
    now = dt.datetime.now(dt.UTC)
    database = Database(settings.database_url)
    try:
        with database.sessions() as session:
            report = destroy_approved(session, now=now, years=years, dry_run=dry_run)
            if dry_run:
                session.rollback()
            else:
                session.commit()
        if dry_run:
            with database.read_sessions() as session:
                logs = count_message_log(session, now=now, days=settings.policy.workflow.message_log_days)
        else:
            from scheduler.jobs import run_message_log_purge  # the worker's nightly job, batch by batch

            logs = run_message_log_purge(database, settings, now)
    finally:
        database.dispose()
    removed = 0 if dry_run else remove_files(settings.attachment_dir, report.files)
    approved = set(report.destroyed)
    for case in report.due:
        closed = case.closed_at.astimezone(SHANGHAI).date().isoformat()
        state = ("将销毁" if dry_run else "已销毁") if case.number in approved else "待批准（不销毁）"
        click.echo(f"{case.number}  办结 {closed}  {state}")
    verb = "would destroy" if dry_run else "destroyed"
    click.echo(f"{len(report.due)} cases past {years} years; {verb} {len(report.destroyed)} approved"
               + ("" if dry_run else f" ({removed} evidence files removed)")
               + f"; {len(report.waiting)} wait for management's approval")
    days = settings.policy.workflow.message_log_days
    click.echo(f"message logs older than {days} days: {'would delete' if dry_run else 'deleted'} "
               f"{logs.inbound} inbound messages and {logs.sink} dev sink messages, "
               f"{'would empty' if dry_run else 'emptied'} {logs.outbox} sent messages")
    if dry_run:
        click.echo("（演练模式，未写入）")
