"""What a member of staff may do to one case right now, and the guard that makes acting on it safe.

The console's case page offers a form per action; which actions is decided here and only here, from the
two existing rules, never a third table:

* the lifecycle (`transitions.allowed_actions`: what the case's state allows), and
* the actor (`permissions.can`: role, department, recusal 回避, read-only, deactivated).

An action is *available* when both say yes. Two more facts narrow the list without adding rules: the
complainant's answer to an extension can only be recorded while an extension waits for one, and the
survey (``start_survey``) is the system's, so `permissions.can` refuses it to everyone.

`lock_for_change` is how a page acts on a case two people may have open at once (optimistic concurrency):
it takes the complaint's row lock first (the documented lock order, handlers/workflow/deadlines.py) and
compares the version the person's form was rendered with to the row's; a difference is `CaseChanged`
("该投诉已被他人更新，请刷新后重试"). `mark_changed` makes sure every action moves the version on, even one
that writes only a timeline row (a progress note), so the other person's form goes stale too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from handlers.sla.calendar import local_day
from handlers.sla.calendar_store import load_calendar
from handlers.workflow import permissions
from handlers.workflow.errors import CaseChanged, InvalidValue, PreconditionFailed
from handlers.workflow.operations import load_complaint, pending_extension
from handlers.workflow.transitions import Action, allowed_actions, target_state
from storage.models import Complaint, Staff

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

T = TypeVar("T")

_ORDER = {action: index for index, action in enumerate(Action)}  # the enum is written in lifecycle order


def available_actions(session: Session, staff: Staff, complaint: Complaint) -> list[Action]:
    """The actions ``staff`` may take on ``complaint`` now: allowed in its state AND permitted to them.

    In lifecycle order (triage before assign before investigate …). Empty for a viewer, a deactivated
    person, the complained-about person and any case in a terminal state.
    """
    found = []
    for action in allowed_actions(complaint.status):
        if action is Action.ANSWER_EXTENSION and pending_extension(session, complaint) is None:
            continue
        if permissions.can(session, staff, action, complaint):
            found.append(action)
    return sorted(found, key=_ORDER.__getitem__)


def lock_for_change(session: Session, complaint_id: int, seen_version: int | None) -> Complaint:
    """The complaint, row-locked (the complaint first: the lock order), if it is still as ``seen_version``.

    Raises `CaseChanged` when another transaction changed it since the page showed it (or when the page
    sent no version at all: a form without one cannot prove it saw the current case).
    """
    complaint = load_complaint(session, complaint_id)
    if seen_version is None or seen_version != complaint.version:
        raise CaseChanged(complaint.number, seen_version, complaint.version)
    return complaint


def mark_changed(complaint: Complaint) -> None:
    """Make the coming flush UPDATE the complaint row, so its version goes up by one.

    Most actions change a column of the complaint anyway; a progress note or a recorded investigation
    does not, yet the case did change, and another person's form of the previous version must be refused.
    """
    flag_modified(complaint, "updated_at")


def refuse_unavailable(session: Session, staff: Staff, complaint: Complaint, action: Action) -> None:
    """Raise the reason ``action`` is not available: first who the person is (`PermissionDenied`: they may
    not do this to this case, whatever its state), then the state, then a missing earlier step."""
    permissions.check(session, staff, action, complaint)
    target_state(complaint.status, action)
    raise PreconditionFailed(action.label, "当前不能执行该操作")


def run_action(session: Session, staff: Staff, complaint_id: int, action: Action, seen_version: int | None,
               perform: Callable[[Complaint], T], *, same: Callable[[Action], Action] = lambda a: a) -> T:
    """Do ``action`` the one safe way every door (console, API, WeCom command) shares.

    Lock the complaint and check the version the caller saw (`lock_for_change`), check the action is
    available to ``staff`` now (else raise why: `refuse_unavailable`), run ``perform`` on the locked row and
    move the version on (`mark_changed`). The caller owns the transaction: any exception rolls it all back.
    ``same`` maps an action to the one a caller offers it as (the console's single plan form).
    """
    complaint = lock_for_change(session, complaint_id, seen_version)
    if same(action) not in {same(a) for a in available_actions(session, staff, complaint)}:
        refuse_unavailable(session, staff, complaint, action)
    result = perform(complaint)
    mark_changed(complaint)
    return result


def extended_due_date(session: Session, complaint: Complaint, working_days: int, policy: CompanyPolicy) -> dt.date:
    """The day ``working_days`` working days after the current whole-case deadline (延期 N 个工作日).

    Counted on the company's calendar (China's working days with 调休, plus its own exceptions), the same
    way every limit is; `request_extension` then checks the date against the preset's ceiling.
    """
    if complaint.due_at is None:
        raise PreconditionFailed(Action.REQUEST_EXTENSION.label, "本投诉没有整体处理时限")
    if working_days < 1:
        raise InvalidValue("days", working_days, "延长天数至少为 1 个工作日")
    calendar = load_calendar(session, policy.calendar)
    return calendar.working_day_after(local_day(complaint.due_at), working_days)


__all__ = ["available_actions", "extended_due_date", "lock_for_change", "mark_changed", "refuse_unavailable",
           "run_action"]
