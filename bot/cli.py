"""The `tousu` command: serve, worker, db, simulate (and the domain commands added by later work)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bot import LOG_FORMAT
from bot.commands import settings_or_exit
from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN, ConfigError

_settings = settings_or_exit


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # A line every 5 s per job drowns the one line per message that matters.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """投诉通 tousu: a complaint-handling closed loop run through a WeChat Official Account."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not run the scheduler in this process (use `tousu worker`).")
def serve(host: str, port: int, no_scheduler: bool) -> None:
    """Serve the web app (development server; production runs gunicorn, see README)."""
    from bot import create_app
    from bot.runtime import Runtime

    _configure_logging()
    settings = _settings()
    try:
        app = create_app()
    except ConfigError as exc:
        click.echo(f"tousu: configuration error: {exc}", err=True)
        sys.exit(2)
    rt: Runtime = app.extensions["tousu"]
    scheduler = None
    if not no_scheduler:
        from scheduler import build_scheduler

        scheduler = build_scheduler(rt.db, settings)
        scheduler.start()
    if settings.dev:
        click.echo(f" * 模拟器 simulator: http://{host}:{port}/dev/simulator")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False, debug=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@main.command()
def worker() -> None:
    """Run the scheduler on its own (outbox dispatch, SLA sweeps, surveys, reports)."""
    from scheduler import build_scheduler
    from storage.db import Database

    _configure_logging()
    settings = _settings()
    scheduler = build_scheduler(Database(settings.database_url), settings, blocking=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        click.echo("tousu worker: stopped")


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema (safe to run again)."""
    from storage import migrate
    from storage.db import Database

    settings = _settings()
    database = Database(settings.database_url)
    before = migrate.current_revision(database.engine)
    migrate.upgrade(database.engine, revision)
    after = migrate.current_revision(database.engine)
    click.echo(f"database {database.engine.url.render_as_string(hide_password=True)}: "
               + (f"already at {after}" if before == after else f"migrated {before or 'empty'} -> {after}"))


@db.command("backup")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=Path("backups"),
              show_default=True, help="Folder the backup folder is made in.")
def db_backup(to: Path) -> None:
    """Back up the database (SQLite online backup / pg_dump custom format) and the evidence files."""
    from storage.backup import BackupError, backup
    from storage.db import Database

    settings = _settings()
    database = Database(settings.database_url)
    try:
        folder, manifest = backup(database.engine, settings.attachment_dir, to, now=dt.datetime.now(dt.UTC))
    except BackupError as exc:
        click.echo(f"tousu: backup failed: {exc}", err=True)
        sys.exit(1)
    finally:
        database.dispose()
    figures = ", ".join(f"{table} {n}" for table, n in manifest.counts.items())
    click.echo(f"backup {folder}: {manifest.dialect} database at {manifest.revision} ({figures}); "
               f"{len(manifest.files)} evidence files")


@db.command("restore")
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def db_restore(backup_dir: Path) -> None:
    """Restore a backup into the EMPTY database of DATABASE_URL and its files into TOUSU_ATTACHMENT_DIR."""
    from storage.backup import BackupError, restore
    from storage.db import Database

    settings = _settings()
    database = Database(settings.database_url)
    try:
        manifest = restore(database.engine, settings.attachment_dir, backup_dir)
    except BackupError as exc:
        click.echo(f"tousu: restore refused: {exc}", err=True)
        sys.exit(1)
    finally:
        database.dispose()
    figures = ", ".join(f"{table} {n}" for table, n in manifest.counts.items())
    click.echo(f"restored {backup_dir} (made {manifest.created_at}, {manifest.revision}): {figures}; "
               f"{len(manifest.files)} evidence files checked; run `tousu db upgrade` next")


@db.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """(Developers) autogenerate a migration from the models."""
    from storage import migrate

    migrate.make_revision(_settings().database_url, message)


@main.command()
@click.option("--url", default="http://127.0.0.1:5000", show_default=True,
              help="The running tousu server (after `make run PORT=8080`: http://127.0.0.1:8080).")
@click.option("--openid", default=None, help="Act as this follower (default: a new one).")
@click.option("--mode", type=click.Choice(["safe", "compat", "plain"]), default="safe", show_default=True)
@click.option("--token", envvar="WECHAT_TOKEN", default=DEV_WECHAT_TOKEN, show_default="$WECHAT_TOKEN, else dev",
              help="The server's WeChat Token.")
@click.option("--aes-key", envvar="WECHAT_AES_KEY", default=None, show_default="$WECHAT_AES_KEY, else dev",
              help="The server's EncodingAESKey; none means plaintext mode.")
@click.option("--appid", envvar="WECHAT_APPID", default=DEV_APPID, show_default="$WECHAT_APPID, else dev")
def simulate(url: str, openid: str | None, mode: str, token: str, aes_key: str | None, appid: str) -> None:
    """Chat with a running server as a WeChat follower would, in the terminal.

    Type a message and press Enter (try 投诉, 查询, 常见问题). Commands: /subscribe, /unsubscribe,
    /click KEY, /image, /voice TEXT, /location ADDRESS, /quit.

    It signs as WeChat's servers do, with the server's keys: from the environment (WECHAT_TOKEN,
    WECHAT_AES_KEY, WECHAT_APPID) like the server, else the built-in dev keys `make run` serves with. It
    needs nothing else (no SECRET_KEY, database or policy file): it only talks HTTP to the server.
    """
    import requests

    from bot.wechat_sim import WeChatSide

    if aes_key is None and token == DEV_WECHAT_TOKEN:
        aes_key = DEV_AES_KEY
    side = WeChatSide(token, aes_key, appid)
    if aes_key is None and mode != "plain":
        mode = "plain"
    user = openid or f"oSIM{uuid.uuid4().hex[:20]}"
    click.echo(f"模拟用户 {user} → {url}/wechat（{mode}）。输入 /quit 退出。")
    actions: dict[str, Callable[[str], str]] = {
        "/subscribe": lambda _arg: side.event(user, "subscribe"),
        "/unsubscribe": lambda _arg: side.event(user, "unsubscribe"),
        "/click": lambda arg: side.event(user, "CLICK", key=arg or "COMPLAIN"),
        "/image": lambda _arg: side.image(user, media_id=f"sim-media-{uuid.uuid4().hex[:12]}"),
        "/voice": lambda arg: side.voice(user, media_id=f"sim-voice-{uuid.uuid4().hex[:12]}", recognition=arg or None),
        "/location": lambda arg: side.location(user, 34.62, 112.45, arg or "河南省洛阳市涧西区"),
    }
    while True:
        try:
            line = input("我> ")
        except EOFError:
            break
        if not line.strip():
            continue
        if line.strip() == "/quit":
            break
        command, _, arg = line.strip().partition(" ")
        xml = actions[command](arg) if command in actions else side.text(user, line)
        signed = side.sign(xml, mode, openid=user)  # type: ignore[arg-type]
        try:
            response = requests.post(f"{url.rstrip('/')}/wechat", params=signed.params, data=signed.body,
                                     timeout=10, headers={"Content-Type": "text/xml"})
        except requests.RequestException as exc:
            click.echo(f"（无法连接服务器：{exc.__class__.__name__}，请先运行 make run）")
            continue
        if not response.ok:
            click.echo(f"（服务器返回 {response.status_code}）")
            continue
        reply: dict[str, Any] = side.open_reply(response.content)
        click.echo(f"公众号> {reply.get('Content', '（无回复）')}")
        time.sleep(0.05)



# Domain command groups live beside the code they drive; registered here, after `main` exists.
from bot.commands.api_token import api_token  # noqa: E402
from bot.commands.calendar import calendar  # noqa: E402
from bot.commands.menu import menu  # noqa: E402
from bot.commands.org import org  # noqa: E402
from bot.commands.records import records  # noqa: E402
from bot.commands.report import report  # noqa: E402
from bot.commands.user import user  # noqa: E402

main.add_command(api_token)
main.add_command(calendar)
main.add_command(menu)
main.add_command(org)
main.add_command(records)
main.add_command(report)
main.add_command(user)


if __name__ == "__main__":
    main()
