"""`tousu user`: the first admin, accounts for org-chart people, console-only people, passwd, disable,
and `org sync` leaving console-only people alone. Run exactly as the README shows them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import main
from handlers import accounts
from storage.models import AuditEvent, Staff, StaffAccount


@pytest.fixture
def tousu(db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no tousu.toml here: dev mode uses the packaged example company

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(main, list(args), input=input)

    assert run("org", "sync").exit_code == 0
    return run


def _account(db, login: str) -> tuple[StaffAccount, Staff]:
    with db.read_sessions() as s:
        account, staff = s.execute(sa.select(StaffAccount, Staff).join(Staff, Staff.id == StaffAccount.staff_id)
                                   .where(StaffAccount.login == login)).one()
        return account, staff


def test_first_admin_from_stdin(tousu, db) -> None:
    result = tousu("user", "create", "--name", "管理员", "--role", "admin", "--login", "admin", "--password-stdin",
                   input="a-long-secret-1\n")
    assert result.exit_code == 0, result.output
    account, staff = _account(db, "admin")
    assert staff.wecom_userid == "local:admin" and staff.roles == ["admin"] and staff.department_id is None
    assert account.password_hash.startswith("$argon2") and "a-long-secret-1" not in account.password_hash
    assert accounts.PASSWORD_HASHER.verify(account.password_hash, "a-long-secret-1")
    # the next `org sync` (make run does one every time) leaves the console-only admin active
    assert tousu("org", "sync").exit_code == 0
    assert _account(db, "admin")[1].active is True


def test_prompted_password_must_be_typed_twice(tousu, db) -> None:
    result = tousu("user", "create", "--name", "李娜", input="a-long-secret-1\na-long-secret-1\n")
    assert result.exit_code == 0, result.output
    _, staff = _account(db, "li.na")  # an org-chart person signs in with their WeCom userid
    assert staff.name == "李娜" and staff.roles == ["intake", "handler", "head"]  # the org chart's roles
    mismatch = tousu("user", "create", "--name", "刘洋", input="a-long-secret-1\nother-secret-2\n")
    assert mismatch.exit_code != 0
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(StaffAccount)) == 1


def test_org_chart_roles_are_checked_not_overwritten(tousu, db) -> None:
    result = tousu("user", "create", "--name", "赵磊", "--role", "office", "--password-stdin",
                   input="a-long-secret-1\n")
    assert result.exit_code == 2 and "tousu.toml" in result.output
    assert tousu("user", "create", "--name", "赵磊", "--role", "handler", "--password-stdin",
                 input="a-long-secret-1\n").exit_code == 0


def test_console_only_people_need_a_fitting_department(tousu, db) -> None:
    bad = tousu("user", "create", "--name", "王芳", "--role", "office", "--department", "sales", "--password-stdin",
                input="a-long-secret-1\n")
    assert bad.exit_code == 2 and "归口部门" in bad.output
    ok = tousu("user", "create", "--name", "王芳", "--role", "viewer", "--department", "销售部", "--password-stdin",
               input="a-long-secret-1\n")
    assert ok.exit_code == 0, ok.output
    _, staff = _account(db, "王芳")
    assert staff.roles == ["viewer"] and staff.wecom_userid == "local:王芳"


def test_short_passwords_and_duplicates_are_refused(tousu, db) -> None:
    short = tousu("user", "create", "--name", "李娜", "--password-stdin", input="short\n")
    assert short.exit_code == 2 and "至少 8 位" in short.output
    assert tousu("user", "create", "--name", "李娜", "--password-stdin", input="a-long-secret-1\n").exit_code == 0
    again = tousu("user", "create", "--name", "李娜", "--password-stdin", input="a-long-secret-1\n")
    assert again.exit_code == 2 and "已有账号" in again.output


def test_passwd_disable_enable_unlock(tousu, db) -> None:
    tousu("user", "create", "--name", "李娜", "--password-stdin", input="a-long-secret-1\n")
    token = _account(db, "li.na")[0].session_token
    assert tousu("user", "passwd", "li.na", "--password-stdin", input="another-secret-2\n").exit_code == 0
    account = _account(db, "li.na")[0]
    assert accounts.PASSWORD_HASHER.verify(account.password_hash, "another-secret-2")
    assert account.session_token != token  # every open session ends
    assert tousu("user", "disable", "li.na").exit_code == 0
    assert _account(db, "li.na")[0].disabled is True
    assert tousu("user", "enable", "li.na").exit_code == 0
    assert tousu("user", "unlock", "li.na").exit_code == 0
    assert tousu("user", "passwd", "nobody", "--password-stdin", input="another-secret-2\n").exit_code == 2
    listing = tousu("user", "list")
    assert "li.na\t李娜\t品质保障处\t归口部门\t正常" in listing.output
    with db.read_sessions() as s:
        actions = list(s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["account.created", "account.password_set", "account.disabled", "account.enabled",
                       "account.unlocked"]


def test_dev_accounts_for_make_run(tousu, db) -> None:
    first = tousu("user", "dev-accounts")
    assert first.exit_code == 0 and "tousu-dev" in first.output
    assert _account(db, "devadmin")[1].roles == ["admin"]
    assert _account(db, "zhang.wei")[1].name == "张伟"
    again = tousu("user", "dev-accounts")
    assert again.exit_code == 0 and "已创建" not in again.output  # idempotent


def test_dev_accounts_refused_outside_dev_mode(tousu, monkeypatch) -> None:
    monkeypatch.setenv("TOUSU_DEV", "0")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("WECHAT_SECRET", "s" * 32)
    for name in ("WECOM_CORP_ID", "WECOM_SECRET", "WECOM_TOKEN"):
        monkeypatch.setenv(name, "devvalue123")
    monkeypatch.setenv("WECOM_AGENT_ID", "1000002")
    monkeypatch.setenv("WECHAT_AES_KEY", "a" * 43)
    monkeypatch.setenv("WECOM_AES_KEY", "a" * 43)
    monkeypatch.setenv("WECHAT_APPID", "wxd0000000000dev0")
    monkeypatch.setenv("WECHAT_TOKEN", "tousudevtoken")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://tousu.example.com")
    import shutil

    from bot.config import PACKAGED_EXAMPLE

    shutil.copy(PACKAGED_EXAMPLE, "tousu.toml")
    result = tousu("user", "dev-accounts")
    assert result.exit_code == 2 and "开发模式" in result.output
