"""Each deadline of a case as the case page shows it: met, breached or open, and how much time is left.

A limit counted in working days (``3wd``: "3 个工作日内") is shown in working days on the company's calendar
(`WorkCalendar.working_days_between`, the start day not counted, as the limit itself is counted); a limit
in clock hours is shown in minutes. No arithmetic of its own: the calendar and the preset say everything.
The wording is the template's; this module gives numbers.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from handlers.sla.calendar import WorkCalendar
from handlers.sla.calendar_store import load_calendar
from handlers.sla.presets import SlaError, Unit
from handlers.workflow.deadlines import BREACH_GRACE
from storage.models import Complaint, Deadline, DeadlineStatus

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy


class DeadlineState(enum.StrEnum):
    OPEN = "open"  # 计时中
    DUE_TODAY = "due_today"  # a working-day limit that ends today (0 working days left)
    BREACHED = "breached"  # passed and not met (whether or not the sweep has noticed yet)
    MET = "met"  # met on time
    MET_LATE = "met_late"  # met after it was due
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class DeadlineRow:
    """One deadline for the page. ``working_days`` says the limit is counted in working days; ``left`` is
    then whole working days (negative: overdue), else minutes (negative: overdue). None once met/cancelled."""

    deadline: Deadline
    state: DeadlineState
    working_days: bool
    left: int | None

    @property
    def overdue(self) -> int | None:
        return -self.left if self.left is not None and self.left < 0 else None


def _counted_in_working_days(row: Deadline, complaint: Complaint, policy: CompanyPolicy) -> bool:
    try:
        preset = policy.workflow.preset(row.preset, complaint.category)
        return preset.milestone(row.milestone).limit(row.severity).duration.unit is Unit.WORKDAYS
    except SlaError:  # the company removed the milestone since the row was made: count in hours
        return False


def deadline_row(row: Deadline, complaint: Complaint, now: dt.datetime, calendar: WorkCalendar,
                 policy: CompanyPolicy) -> DeadlineRow:
    workdays = _counted_in_working_days(row, complaint, policy)
    if row.status is DeadlineStatus.CANCELLED:
        return DeadlineRow(row, DeadlineState.CANCELLED, workdays, None)
    if row.status is DeadlineStatus.MET:
        late = row.met_at is not None and row.met_at > row.due_at + BREACH_GRACE
        return DeadlineRow(row, DeadlineState.MET_LATE if late else DeadlineState.MET, workdays, None)
    passed = now > row.due_at + BREACH_GRACE
    if workdays:
        left = calendar.working_days_between(now, row.due_at)
        if passed:
            # due on a Friday night and now Saturday: 0 working days overdue, but overdue all the same
            left = min(left, 0)
            state = DeadlineState.BREACHED
        else:
            state = DeadlineState.DUE_TODAY if left == 0 else DeadlineState.OPEN
    else:
        left = int((row.due_at - now).total_seconds() // 60)
        state = DeadlineState.BREACHED if passed else DeadlineState.OPEN
    return DeadlineRow(row, state, workdays, left)


def deadline_rows(session: Session, complaint: Complaint, deadlines: Sequence[Deadline], now: dt.datetime,
                  policy: CompanyPolicy) -> list[DeadlineRow]:
    """The case page's deadline table, in the order given."""
    calendar = load_calendar(session, policy.calendar)
    return [deadline_row(row, complaint, now, calendar, policy) for row in deadlines]


__all__ = ["DeadlineRow", "DeadlineState", "deadline_row", "deadline_rows"]
