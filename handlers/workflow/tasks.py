"""Tasks for staff to do by hand (人工任务): phone a customer a message could not reach, call back after a low
score, take supplementary measures until the customer is satisfied.

A task belongs to one complaint and, by default, to its lead office (归口部门), which is told by a WeCom card
linking to the case when the task opens. Opening is idempotent by ``dedupe_key``, so a retried job, a
redelivered message or a second sweep opens a task once. The console lists open tasks (dashboard); staff close
one with what they found, which the timeline keeps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.workflow import notify
from handlers.workflow.errors import PreconditionFailed
from handlers.workflow.transitions import Actor, log_event
from storage.models import Complaint, Staff, StaffTask, TaskKind, TaskStatus

#: How a task's kind reads to staff (the card's title and the console's lists).
TASK_LABELS: dict[TaskKind, str] = {
    TaskKind.CALL_CUSTOMER: "电话告知客户",
    TaskKind.CALLBACK: "电话回访",
    TaskKind.SUPPLEMENTARY: "补充措施",
}


def open_task(
    session: Session,
    complaint: Complaint,
    kind: TaskKind,
    reason: str,
    *,
    now: dt.datetime,
    dedupe_key: str,
    details: dict[str, Any] | None = None,
    due_at: dt.datetime | None = None,
    department_id: int | None = None,
) -> StaffTask:
    """Open a task (or return the one ``dedupe_key`` already opened) and tell the lead office about it.

    ``reason`` is shown to staff as it is (Chinese). ``department_id`` defaults to the case's lead office.
    """
    existing = session.scalar(sa.select(StaffTask).where(StaffTask.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    task = StaffTask(
        complaint_id=complaint.id, kind=kind, status=TaskStatus.OPEN, reason=reason, details=dict(details or {}),
        dedupe_key=dedupe_key, created_at=now, due_at=due_at,
        department_id=department_id if department_id is not None else complaint.lead_office_id,
    )
    session.add(task)
    session.flush()
    log_event(session, complaint, "task_opened", Actor.system(), now,
              {"task": task.id, "kind": kind.value, "reason": reason})
    notify.tell_staff(
        session, complaint, notify.lead_office_staff(session, complaint), "task_opened", now=now,
        title=f"{TASK_LABELS[kind]} {complaint.number}", dedupe_key=f"task:{task.id}:opened",
        task=task, kind_label=TASK_LABELS[kind], due=notify.local_time(due_at) if due_at else None,
    )
    return task


def complete_task(session: Session, staff: Staff, task: StaffTask, outcome: str, *, now: dt.datetime) -> StaffTask:
    """Close an open task with what was done (e.g. 已电话告知客户处理结果，客户表示认可)."""
    if task.status is not TaskStatus.OPEN:
        raise PreconditionFailed("完成任务", "该任务已处理，无需重复操作")
    outcome = outcome.strip()
    if not outcome:
        raise PreconditionFailed("完成任务", "请填写处理情况")
    task.status, task.done_at, task.done_by_id, task.outcome = TaskStatus.DONE, now, staff.id, outcome[:2000]
    complaint = session.get(Complaint, task.complaint_id)
    if complaint is not None:
        log_event(session, complaint, "task_done", Actor.of(staff), now,
                  {"task": task.id, "kind": task.kind.value, "outcome": task.outcome})
    session.flush()
    return task


def open_tasks(session: Session, complaint: Complaint) -> list[StaffTask]:
    """The case's tasks still to do, oldest first."""
    return list(session.scalars(
        sa.select(StaffTask)
        .where(StaffTask.complaint_id == complaint.id, StaffTask.status == TaskStatus.OPEN)
        .order_by(StaffTask.created_at, StaffTask.id)
    ))


__all__ = ["TASK_LABELS", "complete_task", "open_task", "open_tasks"]
