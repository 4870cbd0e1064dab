"""Signing in and out: success, failure, lock-out, throttling, CSRF, idle expiry, cookies, audit rows."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from handlers import accounts
from storage.models import AuditEvent, StaffAccount
from tests.bot.console.support import PASSWORD, csrf_token, give_accounts, in_transaction, sign_in


def audit_rows(db, action: str | None = None) -> list[AuditEvent]:
    with db.read_sessions() as s:
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(s.scalars(query))


@pytest.fixture
def li_na(db, world) -> str:
    give_accounts(db, world, "li.na")
    return "li.na"


def test_sign_in_lands_on_the_dashboard_and_is_audited(client, db, world, li_na, clock) -> None:
    response = sign_in(client, li_na, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200 and "李娜" in page.text and "归口部门" in page.text
    [event] = audit_rows(db, "login.succeeded")
    assert event.actor_staff_id == world["li.na"].id and event.actor_label == "li.na"
    assert event.ip == "10.1.2.3" and event.user_agent
    assert event.at == clock.now
    with db.read_sessions() as s:
        assert s.scalar(sa.select(StaffAccount.last_login_at)) == clock.now


def test_sign_in_keeps_the_page_asked_for_but_never_another_site(client, li_na) -> None:
    first = client.get("/console/cases/26020001")
    assert first.status_code == 302 and "/console/login?next=" in first.headers["Location"]
    assert sign_in(client, li_na, next="/console/cases/26020001").headers["Location"] == "/console/cases/26020001"
    client.post("/console/logout", data={"csrf_token": csrf_token(client.get("/console/").text)})
    for evil in ("https://evil.example/console/", "//evil.example/console/", "/\\evil.example"):
        assert sign_in(client, li_na, next=evil).headers["Location"] == "/console/"
        client.post("/console/logout", data={"csrf_token": csrf_token(client.get("/console/").text)})


def test_a_wrong_password_is_refused_in_chinese_and_audited(client, db, li_na) -> None:
    response = sign_in(client, li_na, "not-the-password")
    assert response.status_code == 401
    assert "账号或密码不正确" in response.text
    assert client.get("/console/").status_code == 302  # still signed out
    [event] = audit_rows(db, "login.failed")
    assert event.details == {"reason": "wrong_password"} and event.actor_label == "li.na"


def test_an_unknown_login_reads_like_a_wrong_password(client, db, world) -> None:
    response = sign_in(client, "nobody")
    assert response.status_code == 401 and "账号或密码不正确" in response.text
    [event] = audit_rows(db, "login.failed")
    assert event.actor_staff_id is None and event.actor_label == "nobody"
    assert event.details == {"reason": "unknown_login"}


def test_lock_out_after_repeated_failures_then_it_ends_by_itself(client, db, li_na, clock) -> None:
    """[console] max_failed_logins = 3 within lockout_minutes = 15 (tests' conftest)."""
    assert sign_in(client, li_na, "wrong-1").status_code == 401
    clock.advance(minutes=1)
    assert sign_in(client, li_na, "wrong-2").status_code == 401
    clock.advance(minutes=1)
    third = sign_in(client, li_na, "wrong-3")
    assert third.status_code == 423
    assert "登录失败次数过多，账号已暂时锁定，请 13 分钟后再试" in third.text
    # Even the right password is refused while locked, and that refusal does not extend the lock-out.
    clock.advance(minutes=5)
    locked = sign_in(client, li_na)
    assert locked.status_code == 423 and "请 8 分钟后再试" in locked.text
    assert len(audit_rows(db, "login.failed")) == 3 and len(audit_rows(db, "login.locked")) == 1
    clock.advance(minutes=8, seconds=1)  # the first failure leaves the 15-minute window
    assert sign_in(client, li_na).status_code == 302


def test_a_success_clears_earlier_failures(client, db, li_na, clock) -> None:
    sign_in(client, li_na, "wrong-1")
    sign_in(client, li_na, "wrong-2")
    assert sign_in(client, li_na).status_code == 302
    client.post("/console/logout", data={"csrf_token": csrf_token(client.get("/console/").text)})
    assert sign_in(client, li_na, "wrong-3").status_code == 401  # not the third strike: the slate was clean


def test_unlock_and_new_password_end_a_lock_out(client, db, world, li_na) -> None:
    for n in range(3):
        sign_in(client, li_na, f"wrong-{n}")
    assert sign_in(client, li_na).status_code == 423
    with in_transaction(db, world) as w:
        accounts.unlock(w.session, accounts.account_by_login(w.session, li_na), now=w.now)
    assert sign_in(client, li_na).status_code == 302


@pytest.mark.parametrize("console_config", [{"login_rate_per_account": "3 per minute"}])
def test_throttle_per_account(client, db, li_na) -> None:
    for _ in range(3):
        sign_in(client, li_na, "wrong")  # also locks; the throttle counts attempts, not failures
    response = sign_in(client, li_na)
    assert response.status_code == 429
    assert "登录尝试过于频繁，请稍后再试" in response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60  # the minute's window
    assert sign_in(client, "someone.else").status_code == 401  # another account is not throttled


@pytest.mark.parametrize("console_config", [{"login_rate_per_ip": "2 per minute"}])
def test_throttle_per_address(client, db, li_na) -> None:
    here = {"REMOTE_ADDR": "10.0.0.7"}
    assert sign_in(client, "a", environ_base=here).status_code == 401
    assert sign_in(client, "b", environ_base=here).status_code == 401
    throttled = sign_in(client, li_na, environ_base=here)
    assert throttled.status_code == 429 and 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert sign_in(client, li_na, environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 302


def test_a_post_without_its_csrf_token_is_refused(client, db, li_na) -> None:
    client.get("/console/login")
    refused = client.post("/console/login", data={"login": li_na, "password": PASSWORD})
    assert refused.status_code == 400 and "页面已过期" in refused.text
    assert audit_rows(db, "login.succeeded") == []
    forged = client.post("/console/login", data={"login": li_na, "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert sign_in(client, li_na).status_code == 302
    # signed in, a form without the token still fails: sign-out is a form too
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/").status_code == 200


def test_idle_sessions_expire(client, db, li_na, clock) -> None:
    """[console] idle_minutes = 30: activity keeps the session, 30 quiet minutes end it."""
    sign_in(client, li_na)
    clock.advance(minutes=20)
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=25)  # 45 minutes after sign-in, 25 after the last request
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=30, seconds=1)
    expired = client.get("/console/")
    assert expired.status_code == 302 and "reason=expired" in expired.headers["Location"]
    login_page = client.get(expired.headers["Location"])
    assert "长时间未操作，已自动退出" in login_page.text
    assert client.get("/console/").status_code == 302  # and it stays signed out
    assert len(audit_rows(db, "session.expired")) == 1


def test_logout_ends_the_session_and_is_audited(client, db, li_na) -> None:
    sign_in(client, li_na)
    response = client.post("/console/logout", data={"csrf_token": csrf_token(client.get("/console/").text)})
    assert response.status_code == 302 and "reason=logged_out" in response.headers["Location"]
    assert client.get("/console/").status_code == 302
    assert [e.action for e in audit_rows(db)][-2:] == ["login.succeeded", "logout"]


def test_a_new_password_or_disabling_signs_out_open_sessions(client, db, world, li_na) -> None:
    sign_in(client, li_na)
    with in_transaction(db, world) as w:
        accounts.set_password(w.session, accounts.account_by_login(w.session, li_na), "another-pass-9", now=w.now)
    assert client.get("/console/").status_code == 302
    assert sign_in(client, li_na, "another-pass-9").status_code == 302
    with in_transaction(db, world) as w:
        accounts.set_disabled(w.session, accounts.account_by_login(w.session, li_na), True, now=w.now)
    assert client.get("/console/").status_code == 302
    refused = sign_in(client, li_na, "another-pass-9")
    assert refused.status_code == 403 and "该账号已停用" in refused.text
    assert len(audit_rows(db, "login.disabled")) == 1


def test_deactivated_staff_cannot_sign_in(client, db, world, li_na) -> None:
    with in_transaction(db, world) as w:
        w["li.na"].active = False
    assert sign_in(client, li_na).status_code == 403


def _cookie_header(response: Any) -> str:
    return next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session="))


def test_session_cookie_flags_in_dev_mode(client, li_na) -> None:
    header = _cookie_header(sign_in(client, li_na))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_session_cookie_is_secure_outside_dev_mode(db, app_config, world) -> None:
    from bot import create_app

    give_accounts(db, world, "li.na")
    app = create_app({**app_config, "TOUSU_DEV": False, "WECHAT_SECRET": "s" * 32, "WECOM_SECRET": "w" * 32,
                      "PUBLIC_BASE_URL": "https://tousu.example.com"},
                     database=db)
    client = app.test_client()
    header = _cookie_header(sign_in(client, "li.na", environ_base={"wsgi.url_scheme": "https"}))
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


@pytest.mark.real_hashing
def test_passwords_are_stored_as_argon2_and_rehashed_when_parameters_change(db, world, client, monkeypatch) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", weak)
    give_accounts(db, world, "li.na")
    with db.read_sessions() as s:
        stored = s.scalar(sa.select(StaffAccount.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored and "m=1024,t=1" in stored
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher())  # the parameters are raised
    assert sign_in(client, "li.na").status_code == 302
    with db.read_sessions() as s:
        rehashed = s.scalar(sa.select(StaffAccount.password_hash))
    assert rehashed != stored and not PasswordHasher().check_needs_rehash(rehashed)
    assert PasswordHasher().verify(rehashed, PASSWORD)
