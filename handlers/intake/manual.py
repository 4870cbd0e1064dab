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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.intake.fields import parse_answer
from handlers.intake.form import Form, Step
from handlers.intake.submit import register_complaint
from handlers.workflow import permissions
from handlers.workflow.errors import InvalidValue, MissingField, PermissionDenied
from handlers.workflow.scope import ConsoleRole, console_roles
from handlers.workflow.transitions import Actor
from storage.models import Complaint, Source, Staff

#: Every channel but WeChat (which registers itself through the conversation).
MANUAL_SOURCES: Final = tuple(source for source in Source if source is not Source.WECHAT)
REGISTER: Final = "登记投诉"
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


def entry_steps(form: Form, answers: Mapping[str, Any]) -> list[Step]:
    """The steps staff fill in for these answers (the form's applicable steps; evidence comes later)."""
    return [step for step in form.applicable(answers) if step.parser != "evidence"]


@dataclass
class ManualEntry:
    """What staff typed, read: the answers keyed by step (as the conversation keeps them), or errors
    keyed by field with the parser's own Chinese hint."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_entry(form: Form, raw: Mapping[str, str | Sequence[str]], *, today: dt.date) -> ManualEntry:
    """Read the form fields ``raw`` (step key → text, or the chosen codes of a choice step).

    Choice steps take codes from the form's own option list (a select box cannot send anything else, but a
    crafted request can, so each code is checked); every other step is parsed from its text by the step's
    parser, exactly as the conversation parses a typed answer. Conditional steps (the product-quality
    fields) count only when the category makes them apply.
    """
    entry = ManualEntry()
    category = form.step("category")
    chosen = _codes(raw.get("category"))
    entry.answers.update(_choice(category, chosen, entry.errors))
    for step in entry_steps(form, entry.answers):
        if step.key == "category":
            continue
        if step.parser == "choice":
            entry.answers.update(_choice(step, _codes(raw.get(step.key)), entry.errors))
            continue
        value = raw.get(step.key)
        text = (value if isinstance(value, str) else " ".join(value or ())).strip()
        if not text:
            if step.required:
                entry.errors[step.key] = f"请填写{step.label}"
            continue
        parsed = parse_answer(step, text, today=today)
        if parsed.accepted:
            entry.answers[step.key] = parsed.value
        else:
            entry.errors[step.key] = parsed.hint or f"{step.label}无法识别"
    return entry


def _codes(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return [v.strip() for v in values if v and v.strip()]


def _choice(step: Step, codes: list[str], errors: dict[str, str]) -> dict[str, Any]:
    known = {option.code for option in step.options}
    unknown = [code for code in codes if code not in known]
    if unknown:
        errors[step.key] = f"{step.label}只能从列表中选择"
        return {}
    if not codes:
        if step.required:
            errors[step.key] = f"请选择{step.label}"
        return {}
    if not step.multi and len(codes) > 1:
        errors[step.key] = f"{step.label}只能选一项"
        return {}
    return {step.key: list(dict.fromkeys(codes))}


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
