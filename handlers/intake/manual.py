"""Manual registration (人工登记): a complaint that came by phone, letter, e-mail, visit… entered by staff.

The record is the same as the WeChat intake's: the same form (``[form]`` of the policy: its steps, option
lists and conditions), each answer read by the same parser (:func:`handlers.intake.fields.parse_answer`:
the phone parser for the phone, the date parser for the purchase date…), and the same registration
(:func:`handlers.intake.submit.register_complaint`: number, classify, route, open deadlines). What differs
is who files it (a member of staff, recorded on the timeline), the channel (投诉来源), and the received
time, which is when the complaint really reached the company (a call at 09:10 registered at 10:00 was
received at 09:10) and can never lie in the future.

Who may register: the intake role (受理), members of a lead office (归口部门) and admins.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.intake.entry import FormEntry, entry_steps, read_entry
from handlers.intake.submit import register_complaint
from handlers.workflow import permissions
from handlers.workflow.errors import InvalidValue, MissingField, PermissionDenied
from handlers.workflow.scope import ConsoleRole, console_roles
from handlers.workflow.transitions import Actor
from storage.models import Complaint, Source, Staff

#: Every channel but WeChat (which registers itself through the conversation).
MANUAL_SOURCES: Final = tuple(source for source in Source if source is not Source.WECHAT)
REGISTER: Final = "登记投诉"
#: The console's name for what its page read (the entry is shared with the website: handlers/intake/entry.py).
ManualEntry = FormEntry
#: How far back a received time may go: a letter can arrive weeks before it is typed in, a year cannot.
OLDEST: Final = dt.timedelta(days=366)


def may_register(session: Session, staff: Staff) -> bool:
    """The intake role, a lead office (归口部门) or an admin, active and not read-only."""
    if not staff.active or permissions.is_read_only(staff):
        return False
    if permissions.has_role(staff, permissions.INTAKE, permissions.ADMIN):
        return True
    return ConsoleRole.OFFICE in console_roles(session, staff)


def check_may_register(session: Session, staff: Staff) -> None:
    if not may_register(session, staff):
        raise PermissionDenied(REGISTER, "须为受理人员、归口部门人员或管理员",
                               staff=f"{staff.name}({staff.wecom_userid})")


def check_received_at(received_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The received time, aware: required, not in the future, not more than a year back."""
    if received_at is None:
        raise MissingField("received_at", "收到时间")
    if received_at.tzinfo is None:
        raise InvalidValue("received_at", received_at.isoformat(), "须带时区")
    if received_at > now:
        raise InvalidValue("received_at", received_at.isoformat(), "收到时间不能晚于现在")
    if received_at < now - OLDEST:
        raise InvalidValue("received_at", received_at.isoformat(), "收到时间不能早于一年前")
    return received_at


def register_manual(
    session: Session,
    staff: Staff,
    ctx: HandlerContext,
    *,
    source: Source | str,
    received_at: dt.datetime,
    answers: Mapping[str, Any],
    note: str | None = None,
) -> Complaint:
    """File a complaint staff took by another channel: checked, then registered exactly as intake does."""
    check_may_register(session, staff)
    try:
        channel = Source(source)
    except ValueError:
        raise InvalidValue("source", source, "未知的投诉来源") from None
    if channel not in MANUAL_SOURCES:
        raise InvalidValue("source", channel.value, "微信投诉由公众号自动登记")
    received = check_received_at(received_at, ctx.now)
    details: dict[str, Any] = {}  # who registered it is the event's actor ("by")
    if note and note.strip():
        details["note"] = note.strip()
    return register_complaint(session, ctx, answers=answers, source=channel, received_at=received,
                              actor=Actor.of(staff), details=details)


__all__ = [
    "MANUAL_SOURCES",
    "ManualEntry",
    "check_may_register",
    "check_received_at",
    "entry_steps",
    "may_register",
    "read_entry",
    "register_manual",
]
