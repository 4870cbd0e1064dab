"""`tousu api-token`: bearer tokens of the REST API (/api/v1) for other systems.

    tousu api-token create --name hotline --role office --department complaints_office   # prints the token once
    tousu api-token list
    tousu api-token revoke hotline

Roles (--role) are the console's: admin · management · office · handler · viewer; office, handler and
viewer need --department. A token acts as a member of staff of its own with that role, so it may see and
do exactly what a console user of that role and department may (see handlers/api_tokens.py).
"""

from __future__ import annotations

import click

from bot.commands import cli_session, fail
from handlers import api_tokens
from handlers.accounts import AccountError
from handlers.workflow.scope import CONSOLE_ROLE_LABELS, ConsoleRole, console_role
from storage.base import SHANGHAI
from storage.base import utcnow as _utcnow
from storage.models import Department


@click.group("api-token")
def api_token() -> None:
    """REST API tokens: create, list, revoke."""


@api_token.command("create")
@click.option("--name", required=True, help="令牌名称（如 hotline、oa、12345），也是时间线上显示的操作人")
@click.option("--role", required=True, type=click.Choice([r.value for r in ConsoleRole]),
              help="admin · management · office · handler · viewer")
@click.option("--department", default=None, help="部门代码或名称（office、handler、viewer 必填）")
def create(name: str, role: str, department: str | None) -> None:
    """Make a token; it is printed once, only its hash is kept."""
    try:
        with cli_session() as session:
            made = api_tokens.create_token(session, name=name, role=ConsoleRole(role), department=department,
                                           now=_utcnow())
    except AccountError as exc:
        fail(exc)
        return
    click.echo(f"已创建令牌 {name}（{CONSOLE_ROLE_LABELS[ConsoleRole(role)]}）。令牌只显示这一次，请妥善保存：")
    click.echo(made.secret)


@api_token.command("list")
def list_() -> None:
    """Every token: name, role, department, created, last used, revoked."""
    with cli_session() as session:
        rows = api_tokens.list_tokens(session)
        if not rows:
            click.echo("（没有令牌）")
        for row in rows:
            role = console_role(session, row.staff)
            department = session.get(Department, row.staff.department_id) if row.staff.department_id else None
            used = row.last_used_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if row.last_used_at else "从未使用"
            state = f"已吊销 {row.revoked_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if row.revoked_at else "有效"
            created = row.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            click.echo(f"{row.name}\t{row.prefix}…\t{CONSOLE_ROLE_LABELS[role] if role else '无角色'}\t"
                       f"{department.code if department else '—'}\t创建 {created}\t最近使用 {used}\t{state}")


@api_token.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke a token at once: every request with it is refused from now on (401)."""
    try:
        with cli_session() as session:
            api_tokens.revoke_token(session, name, now=_utcnow())
    except AccountError as exc:
        fail(exc)
        return
    click.echo(f"已吊销令牌 {name}")
