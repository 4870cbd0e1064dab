"""`tousu user`: console accounts (工作台账号).

    tousu user create --name 管理员 --role admin --login admin              # the first admin
    tousu user create --name 李娜                                         # a person of the org chart
    tousu user create --name 王芳 --role viewer --department sales         # not in the org chart: made here
    tousu user passwd admin        tousu user disable liu.yang        tousu user enable liu.yang
    tousu user unlock li.na        tousu user list
    echo "$PASSWORD" | tousu user create --name 管理员 --role admin --login admin --password-stdin

Roles (--role): admin 系统管理员 · management 管理层 · office 归口部门 · handler 承办部门 · viewer 只读.
People in the org chart (tousu.toml [[org.staff]]) keep the roles written there; --role only checks them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Final

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.commands import cli_session, fail, settings_or_exit
from handlers import accounts
from handlers.accounts import AccountError
from handlers.workflow.scope import CONSOLE_ROLE_LABELS, ConsoleRole, console_role
from storage.base import utcnow as _utcnow
from storage.models import Department, Staff, StaffAccount

# Dev mode only (TOUSU_DEV=1, refused otherwise), like the dev WeChat token: one known password so a
# newcomer can sign in as anyone of the demo org chart after `make run`.
DEV_PASSWORD: Final = "tousu-dev"  # noqa: S105
DEV_ADMIN_LOGIN: Final = "devadmin"


@click.group()
def user() -> None:
    """Console accounts: create, passwd, disable, enable, unlock, list."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    try:
        accounts.check_password_rules(password)
    except AccountError as exc:
        fail(exc)
    return password


def _account(session: Session, login: str) -> StaffAccount:
    account = accounts.account_by_login(session, login)
    if account is None:
        fail(AccountError("unknown_login", f"没有登录名为“{login}”的账号"))
        raise AssertionError  # unreachable: _fail exits
    return account


@user.command("create")
@click.option("--name", required=True, help="姓名（组织架构中的人员按姓名或 --userid 查找）")
@click.option("--role", type=click.Choice([r.value for r in ConsoleRole]), default=None,
              help="admin · management · office · handler · viewer")
@click.option("--department", default=None, help="部门代码或名称")
@click.option("--userid", default=None, help="组织架构中的企业微信 userid（同名时用它指明）")
@click.option("--login", default=None, help="登录名（默认：组织架构人员用 userid，新人员用姓名）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（脚本用）")
def create(name: str, role: str | None, department: str | None, userid: str | None, login: str | None,
           password_stdin: bool) -> None:
    """Give a person a console account (and make them, when not in the org chart)."""
    password = _read_password(password_stdin)
    try:
        with cli_session() as session:
            account = accounts.create_account(
                session, name=name, password=password, now=_utcnow(), role=ConsoleRole(role) if role else None,
                department=department, userid=userid, login=login)
            label = _role_label(session, account.staff)
            click.echo(f"已创建账号 {account.login}：{account.staff.name}（{label}）")
    except AccountError as exc:
        fail(exc)


def _role_label(session: Session, staff: Staff) -> str:
    role = console_role(session, staff)
    return CONSOLE_ROLE_LABELS[role] if role else "无角色"


def _change(login: str, change: Callable[[Session, StaffAccount], None], done: str) -> None:
    try:
        with cli_session() as session:
            account = _account(session, login)
            change(session, account)
    except AccountError as exc:
        fail(exc)
    click.echo(done.format(login=login))


@user.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（脚本用）")
def passwd(login: str, password_stdin: bool) -> None:
    """Set a new password (signs the account out everywhere and clears its lock-out)."""
    password = _read_password(password_stdin)
    _change(login, lambda s, a: accounts.set_password(s, a, password, now=_utcnow()), "已更新 {login} 的密码")


@user.command("disable")
@click.argument("login")
def disable(login: str) -> None:
    """Stop an account from signing in (its open sessions end at their next request)."""
    _change(login, lambda s, a: accounts.set_disabled(s, a, True, now=_utcnow()), "已停用 {login}")


@user.command("enable")
@click.argument("login")
def enable(login: str) -> None:
    _change(login, lambda s, a: accounts.set_disabled(s, a, False, now=_utcnow()), "已启用 {login}")


@user.command("unlock")
@click.argument("login")
def unlock(login: str) -> None:
    """End a lock-out after too many failed sign-ins."""
    _change(login, lambda s, a: accounts.unlock(s, a, now=_utcnow()), "已解锁 {login}")


@user.command("list")
def list_accounts() -> None:
    with cli_session() as session:
        rows = session.execute(sa.select(StaffAccount, Staff).join(Staff, Staff.id == StaffAccount.staff_id)
                               .order_by(StaffAccount.login)).all()
        for account, staff in rows:
            department = session.get(Department, staff.department_id) if staff.department_id else None
            state = "停用" if account.disabled or not staff.active else "正常"
            click.echo(f"{account.login}\t{staff.name}\t{department.name if department else '—'}\t"
                       f"{_role_label(session, staff)}\t{state}")


@user.command("dev-accounts", hidden=True)
def dev_accounts() -> None:
    """(Dev mode, run by `make run`) an admin and every org-chart person get the dev password, once."""
    settings = settings_or_exit()
    if not settings.dev:
        fail(AccountError("not_dev", "dev-accounts 只用于开发模式（TOUSU_DEV=1）"))
    made: list[str] = []
    with cli_session() as session:
        now = _utcnow()
        if accounts.account_by_login(session, DEV_ADMIN_LOGIN) is None:
            accounts.create_account(session, name="系统管理员", password=DEV_PASSWORD, now=now,
                                    role=ConsoleRole.ADMIN, login=DEV_ADMIN_LOGIN)
            made.append(DEV_ADMIN_LOGIN)
        have = set(session.scalars(sa.select(StaffAccount.staff_id)))
        for staff in session.scalars(sa.select(Staff).where(Staff.active.is_(True)).order_by(Staff.id)):
            if staff.id not in have:
                accounts.create_account(session, name=staff.name, userid=staff.wecom_userid,
                                        password=DEV_PASSWORD, now=now)
                made.append(staff.wecom_userid)
    if made:
        click.echo(f" * 开发模式工作台账号已创建：{', '.join(made)}")
    click.echo(f" * 工作台 console: 用 {DEV_ADMIN_LOGIN} 或组织架构中的 userid（如 zhang.wei）登录，"
               f"开发模式密码 {DEV_PASSWORD}")
