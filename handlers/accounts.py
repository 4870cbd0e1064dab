"""Console accounts: passwords (argon2), sign-in with lock-out, and making accounts for staff.

Used by `tousu user …` and the console's sign-in page (and later its 人员 page); never imports Flask.
Operations flush; the caller commits (so a failed sign-in's audit row and its lock-out count are one
transaction with nothing else).

Lock-out is counted from the audit trail itself: the failed sign-ins of an account within the window
(and after its last success or unlock). The N-th failure locks the account until the oldest of those N
leaves the window, so a lock-out ends by itself and an attacker cannot extend it by guessing on: a
sign-in refused because of the lock-out is recorded as ``login.locked``, which does not count.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from limits import parse_many
from sqlalchemy.orm import Session

from handlers import audit
from handlers.audit import Origin
from handlers.config import PolicyError
from handlers.workflow.scope import STAFF_ROLES_FOR, ConsoleRole, console_roles
from storage.models import LOCAL_USERID_PREFIX, AuditEvent, Department, DepartmentKind, Staff, StaffAccount

MIN_PASSWORD_LENGTH: Final = 8

# argon2id with the library's defaults (RFC 9106 "low memory" profile). Raising them later is safe:
# every hash carries its own parameters, and `authenticate` rehashes a password on its next good sign-in.
PASSWORD_HASHER = PasswordHasher()
# Verified against when no account matches, so an unknown login costs as long as a wrong password
# (made on first use, with the hasher in force then).
_dummy: tuple[PasswordHasher, str] | None = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None or _dummy[0] is not PASSWORD_HASHER:
        _dummy = (PASSWORD_HASHER, PASSWORD_HASHER.hash("tousu-no-such-account"))
    return _dummy[1]


class AccountError(Exception):
    """Something `tousu user` or the console refuses; ``code`` for callers, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5  # this many failed sign-ins within the window lock the account
    window: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class ConsolePolicy:
    """``[console]`` of tousu.toml: sign-in and session rules for the staff console.

    ::

        [console]
        idle_minutes = 30              # signed out after this long without a request (会话空闲超时)
        max_failed_logins = 5          # this many failed sign-ins of one account within …
        lockout_minutes = 15           # … this window lock it until the oldest of them is this old
        login_rate_per_ip = "30 per 10 minutes"        # sign-in attempts from one address (Flask-Limiter syntax)
        login_rate_per_account = "10 per 10 minutes"   # sign-in attempts naming one account
        due_soon_hours = 24            # the dashboard's 即将到期 list: deadlines due within this many hours
    """

    idle: dt.timedelta = dt.timedelta(minutes=30)
    lockout: LockoutPolicy = LockoutPolicy()
    login_rate_per_ip: str = "30 per 10 minutes"
    login_rate_per_account: str = "10 per 10 minutes"
    due_soon: dt.timedelta = dt.timedelta(hours=24)


_CONSOLE_KEYS = frozenset({"idle_minutes", "max_failed_logins", "lockout_minutes", "login_rate_per_ip",
                           "login_rate_per_account", "due_soon_hours"})


def _whole(where: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(f"{where}: expected a whole number ≥ {minimum}, got {value!r}")
    return value


def _rate(where: str, value: Any) -> str:
    try:
        if not isinstance(value, str) or not parse_many(value):
            raise ValueError
    except ValueError:
        raise PolicyError(f"{where}: expected a rate such as \"10 per 10 minutes\", got {value!r}") from None
    return value


def parse_console(table: Mapping[str, Any]) -> ConsolePolicy:
    """``[console]``, checked at start-up; a wrong key or value raises `PolicyError` naming it."""
    unknown = set(table) - _CONSOLE_KEYS
    if unknown:
        raise PolicyError(f"console.{sorted(unknown)[0]}: unknown setting")
    default = ConsolePolicy()
    return ConsolePolicy(
        idle=dt.timedelta(minutes=_whole("console.idle_minutes", table.get("idle_minutes", 30))),
        lockout=LockoutPolicy(
            max_failures=_whole("console.max_failed_logins", table.get("max_failed_logins", 5)),
            window=dt.timedelta(minutes=_whole("console.lockout_minutes", table.get("lockout_minutes", 15))),
        ),
        login_rate_per_ip=_rate("console.login_rate_per_ip", table.get("login_rate_per_ip", default.login_rate_per_ip)),
        login_rate_per_account=_rate(
            "console.login_rate_per_account", table.get("login_rate_per_account", default.login_rate_per_account)
        ),
        due_soon=dt.timedelta(hours=_whole("console.due_soon_hours", table.get("due_soon_hours", 24))),
    )


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in attempt. ``ok`` only with ``staff`` and ``account`` set."""

    outcome: str  # "ok", "bad_credentials", "locked", "disabled"
    staff: Staff | None = None
    account: StaffAccount | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_too_short", f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if password.strip() != password or not password.strip():
        raise AccountError("password_whitespace", "密码首尾不能是空格")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return PASSWORD_HASHER.hash(password)


def account_of(session: Session, staff: Staff) -> StaffAccount | None:
    return session.scalar(sa.select(StaffAccount).where(StaffAccount.staff_id == staff.id))


def account_by_login(session: Session, login: str) -> StaffAccount | None:
    return session.scalar(sa.select(StaffAccount).where(StaffAccount.login == login.strip()))


def set_password(session: Session, account: StaffAccount, password: str, *, now: dt.datetime,
                 origin: Origin = audit.CLI, by: Staff | None = None) -> None:
    """New password: signs out every session of the account and clears its failed sign-ins."""
    account.password_hash = hash_password(password)
    account.password_changed_at = now
    account.session_token = new_session_token()
    account.failures_reset_at = now
    audit.record(session, audit.ACCOUNT_PASSWORD_SET, now=now, origin=origin, actor=by,
                 subject=account.login, details={"staff_id": account.staff_id})


def set_disabled(session: Session, account: StaffAccount, disabled: bool, *, now: dt.datetime,
                 origin: Origin = audit.CLI, by: Staff | None = None) -> None:
    account.disabled = disabled
    account.session_token = new_session_token()
    audit.record(session, audit.ACCOUNT_DISABLED if disabled else audit.ACCOUNT_ENABLED, now=now, origin=origin,
                 actor=by, subject=account.login, details={"staff_id": account.staff_id})


def unlock(session: Session, account: StaffAccount, *, now: dt.datetime, origin: Origin = audit.CLI,
           by: Staff | None = None) -> None:
    account.failures_reset_at = now
    audit.record(session, audit.ACCOUNT_UNLOCKED, now=now, origin=origin, actor=by, subject=account.login,
                 details={"staff_id": account.staff_id})


def locked_until(session: Session, account: StaffAccount, *, now: dt.datetime,
                 policy: LockoutPolicy) -> dt.datetime | None:
    """When the lock-out ends, or None when the account is not locked now."""
    since = now - policy.window
    if account.failures_reset_at is not None and account.failures_reset_at > since:
        since = account.failures_reset_at
    recent = list(session.scalars(
        sa.select(AuditEvent.at)
        .where(AuditEvent.actor_staff_id == account.staff_id, AuditEvent.action == audit.LOGIN_FAILED,
               AuditEvent.at > since)
        .order_by(AuditEvent.at.desc())
        .limit(policy.max_failures)
    ))
    if len(recent) < policy.max_failures:
        return None
    until: dt.datetime = recent[-1] + policy.window
    return until if until > now else None


def authenticate(session: Session, login: str, password: str, *, now: dt.datetime, origin: Origin,
                 policy: LockoutPolicy) -> SignIn:
    """Check a sign-in and record it (succeeded, failed, locked or disabled) in the audit trail."""
    login = login.strip()[:64]
    account = account_by_login(session, login) if login else None
    if account is None:
        _verify(_dummy_hash(), password)
        audit.record(session, audit.LOGIN_FAILED, now=now, origin=origin, actor_label=login,
                     details={"reason": "unknown_login"})
        return SignIn("bad_credentials")
    staff = account.staff
    until = locked_until(session, account, now=now, policy=policy)
    if until is not None:
        audit.record(session, audit.LOGIN_LOCKED, now=now, origin=origin, actor=staff, actor_label=login,
                     details={"locked_until": until.isoformat()})
        return SignIn("locked", staff=staff, account=account, locked_until=until)
    if not _verify(account.password_hash, password):
        audit.record(session, audit.LOGIN_FAILED, now=now, origin=origin, actor=staff, actor_label=login,
                     details={"reason": "wrong_password"})
        until = locked_until(session, account, now=now, policy=policy)
        return SignIn("locked" if until else "bad_credentials", staff=staff, account=account, locked_until=until)
    if account.disabled or not staff.active:
        audit.record(session, audit.LOGIN_DISABLED, now=now, origin=origin, actor=staff, actor_label=login)
        return SignIn("disabled", staff=staff, account=account)
    if PASSWORD_HASHER.check_needs_rehash(account.password_hash):
        account.password_hash = PASSWORD_HASHER.hash(password)
    account.last_login_at = now
    account.failures_reset_at = now
    audit.record(session, audit.LOGIN_SUCCEEDED, now=now, origin=origin, actor=staff, actor_label=login)
    return SignIn("ok", staff=staff, account=account)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- making accounts -------------------------------------------------------------------------------


def department_by(session: Session, code_or_name: str) -> Department:
    department = session.scalar(
        sa.select(Department).where(sa.or_(Department.code == code_or_name, Department.name == code_or_name),
                                    Department.active.is_(True))
    )
    if department is None:
        raise AccountError("unknown_department", f"没有部门“{code_or_name}”（用组织架构中的部门代码或名称）")
    return department


def check_role_department(role: ConsoleRole, department: Department | None) -> None:
    if role is ConsoleRole.OFFICE and (department is None or department.kind is not DepartmentKind.LEAD_OFFICE):
        raise AccountError("needs_lead_office", "归口部门账号须属于一个归口部门（kind = \"lead_office\"）")
    if role in (ConsoleRole.HANDLER, ConsoleRole.VIEWER) and department is None:
        raise AccountError("needs_department", "承办部门和只读账号须指定部门（--department）")


def find_staff(session: Session, *, name: str | None = None, userid: str | None = None,
               department: Department | None = None) -> Staff | None:
    """The person by WeCom userid, or by name (within ``department`` when given); None when not found.
    Two people of the same name are an error: the caller must say which by ``userid``."""
    if userid:
        return session.scalar(sa.select(Staff).where(Staff.wecom_userid == userid))
    query = sa.select(Staff).where(Staff.name == name)
    if department is not None:
        query = query.where(Staff.department_id == department.id)
    found = list(session.scalars(query.limit(2)))
    if len(found) > 1:
        raise AccountError("ambiguous_name", f"有多位“{name}”，请用 --userid 指明")
    return found[0] if found else None


def create_account(
    session: Session,
    *,
    name: str,
    password: str,
    now: dt.datetime,
    role: ConsoleRole | None = None,
    department: str | None = None,
    userid: str | None = None,
    login: str | None = None,
    origin: Origin = audit.CLI,
    by: Staff | None = None,
) -> StaffAccount:
    """A console account for a person of the org chart, or for a new person made with ``role``.

    The org chart (tousu.toml, `tousu org sync`) is what says what an org-chart person may do, so for
    them ``role`` is only checked, never written. A person not in it gets a Staff row with the org-chart
    roles of ``role`` and a local userid (``local:…``) that no WeCom userid can equal.
    """
    check_password_rules(password)
    dept = department_by(session, department) if department else None
    staff = find_staff(session, name=name, userid=userid, department=dept)
    if staff is not None:
        if role is not None and role not in console_roles(session, staff):
            raise AccountError(
                "role_mismatch",
                f"{staff.name}（{staff.wecom_userid}）在组织架构中不是“{role.value}”；角色在 tousu.toml [[org.staff]] "
                "中修改，再运行 tousu org sync",
            )
        if account_of(session, staff) is not None:
            raise AccountError("account_exists", f"{staff.name} 已有账号；改密码用 tousu user passwd")
    else:
        if userid:
            raise AccountError("unknown_userid", f"组织架构中没有 userid “{userid}”")
        if role is None:
            raise AccountError("needs_role", f"组织架构中没有“{name}”，新建人员须给出 --role")
        check_role_department(role, dept)
        login = (login or name).strip()
        if not login or len(login) > 64 - len(LOCAL_USERID_PREFIX):
            raise AccountError("bad_login", f"登录名须为 1–{64 - len(LOCAL_USERID_PREFIX)} 个字符")
        staff = Staff(wecom_userid=f"{LOCAL_USERID_PREFIX}{login}", name=name,
                      department_id=dept.id if dept else None, roles=list(STAFF_ROLES_FOR[role]), active=True)
        if session.scalar(sa.select(Staff.id).where(Staff.wecom_userid == staff.wecom_userid)) is not None:
            raise AccountError("login_taken", f"登录名“{login}”已被使用")
        session.add(staff)
        session.flush()
    login = (login or (staff.wecom_userid if not staff.wecom_userid.startswith(LOCAL_USERID_PREFIX)
                       else staff.name)).strip()
    if not login or len(login) > 64:
        raise AccountError("bad_login", "登录名须为 1–64 个字符")
    if account_by_login(session, login) is not None:
        raise AccountError("login_taken", f"登录名“{login}”已被使用")
    account = StaffAccount(staff_id=staff.id, login=login, password_hash=hash_password(password),
                           password_changed_at=now, session_token=new_session_token(),
                           created_at=now)
    session.add(account)
    session.flush()
    account.staff = staff
    audit.record(session, audit.ACCOUNT_CREATED, now=now, origin=origin, actor=by, subject=login,
                 details={"staff_id": staff.id, "userid": staff.wecom_userid, "role": role.value if role else None})
    return account


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PASSWORD_HASHER",
    "AccountError",
    "LockoutPolicy",
    "SignIn",
    "account_by_login",
    "account_of",
    "authenticate",
    "check_password_rules",
    "check_role_department",
    "create_account",
    "department_by",
    "find_staff",
    "hash_password",
    "locked_until",
    "set_disabled",
    "set_password",
    "unlock",
]
