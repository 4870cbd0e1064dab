"""组织架构 and accounts: the org chart shown read-only, and an admin giving a person of the org chart a console
password, resetting it, disabling/enabling and unlocking the account — each change audited with who made it."""

from __future__ import annotations

import sqlalchemy as sa

from handlers import accounts
from storage.models import AuditEvent, Staff, StaffAccount
from tests.bot.console.admin_support import make_people, post_form, signed_in, texts
from tests.bot.console.support import PASSWORD, sign_in


def _staff_id(db, userid: str) -> int:
    with db.read_sessions() as s:
        found = s.scalar(sa.select(Staff.id).where(Staff.wecom_userid == userid))
        assert found is not None
        return found


def _account(db, userid: str) -> StaffAccount | None:
    with db.read_sessions() as s:
        return s.scalar(sa.select(StaffAccount).join(Staff).where(Staff.wecom_userid == userid))


def _audit(db, *actions: str) -> list[tuple[str, str | None, str | None]]:
    with db.read_sessions() as s:
        return [(e.action, e.actor_label, e.subject) for e in s.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.in_(actions)).order_by(AuditEvent.id))]


def test_the_org_chart_is_shown_read_only_with_where_it_is_edited(app, db, world) -> None:
    make_people(db, world)
    for login, sees_accounts in (("root", True), ("wu.fang", False), ("li.na", False)):
        page = signed_in(app, login).get("/console/admin/org/")
        text = texts(page.text)
        assert page.status_code == 200
        for name in ("品质保障处", "综合管理处", "生产部", "赵磊", "周敏", "吴芳"):
            assert name in text
        assert "tousu.toml" in text and "tousu org sync" in text
        assert ("账号未开通" in text) == sees_accounts, login
        assert ('href="/console/admin/org/people/' in page.text) == sees_accounts
        assert "<form" not in page.text.split("<main")[1].split("</main>")[0]  # nothing to change here


def test_an_admin_gives_a_person_of_the_org_chart_a_password(app, db, world) -> None:
    make_people(db, world)
    admin = signed_in(app, "root")
    person = _staff_id(db, "zhou.min")
    assert "尚未开通" in texts(admin.get(f"/console/admin/org/people/{person}").text)
    response = post_form(admin, f"/console/admin/org/people/{person}/password",
                         {"password": "zhou-min-pass-1", "confirm": "zhou-min-pass-1", "login": ""})
    assert response.status_code == 302
    account = _account(db, "zhou.min")
    assert account is not None and account.login == "zhou.min"  # the WeCom userid by default
    assert account.password_hash.startswith("$argon2id$")
    assert "已开通工作台账号，登录名 zhou.min" in texts(admin.get(response.headers["Location"]).text)
    assert sign_in(app.test_client(), "zhou.min", "zhou-min-pass-1").status_code == 302
    assert _audit(db, "account.created")[-1] == ("account.created", "管理员", "zhou.min")


def test_a_reset_password_signs_the_person_out_and_replaces_the_old_one(app, db, world) -> None:
    make_people(db, world)
    clerk = signed_in(app, "li.na")
    assert clerk.get("/console/").status_code == 200
    admin = signed_in(app, "root")
    person = _staff_id(db, "li.na")
    mismatch = post_form(admin, f"/console/admin/org/people/{person}/password",
                         {"password": "new-pass-123", "confirm": "new-pass-124"})
    assert mismatch.status_code == 400 and "两次输入的密码不一致" in texts(mismatch.text)
    short = post_form(admin, f"/console/admin/org/people/{person}/password", {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "密码至少 8 位" in texts(short.text)

    assert post_form(admin, f"/console/admin/org/people/{person}/password",
                     {"password": "new-pass-123", "confirm": "new-pass-123"}).status_code == 302
    assert clerk.get("/console/").status_code == 302  # the old session ended with the old password
    assert sign_in(app.test_client(), "li.na", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "li.na", "new-pass-123").status_code == 302
    assert _audit(db, "account.password_set") == [("account.password_set", "管理员", "li.na")]


def test_disable_enable_and_unlock(app, db, world, console_config) -> None:
    make_people(db, world)
    admin = signed_in(app, "root")
    person = _staff_id(db, "zhao.lei")
    for _ in range(console_config["max_failed_logins"]):
        sign_in(app.test_client(), "zhao.lei", "wrong-password")
    assert sign_in(app.test_client(), "zhao.lei").status_code == 423
    page = texts(admin.get(f"/console/admin/org/people/{person}").text)
    assert "已锁定" in page and "锁定至" in page
    assert post_form(admin, f"/console/admin/org/people/{person}/unlock").status_code == 302
    assert sign_in(app.test_client(), "zhao.lei").status_code == 302

    handler = signed_in(app, "zhao.lei")
    assert post_form(admin, f"/console/admin/org/people/{person}/disable").status_code == 302
    assert handler.get("/console/").status_code == 302  # signed out at once
    assert sign_in(app.test_client(), "zhao.lei").status_code == 403
    again = post_form(admin, f"/console/admin/org/people/{person}/disable")
    assert again.status_code == 400 and "账号已是停用状态" in texts(again.text)
    assert post_form(admin, f"/console/admin/org/people/{person}/enable").status_code == 302
    assert sign_in(app.test_client(), "zhao.lei").status_code == 302
    assert [a for a, who, subject in _audit(db, "account.unlocked", "account.disabled", "account.enabled")
            if who == "管理员" and subject == "zhao.lei"] == ["account.unlocked", "account.disabled", "account.enabled"]


def test_an_admin_cannot_disable_their_own_account_nor_act_on_someone_without_one(app, db, world) -> None:
    make_people(db, world)
    admin = signed_in(app, "root")
    with db.read_sessions() as s:
        root = accounts.account_by_login(s, "root")
        assert root is not None
        me = root.staff_id
    response = post_form(admin, f"/console/admin/org/people/{me}/disable")
    assert response.status_code == 400 and "不能停用自己的账号" in texts(response.text)
    assert admin.get("/console/").status_code == 200
    nobody = _staff_id(db, "sun.li")
    for change in ("disable", "enable", "unlock"):
        response = post_form(admin, f"/console/admin/org/people/{nobody}/{change}")
        assert response.status_code == 400 and "还没有工作台账号" in texts(response.text)


def test_a_person_removed_from_the_org_chart_gets_no_password(app, db, world) -> None:
    make_people(db, world)
    with db.transaction() as s:
        s.execute(sa.update(Staff).where(Staff.wecom_userid == "sun.li").values(active=False))
    admin = signed_in(app, "root")
    person = _staff_id(db, "sun.li")
    page = admin.get(f"/console/admin/org/people/{person}")
    assert "已停用" in texts(page.text) and "开通账号</button>" not in page.text
    response = post_form(admin, f"/console/admin/org/people/{person}/password",
                         {"password": "sun-li-pass-1", "confirm": "sun-li-pass-1"})
    assert response.status_code == 400 and "该人员已停用" in texts(response.text)
    assert _account(db, "sun.li") is None
