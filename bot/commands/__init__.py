"""Domain CLI groups (`tousu menu`, `tousu org`, `tousu calendar`), registered in bot/cli.py."""

from __future__ import annotations

import sys

import click

from bot.config import ConfigError, Settings, load_settings


def settings_or_exit() -> Settings:
    """The settings, or exit 2 after printing the one line that names the bad setting."""
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"tousu: configuration error: {exc}", err=True)
        sys.exit(2)
