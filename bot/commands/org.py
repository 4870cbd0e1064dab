"""`tousu org sync`: load the org chart of tousu.toml into the database (idempotent, reports changes)."""

from __future__ import annotations

import click

from bot.commands import settings_or_exit
from handlers.org import sync_org
from storage.db import Database


@click.group()
def org() -> None:
    """The org chart (departments, lead offices, staff, roles, heads)."""


@org.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would change without writing it.")
def sync(dry_run: bool) -> None:
    """Make the database match [org] in tousu.toml: add, update, deactivate (never delete)."""
    settings = settings_or_exit()
    database = Database(settings.database_url)
    try:
        with database.sessions() as session:
            report = sync_org(session, settings.policy.org)  # [org] was checked when the settings loaded
            if dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        database.dispose()
    for line in report.lines():
        click.echo(line)
    if dry_run and report.changed:
        click.echo("（演练模式，未写入）")
