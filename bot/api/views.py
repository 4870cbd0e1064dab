"""What the API shows of a case, per caller: the models and the builders shared by every resource.

The masking is the console's: `handlers.workflow.scope.personal_data_access` decides, per caller and
case, whether the complainant's identity and full phone are shown (`bot.console.cases.Masker` applies it
to a field by name), the ledger's rows (`handlers.ledger.reader_rows`) are the list's, and the timeline
is the case page's (`bot.console.cases.timeline_rows`). Nothing here decides who sees what.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bot.console.cases import Masker, detail_words, timeline_rows
from handlers.config import CompanyPolicy
from handlers.ledger import LedgerRow
from handlers.workflow.available import available_actions
from handlers.workflow.scope import personal_data_access
from handlers.workflow.transitions import STATUS_LABELS, Action
from storage.models import Complaint, Department, Staff, TimelineEvent

#: The actions the API offers as operations: every one the lifecycle has, except the system's own
#: survey start, and with both plan actions offered as ``propose_plan`` (it decides about approval).
HIDDEN_ACTIONS = frozenset({Action.START_SURVEY, Action.SUBMIT_PLAN_FOR_APPROVAL})


def offered(action: Action) -> Action:
    """The operation an action is offered as (both plan actions are ``propose_plan``)."""
    return Action.PROPOSE_PLAN if action is Action.SUBMIT_PLAN_FOR_APPROVAL else action


class ComplaintSummary(BaseModel):
    """One case of the list, as the ledger shows it to the caller."""

    number: str
    received_at: dt.datetime
    source: str
    status: str
    status_label: str
    complainant: str = Field(description="单位/姓名，或“（保密）”")
    phone: str | None = Field(description="完整、打码（138****8000）或“（保密）”")
    category: str
    severity: str
    urgent: bool
    lead_office: str | None
    handling_department: str | None
    responsible: str | None
    due_at: dt.datetime | None
    next_due_label: str | None
    next_due_at: dt.datetime | None
    overdue: bool


class ComplaintPage(BaseModel):
    items: list[ComplaintSummary]
    next_cursor: str | None = Field(description="下一页的游标（cursor 参数）；没有下一页时为 null")


class ComplaintDetail(BaseModel):
    """One case as the caller may see it (the console's case page, masked per caller)."""

    number: str
    version: int = Field(description="乐观锁版本：执行操作时原样带回")
    status: str
    status_label: str
    source: str
    received_at: dt.datetime
    registered_at: dt.datetime
    category: str
    category_label: str
    severity: str
    urgent: bool
    complainant: str | None
    contact_person: str | None
    phone: str | None
    address: str | None
    product_name: str | None
    spec_model: str | None
    batch: str | None
    purchase_date: dt.date | None
    problem_type: str | None
    description: str | None
    usage_scenario: str | None
    loss: str | None
    demands: list[str]
    lead_office: str | None
    handling_department: str | None
    responsible: str | None
    due_at: dt.datetime | None
    result_text: str | None
    closed_at: dt.datetime | None
    identity_shown: bool
    full_phone_shown: bool
    operations: list[str] = Field(description="调用者现在可以执行的操作（POST /complaints/{number}/{operation}）")


def summary(row: LedgerRow) -> ComplaintSummary:
    return ComplaintSummary(
        number=row.number, received_at=row.received_at, source=row.source.value, status=row.status.value,
        status_label=STATUS_LABELS[row.status], complainant=row.complainant, phone=row.phone,
        category=row.category, severity=row.severity.value, urgent=row.urgent, lead_office=row.lead_office,
        handling_department=row.handling_department, responsible=row.responsible, due_at=row.due_at,
        next_due_label=row.next_due_label, next_due_at=row.next_due_at, overdue=row.overdue,
    )


def _name(session: Session, model: Any, key: int | None) -> str | None:
    if key is None:
        return None
    row = session.get(model, key)
    return row.name if row is not None else None


def masker(session: Session, staff: Staff, complaint: Complaint, policy: CompanyPolicy) -> Masker:
    return Masker(personal_data_access(session, staff, complaint, policy.workflow))


def detail(session: Session, staff: Staff, complaint: Complaint, policy: CompanyPolicy) -> ComplaintDetail:
    """The case for ``staff``: identity hidden and phones masked exactly as on the console's case page."""
    m = masker(session, staff, complaint, policy)
    text = m.text
    operations = list(dict.fromkeys(offered(a).value for a in available_actions(session, staff, complaint)
                                    if a is not Action.START_SURVEY))
    return ComplaintDetail(
        number=complaint.number, version=complaint.version, status=complaint.status.value,
        status_label=STATUS_LABELS[complaint.status], source=complaint.source.value,
        received_at=complaint.received_at, registered_at=complaint.registered_at, category=complaint.category,
        category_label=policy.category_label(complaint.category), severity=complaint.severity.value,
        urgent=complaint.urgent, complainant=m.identity(complaint.complainant_name or None),
        contact_person=m.identity(complaint.contact_person), phone=m.phone(complaint.phone),
        address=m.identity(complaint.address), product_name=complaint.product_name,
        spec_model=complaint.spec_model, batch=complaint.batch, purchase_date=complaint.purchase_date,
        problem_type=complaint.problem_type, description=text(complaint.description),
        usage_scenario=text(complaint.usage_scenario), loss=text(complaint.loss),
        demands=[str(d) for d in complaint.demands or []],
        lead_office=_name(session, Department, complaint.lead_office_id),
        handling_department=_name(session, Department, complaint.handling_department_id),
        responsible=_name(session, Staff, complaint.responsible_staff_id), due_at=complaint.due_at,
        result_text=text(complaint.result_text), closed_at=complaint.closed_at,
        identity_shown=m.access.identity, full_phone_shown=m.access.full_phone, operations=operations,
    )


class TimelineDetail(BaseModel):
    field: str
    text: str


class TimelineItem(BaseModel):
    at: dt.datetime
    action: str
    by: str | None
    from_status: str | None
    to_status: str | None
    details: list[TimelineDetail]


class Timeline(BaseModel):
    items: list[TimelineItem]


def timeline(session: Session, staff: Staff, complaint: Complaint, policy: CompanyPolicy) -> Timeline:
    events = list(session.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == complaint.id)
                                  .order_by(TimelineEvent.at, TimelineEvent.id)))
    rows = timeline_rows(events, masker(session, staff, complaint, policy),
                         detail_words(session, complaint, events, policy))
    return Timeline(items=[
        TimelineItem(at=row["event"].at, action=row["event"].action,
                     by=None if row["by"] is None else str(row["by"]),
                     from_status=row["from"], to_status=row["to"],
                     details=[TimelineDetail(field=str(k), text=str(v)) for k, v in row["details"]])
        for row in rows
    ])


__all__ = [
    "HIDDEN_ACTIONS",
    "ComplaintDetail",
    "ComplaintPage",
    "ComplaintSummary",
    "Timeline",
    "TimelineItem",
    "detail",
    "masker",
    "offered",
    "summary",
    "timeline",
]
