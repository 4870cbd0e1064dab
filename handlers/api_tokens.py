"""Bearer tokens of the REST API: make one, list them, revoke one, and find the caller of a request.

A token acts as a member of staff of its own (a `Staff` row with userid ``local:api:<name>``, the
org-chart roles of its console role, and a department), so the API applies the very permission and
scope rules the console applies (`handlers.workflow.permissions`, `handlers.workflow.scope`), and its
actions appear on the timeline under the token's name. ``local:`` keeps the row out of `tousu org sync`'s
reach, like a console-only account. Revoking a token also deactivates its staff row: a revoked token can
do nothing, even through a request already past authentication.

Only the SHA-256 of a token is stored: the token is 32 random bytes (``tousu_`` + url-safe base64), so
unlike a password it cannot be guessed from its hash, and a stolen database yields no usable token.
``last_used_at`` is written at most once a minute per token, so a busy hotline system does not turn
every read into a write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import audit
from handlers.accounts import AccountError, check_role_department, department_by
from handlers.workflow.scope import STAFF_ROLES_FOR, ConsoleRole
from storage.models import LOCAL_USERID_PREFIX, ApiToken, Department, Staff

TOKEN_PREFIX: Final = "tousu_"  # noqa: S105 (the visible prefix of every token, not a secret)
API_USERID_PREFIX: Final = f"{LOCAL_USERID_PREFIX}api:"
LAST_USED_RESOLUTION: Final = dt.timedelta(minutes=1)
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")

TOKEN_CREATED: Final = "api_token.created"  # noqa: S105 (an audit action name)
TOKEN_REVOKED: Final = "api_token.revoked"  # noqa: S105 (an audit action name)


def token_hash(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is shown once and never stored."""

    row: ApiToken
    secret: str


def create_token(session: Session, *, name: str, role: ConsoleRole, department: str | None,
                 now: dt.datetime, display_name: str | None = None) -> NewToken:
    """A new token acting with ``role`` (and ``department``), with its own staff row. Flushes."""
    if not _NAME.fullmatch(name or ""):
        raise AccountError("bad_name", "令牌名称须为 1–48 个字母、数字或 _ . -，以字母或数字开头")
    if session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise AccountError("name_taken", f"已有名为“{name}”的令牌")
    dept: Department | None = department_by(session, department) if department else None
    check_role_department(role, dept)
    userid = f"{API_USERID_PREFIX}{name}"
    staff = session.scalar(sa.select(Staff).where(Staff.wecom_userid == userid))
    if staff is None:
        staff = Staff(wecom_userid=userid, name=display_name or f"接口:{name}")
        session.add(staff)
    staff.department_id = dept.id if dept else None
    staff.roles = list(STAFF_ROLES_FOR[role])
    staff.active = True
    session.flush()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=token_hash(secret), prefix=secret[:12], staff_id=staff.id, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, TOKEN_CREATED, now=now, subject=name,
                 details={"staff_id": staff.id, "role": role.value, "department": dept.code if dept else None})
    return NewToken(row=row, secret=secret)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(sa.select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, name: str, *, now: dt.datetime) -> ApiToken:
    """Revoke the token ``name`` (and deactivate its staff row); revoking twice is harmless."""
    row = session.scalar(sa.select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise AccountError("unknown_token", f"没有名为“{name}”的令牌")
    if row.revoked_at is None:
        row.revoked_at = now
        staff = session.get(Staff, row.staff_id)
        if staff is not None:
            staff.active = False
        audit.record(session, TOKEN_REVOKED, now=now, subject=name, details={"staff_id": row.staff_id})
    return row


def lookup(session: Session, presented: str | None) -> ApiToken | None:
    """The live token behind a presented token, or None (unknown, revoked, malformed). Reads only.

    Looked up by hash (an index probe), then compared in constant time."""
    if not presented or not presented.startswith(TOKEN_PREFIX) or len(presented) > 200:
        return None
    digest = token_hash(presented)
    row = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
        return None
    return row


def needs_touch(row: ApiToken, now: dt.datetime) -> bool:
    """Whether this use should be written as the token's last use (at most once per `LAST_USED_RESOLUTION`)."""
    return row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION


def touch(session: Session, token_id: int, now: dt.datetime) -> None:
    """Record a use at ``now`` (unless a concurrent request already recorded one as recent). Flushes."""
    session.execute(sa.update(ApiToken).where(
        ApiToken.id == token_id,
        sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_RESOLUTION),
    ).values(last_used_at=now))


def authenticate(session: Session, presented: str | None, *, now: dt.datetime) -> ApiToken | None:
    """`lookup`, and the use recorded when due, in ``session`` (one transaction: the CLI and tests)."""
    row = lookup(session, presented)
    if row is not None and needs_touch(row, now):
        row.last_used_at = now
    return row


__all__ = [
    "API_USERID_PREFIX",
    "TOKEN_CREATED",
    "TOKEN_PREFIX",
    "TOKEN_REVOKED",
    "NewToken",
    "authenticate",
    "create_token",
    "list_tokens",
    "lookup",
    "needs_touch",
    "revoke_token",
    "token_hash",
    "touch",
]
