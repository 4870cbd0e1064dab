"""Reading and closing staff tasks (人工任务) from the console, within the reader's scope, and which cases
wait for a person's next step (`my_tasks_clause`: the console dashboard's 我的待办 and WeCom's ``待办``).

A task is seen by exactly the staff who may see its case (`scope.scope_clause`): a task outside the scope
does not exist for the reader (404). Closing one (`tasks.complete_task`) is for those who would do the
work: the task's department (by default the case's lead office), the case's responsible person, and
management or admin; never a read-only account. The message text a task carries is shown with phone
numbers masked unless the reader may see the complainant's phone in full (`scope.personal_data_access`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.privacy import mask_phones_in
from handlers.workflow.errors import PermissionDenied
from handlers.workflow.permissions import (
    ADMIN,
    APPROVER,
    HEAD,
    has_role,
    is_management,
    is_read_only,
    is_responsible,
)
from handlers.workflow.scope import personal_data_access, scope_clause
from handlers.workflow.tasks import TASK_LABELS, complete_task
from handlers.workflow.transitions import OPEN_STATES
from storage.models import Complaint, ComplaintStatus, Department, DepartmentKind, StaffTask, TaskStatus

if TYPE_CHECKING:
    from handlers.workflow.settings import WorkflowSettings
    from storage.models import Staff

LIST_LIMIT = 50
COMPLETE_LABEL = "完成任务"
S = ComplaintStatus
# States in which the lead office has the next step (交办, 回访, 办结); 已登记 has the dashboard's own list.
OFFICE_STATES = (S.TRIAGED, S.RESOLVED, S.SURVEYING)


def my_tasks_clause(session: Session, staff: Staff) -> sa.ColumnElement[bool]:
    """Open cases waiting for ``staff`` to act: as responsible person; as head of a handling department
    with nobody named yet; as approver of a pending plan; as lead office for 交办, 回访 and 办结.

    Callers add `scope.scope_clause` (a recused approver must not see the case they are about)."""
    if is_read_only(staff):
        return sa.false()
    mine: list[sa.ColumnElement[bool]] = [Complaint.responsible_staff_id == staff.id]
    if staff.department_id is not None and has_role(staff, HEAD):
        mine.append(sa.and_(Complaint.handling_department_id == staff.department_id,
                            Complaint.responsible_staff_id.is_(None), Complaint.status == S.ASSIGNED))
    if has_role(staff, APPROVER) or is_management(session, staff):
        mine.append(Complaint.status == S.PLAN_PENDING)
    department = session.get(Department, staff.department_id) if staff.department_id else None
    if department is not None and department.kind is DepartmentKind.LEAD_OFFICE:
        mine.append(sa.and_(Complaint.lead_office_id == department.id, Complaint.status.in_(OFFICE_STATES)))
    return sa.and_(Complaint.status.in_(OPEN_STATES), sa.or_(*mine))


@dataclass(frozen=True)
class TaskView:
    """One open task as a page shows it."""

    task: StaffTask
    complaint: Complaint
    kind_label: str
    text: str  # the message to read out, phones masked per the reader
    may_complete: bool


@dataclass(frozen=True)
class TaskList:
    total: int
    rows: list[TaskView]


def may_complete(session: Session, staff: Staff, task: StaffTask, complaint: Complaint) -> bool:
    """Whether ``staff`` may close ``task`` (the case is assumed visible to them)."""
    if is_read_only(staff) or not staff.active or task.status is not TaskStatus.OPEN:
        return False
    if has_role(staff, ADMIN) or is_management(session, staff) or is_responsible(staff, complaint):
        return True
    department = task.department_id if task.department_id is not None else complaint.lead_office_id
    return department is not None and staff.department_id == department


def _view(session: Session, staff: Staff, task: StaffTask, complaint: Complaint,
          settings: WorkflowSettings) -> TaskView:
    text = str((task.details or {}).get("text") or "")
    if not personal_data_access(session, staff, complaint, settings).full_phone:
        text = mask_phones_in(text)
    return TaskView(task=task, complaint=complaint, kind_label=TASK_LABELS[task.kind], text=text,
                    may_complete=may_complete(session, staff, task, complaint))


def visible_open_tasks(session: Session, staff: Staff, settings: WorkflowSettings, *,
                       complaint: Complaint | None = None, limit: int = LIST_LIMIT) -> TaskList:
    """Open tasks on cases ``staff`` may see (of one case when given), oldest first."""
    query = (
        sa.select(StaffTask, Complaint)
        .join(Complaint, Complaint.id == StaffTask.complaint_id)
        .where(StaffTask.status == TaskStatus.OPEN, scope_clause(session, staff))
    )
    if complaint is not None:
        query = query.where(StaffTask.complaint_id == complaint.id)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(StaffTask.created_at, StaffTask.id).limit(limit)).all()
    return TaskList(total, [_view(session, staff, t, c, settings) for t, c in rows])


def complete_visible_task(session: Session, staff: Staff, task_id: int, outcome: str, *,
                          now: dt.datetime) -> StaffTask | None:
    """Close task ``task_id`` with ``outcome``; None when it does not exist or its case is outside the
    scope (the caller answers 404). Locks the complaint, then the task (the lock order).

    Raises `PermissionDenied` when the reader sees the case but may not close its tasks, and
    `PreconditionFailed` (from `tasks.complete_task`) when it is already closed or the outcome is empty.
    """
    complaint_id = session.scalar(sa.select(StaffTask.complaint_id).where(StaffTask.id == task_id))
    if complaint_id is None:
        return None
    complaint = session.scalars(
        sa.select(Complaint).where(Complaint.id == complaint_id, scope_clause(session, staff))
        .with_for_update().execution_options(populate_existing=True)
    ).first()
    if complaint is None:
        return None
    task = session.scalars(
        sa.select(StaffTask).where(StaffTask.id == task_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()
    if task.status is TaskStatus.OPEN and not may_complete(session, staff, task, complaint):
        raise PermissionDenied(COMPLETE_LABEL, "只有归口部门、责任人或管理层可以完成该任务")
    return complete_task(session, staff, task, outcome, now=now)


__all__ = ["LIST_LIMIT", "OFFICE_STATES", "TaskList", "TaskView", "complete_visible_task", "may_complete",
           "my_tasks_clause", "visible_open_tasks"]
