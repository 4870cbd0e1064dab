"""Domain CLI groups (`tousu menu`, `tousu org`, `tousu calendar`), registered in bot/cli.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from sqlalchemy.orm import Session

from bot.config import ConfigError, Settings, load_settings
from storage.db import Database


def settings_or_exit() -> Settings:
    """The settings, or exit 2 after printing the one line that names the bad setting."""
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"tousu: configuration error: {exc}", err=True)
        sys.exit(2)


@contextmanager
def cli_session() -> Iterator[Session]:
    """One transaction on the configured database for a command (committed at the end, rolled back on error)."""
    database = Database(settings_or_exit().database_url)
    try:
        with database.transaction() as session:
            yield session
    finally:
        database.dispose()


def fail(exc: Exception) -> NoReturn:
    """Exit 2 after printing the refusal as one line."""
    click.echo(f"tousu: {exc}", err=True)
    sys.exit(2)
