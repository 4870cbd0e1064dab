"""工作台: the signed-in person's cases in four lists — my tasks, due soon, overdue, new awaiting triage —
and the open staff tasks (待办任务: calls to customers, callbacks…) on the cases they may see, each with a
form to close it (`bot.console.tasks`).

Every list is a query inside `scope_clause`, so a list can never show a case its reader may not open.
Lists carry no personal data (number, category, state, department, deadline), so nothing is masked here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session, aliased

from bot.console.security import console_settings, now
from bot.runtime import runtime
from handlers.workflow.scope import scope_clause
from handlers.workflow.task_list import my_tasks_clause, visible_open_tasks
from handlers.workflow.transitions import OPEN_STATES
from storage.models import Complaint, ComplaintStatus, Deadline, DeadlineStatus, Department, Staff

bp = Blueprint("dashboard", __name__)

LIST_LIMIT = 50
S = ComplaintStatus


@dataclass
class CaseList:
    total: int
    rows: list[Any]


def _cases(session: Session, query: sa.Select[*tuple[Any, ...]], order: Any) -> CaseList:
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    return CaseList(total, list(session.execute(query.order_by(*order).limit(LIST_LIMIT)).all()))


def dashboard_lists(session: Session, staff: Staff, at: dt.datetime, due_soon: dt.timedelta) -> dict[str, CaseList]:
    scope = scope_clause(session, staff)
    handling = aliased(Department)
    responsible = aliased(Staff)
    case_columns = (Complaint, handling.name.label("department"), responsible.name.label("responsible"))

    def cases() -> sa.Select[Complaint, str, str]:
        return (sa.select(*case_columns)
                .outerjoin(handling, handling.id == Complaint.handling_department_id)
                .outerjoin(responsible, responsible.id == Complaint.responsible_staff_id)
                .where(scope))

    def deadlines() -> sa.Select[Deadline, Complaint, str, str]:
        return (sa.select(Deadline, *case_columns)
                .join(Complaint, Complaint.id == Deadline.complaint_id)
                .outerjoin(handling, handling.id == Complaint.handling_department_id)
                .outerjoin(responsible, responsible.id == Complaint.responsible_staff_id)
                .where(scope, Complaint.status.in_(OPEN_STATES)))

    return {
        "tasks": _cases(session, cases().where(my_tasks_clause(session, staff)),
                        (Complaint.due_at.asc().nulls_last(), Complaint.id)),
        "due_soon": _cases(session, deadlines().where(Deadline.status == DeadlineStatus.OPEN,
                                                      Deadline.due_at >= at, Deadline.due_at <= at + due_soon),
                           (Deadline.due_at, Deadline.id)),
        "overdue": _cases(session, deadlines().where(sa.or_(
            Deadline.status == DeadlineStatus.BREACHED,
            sa.and_(Deadline.status == DeadlineStatus.OPEN, Deadline.due_at < at),  # before the sweep marks it
        )), (Deadline.due_at, Deadline.id)),
        "new": _cases(session, cases().where(Complaint.status == S.REGISTERED), (Complaint.received_at, Complaint.id)),
    }


@bp.get("/")
def index() -> ResponseReturnValue:
    at = now()
    rt = runtime()
    with rt.db.read_sessions() as s:
        lists = dashboard_lists(s, current_user.staff, at, console_settings().due_soon)
        staff_tasks = visible_open_tasks(s, current_user.staff, rt.settings.policy.workflow)
    return render_template("console/dashboard.html", lists=lists, staff_tasks=staff_tasks, now=at)
