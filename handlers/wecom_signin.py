"""Signing in through WeCom (企业微信网页授权): a WeCom userid, vouched for by WeCom, becomes a console session.

The console view (bot/console/wecom_auth.py) does the OAuth exchange; this decides who that is. Only an
active person of the org chart whose ``wecom_userid`` is the one WeCom answered may sign in, and never
with a disabled account. Someone of the org chart without a console account yet gets one here, without
a password (WeCom is how they prove who they are; an administrator can still give them a password).

Every outcome is in the audit trail: ``login.wecom`` on success, ``login.failed`` (reason
``wecom_unknown_user``) for a userid not in the org chart, ``login.disabled`` for an inactive person or a
disabled account. Flushes; the caller commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import audit
from handlers.accounts import SignIn, account_by_login, account_of, new_session_token
from handlers.audit import Origin
from storage.models import Staff, StaffAccount, is_local_userid

# Not an argon2 hash: no password verifies against it (handlers.accounts treats it as a wrong password).
NO_PASSWORD: Final = "!wecom-only: set a password to sign in without WeCom"  # noqa: S105


def wecom_member(session: Session, userid: str) -> SignIn:
    """Who WeCom's ``userid`` is in the org chart, and whether they may act: ``outcome`` "ok", "unknown" (not
    in the org chart, or a console-only person) or "disabled" (deactivated, or their account is disabled).

    The one rule for every WeCom door: the OAuth sign-in below and the chat commands (handlers/staff_commands.py).
    Reads only; "ok" may come without an account (the sign-in makes one, a chat command needs none).
    """
    userid = userid.strip()
    staff = None
    if userid and not is_local_userid(userid):
        staff = session.scalar(sa.select(Staff).where(Staff.wecom_userid == userid))
    if staff is None:
        return SignIn("unknown")
    account = account_of(session, staff)
    if not staff.active or (account is not None and account.disabled):
        return SignIn("disabled", staff=staff, account=account)
    return SignIn("ok", staff=staff, account=account)


def sign_in_by_wecom(session: Session, userid: str, *, now: dt.datetime, origin: Origin) -> SignIn:
    """The sign-in of the member WeCom says is ``userid``; ``outcome`` "ok", "unknown" or "disabled"."""
    userid = userid.strip()
    member = wecom_member(session, userid)
    staff, account = member.staff, member.account
    if member.outcome == "unknown" or staff is None:
        audit.record(session, audit.LOGIN_FAILED, now=now, origin=origin, actor_label=userid[:128],
                     details={"reason": "wecom_unknown_user"})
        return SignIn("unknown")
    if member.outcome == "disabled":
        audit.record(session, audit.LOGIN_DISABLED, now=now, origin=origin, actor=staff, actor_label=userid,
                     details={"via": "wecom"})
        return member
    if account is None:
        account = _wecom_only_account(session, staff, now=now, origin=origin)
    account.last_login_at = now
    audit.record(session, audit.LOGIN_WECOM, now=now, origin=origin, actor=staff, actor_label=userid)
    return SignIn("ok", staff=staff, account=account)


def _wecom_only_account(session: Session, staff: Staff, *, now: dt.datetime, origin: Origin) -> StaffAccount:
    login = staff.wecom_userid[:64]
    if account_by_login(session, login) is not None:  # a console-only login that happens to be this userid
        login = f"wecom:{staff.wecom_userid}"[:64]
    account = StaffAccount(staff_id=staff.id, login=login, password_hash=NO_PASSWORD, password_changed_at=now,
                           session_token=new_session_token(), created_at=now)
    session.add(account)
    session.flush()
    audit.record(session, audit.ACCOUNT_CREATED, now=now, origin=origin, actor=staff, subject=login,
                 details={"staff_id": staff.id, "via": "wecom"})
    return account


__all__ = ["NO_PASSWORD", "sign_in_by_wecom", "wecom_member"]
