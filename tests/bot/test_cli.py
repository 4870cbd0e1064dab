"""The `tousu` command: what it lists and that `db upgrade` is idempotent."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "worker", "db", "simulate"):
        assert command in result.output


def test_serve_has_host_port_and_no_scheduler_options():
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert "--host" in result.output and "--port" in result.output and "--no-scheduler" in result.output


def test_db_upgrade_twice(tmp_path, monkeypatch):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    first = CliRunner().invoke(main, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "migrated empty ->" in first.output
    second = CliRunner().invoke(main, ["db", "upgrade"])
    assert second.exit_code == 0
    assert "already at" in second.output
