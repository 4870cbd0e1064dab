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


def test_simulate_chats_with_a_running_server(live_server, monkeypatch, tmp_path):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["simulate", "--url", live_server.url, "--openid", "oSIMcli000000001"],
        input="/subscribe\n投诉\n/image\n/quit\n",
    )
    assert result.exit_code == 0, result.output
    replies = [line.split("公众号> ", 1)[1] for line in result.output.splitlines() if "公众号> " in line]
    assert len(replies) == 3
    assert "欢迎关注" in replies[0]
    assert "开始登记投诉" in replies[1]
    assert "请选择投诉类型" in result.output
    assert "已收到图片" in replies[2]


def test_simulate_says_when_no_server_answers(monkeypatch, tmp_path):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["simulate", "--url", "http://127.0.0.1:9"], input="你好\n")
    assert result.exit_code == 0
    assert "无法连接服务器" in result.output
