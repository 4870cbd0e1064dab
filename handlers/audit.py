"""The security audit trail (安全审计): one function writes every row, so every row has the same shape.

What is recorded: sign-ins (``login.succeeded``, ``login.wecom``), failed sign-ins (``login.failed``), refused
sign-ins of a locked or disabled account (``login.locked``, ``login.disabled``), sign-outs and idle expiries
(``logout``, ``session.expired``), account changes (``account.*``), a case page that showed personal data
(``case.viewed``), and every export: the ledger spreadsheet (``export.ledger``, bot/console/ledger.py), the
printed 闭环管理单 of one case (``export.print``) and the performance workbook (``export.performance``,
handlers/performance.py). The modules that own the other actions name them: evidence files served
(``attachment.viewed``, bot/console/cases.py), FAQ, calendar and outbox changes (handlers/admin.py), records
destruction (handlers/records.py), API tokens (handlers/api_tokens.py). Rows are only ever added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage.models import AuditEvent, Complaint, Staff

LOGIN_SUCCEEDED = "login.succeeded"
LOGIN_WECOM = "login.wecom"  # signed in through WeCom OAuth (企业微信网页授权), no password
LOGIN_FAILED = "login.failed"
LOGIN_LOCKED = "login.locked"
LOGIN_DISABLED = "login.disabled"
LOGOUT = "logout"
SESSION_EXPIRED = "session.expired"
ACCOUNT_CREATED = "account.created"
ACCOUNT_PASSWORD_SET = "account.password_set"  # noqa: S105 (an action name, not a password)
ACCOUNT_DISABLED = "account.disabled"
ACCOUNT_ENABLED = "account.enabled"
ACCOUNT_UNLOCKED = "account.unlocked"
CASE_VIEWED = "case.viewed"
EXPORT_PRINT = "export.print"  # the printable 客户投诉处理闭环管理单 of one case


@dataclass(frozen=True)
class Origin:
    """Where a request came from; the CLI is ``Origin(ip=None, user_agent="cli")``."""

    ip: str | None = None
    user_agent: str | None = None


CLI = Origin(user_agent="tousu cli")


def record(
    session: Session,
    action: str,
    *,
    now: dt.datetime,
    origin: Origin = CLI,
    actor: Staff | None = None,
    actor_label: str | None = None,
    complaint: Complaint | None = None,
    subject: str | None = None,
    personal_data: bool = False,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit row (flushed with the caller's transaction, which commits it)."""
    event = AuditEvent(
        at=now,
        actor_staff_id=actor.id if actor is not None else None,
        actor_label=(actor_label if actor_label is not None else (actor.name if actor is not None else None)),
        action=action,
        ip=(origin.ip or None) and origin.ip[:45],
        user_agent=(origin.user_agent or None) and (origin.user_agent or "")[:300],
        complaint_id=complaint.id if complaint is not None else None,
        subject=subject if subject is not None else (complaint.number if complaint is not None else None),
        personal_data=personal_data,
        details=dict(details or {}),
    )
    if event.actor_label is not None:
        event.actor_label = event.actor_label[:128]
    session.add(event)
    session.flush()
    return event


__all__ = [
    "ACCOUNT_CREATED",
    "ACCOUNT_DISABLED",
    "ACCOUNT_ENABLED",
    "ACCOUNT_PASSWORD_SET",
    "ACCOUNT_UNLOCKED",
    "CASE_VIEWED",
    "CLI",
    "EXPORT_PRINT",
    "LOGIN_DISABLED",
    "LOGIN_FAILED",
    "LOGIN_LOCKED",
    "LOGIN_SUCCEEDED",
    "LOGIN_WECOM",
    "LOGOUT",
    "SESSION_EXPIRED",
    "Origin",
    "record",
]
