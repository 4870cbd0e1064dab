"""Who hears about a complaint, and the outbox rows that tell them.

Recipients are resolved through the org chart at the moment of sending (a reassigned case reminds the
new responsible person). The complained-about person is never among them (回避), inactive staff are
skipped, and staff texts never carry the complainant's phone number unmasked.

Every staff message about a case is a WeCom text card whose link (:func:`case_link`) opens the case in
the console, signing the person in through WeCom OAuth on the way. The link is queued as a path; the
sender puts ``PUBLIC_BASE_URL`` in front (bot/channels/wecom.py), so handlers need no deployment setting.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import customer
from handlers.render import render_message, split_text
from handlers.sla.calendar import SHANGHAI
from handlers.sla.presets import ESCALATION_ROLES
from handlers.workflow.permissions import APPROVER, HEAD, INTAKE, MANAGEMENT
from storage.models import Complaint, Department, DepartmentKind, OutboxMessage, Staff
from storage.outbox import queue_customer_text, queue_staff_text

_WEEKDAYS = "一二三四五六日"
# The console's WeCom sign-in (bot/console/wecom_auth.py), then the case page (bot/console/cases.py).
CASE_LINK = "/console/wecom/login?next=/console/cases/{number}"


def case_link(complaint: Complaint) -> str:
    """The path a staff card about ``complaint`` opens: WeCom sign-in, then the case page."""
    return CASE_LINK.format(number=complaint.number)


def customer_case_link(complaint: Complaint, *, now: dt.datetime | None = None) -> str:
    """The customer's page for ``complaint`` (``<PUBLIC_BASE_URL>/c/<number>``, bot/customer.py).

    Signed and expiring (handlers/customer.py: 30 days) unless the customer will be identified by WeChat web
    authorisation instead (the Official Account is configured for it and the case came from WeChat). ``now``
    (the caller's clock) is when the link is issued, from which its 30 days run; the wall clock by default.
    """
    settings = customer.link_settings()
    return customer.case_url(complaint.number, now=now, signed=not (settings.oauth and complaint.openid))


def _template(template: str) -> str:
    """``result`` → ``workflow/result``; a name with a folder (``survey/ask``) is taken as it is."""
    return template if "/" in template else f"workflow/{template}"


def card_title(complaint: Complaint, kind: str | None = None) -> str:
    """A card title naming the case (``templates/messages/workflow/_card_title``): ``new_case``, ``major``,
    or None for just the number."""
    return render_message("workflow/_card_title", complaint=complaint, kind=kind)


def local_time(moment: dt.datetime | None) -> str:
    """``2026-02-24 23:59`` → ``2月24日（周二）23:59`` in Asia/Shanghai, as staff and customers read it."""
    if moment is None:
        return "—"
    local = moment.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日（周{_WEEKDAYS[local.weekday()]}）{local:%H:%M}"


def local_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（周{_WEEKDAYS[day.weekday()]}）"


def _active(session: Session, staff_ids: Iterable[int | None], complaint: Complaint) -> list[Staff]:
    wanted = [sid for sid in staff_ids if sid is not None and sid != complaint.complained_staff_id]
    if not wanted:
        return []
    rows = session.scalars(sa.select(Staff).where(Staff.id.in_(wanted), Staff.active.is_(True)).order_by(Staff.id))
    return list(rows)


def _members(session: Session, department_id: int | None, *roles: str) -> list[int]:
    if department_id is None:
        return []
    staff = session.scalars(sa.select(Staff).where(Staff.department_id == department_id, Staff.active.is_(True)))
    return [s.id for s in staff if not roles or any(r in (s.roles or []) for r in roles)]


def _head(session: Session, department_id: int | None) -> list[int]:
    if department_id is None:
        return []
    department = session.get(Department, department_id)
    if department is None:
        return []
    if department.head_id is not None:
        return [department.head_id]
    return _members(session, department_id, HEAD)


def lead_office_staff(session: Session, complaint: Complaint) -> list[Staff]:
    """The lead office's intake staff and head (who triage and follow up)."""
    ids = _members(session, complaint.lead_office_id, INTAKE) + _head(session, complaint.lead_office_id)
    if complaint.lead_office_id is None:
        offices = session.scalars(
            sa.select(Department.id).where(Department.kind == DepartmentKind.LEAD_OFFICE, Department.active.is_(True))
        )
        for office in offices:
            ids += _members(session, office, INTAKE)
    return _active(session, dict.fromkeys(ids), complaint)


def responsible_staff(session: Session, complaint: Complaint) -> list[Staff]:
    """责任人; before there is one, the lead office (it owns the case until it is handed over)."""
    found = _active(session, [complaint.responsible_staff_id], complaint)
    return found or lead_office_staff(session, complaint)


def department_heads(session: Session, complaint: Complaint) -> list[Staff]:
    """部门负责人 of the handling department; the lead office's head before assignment (before triage,
    the heads of every lead office: one of them owns the case)."""
    found = _active(session, _head(session, complaint.handling_department_id), complaint)
    if found:
        return found
    if complaint.lead_office_id is not None:
        return _active(session, _head(session, complaint.lead_office_id), complaint)
    offices = session.scalars(
        sa.select(Department.id).where(Department.kind == DepartmentKind.LEAD_OFFICE, Department.active.is_(True))
    )
    return _active(session, dict.fromkeys(h for office in offices for h in _head(session, office)), complaint)


def management_staff(session: Session, complaint: Complaint) -> list[Staff]:
    """公司管理层: heads and members of management departments, and everyone with the management role."""
    ids: list[int] = []
    departments = session.scalars(
        sa.select(Department).where(Department.kind == DepartmentKind.MANAGEMENT, Department.active.is_(True))
    )
    for department in departments:
        ids += _head(session, department.id) + _members(session, department.id)
    staff = session.scalars(sa.select(Staff).where(Staff.active.is_(True)))
    ids += [s.id for s in staff if MANAGEMENT in (s.roles or [])]
    return _active(session, dict.fromkeys(ids), complaint)


def approvers(session: Session, complaint: Complaint, *, exclude: Iterable[int | None] = ()) -> list[Staff]:
    """Who can approve a plan: staff with the approver role, else management; never the proposer."""
    skip = set(exclude)
    staff = session.scalars(sa.select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))
    ids = [s.id for s in staff if APPROVER in (s.roles or []) and s.id not in skip]
    found = _active(session, ids, complaint)
    return found or [s for s in management_staff(session, complaint) if s.id not in skip]


_RESOLVERS = {
    "responsible": responsible_staff,
    "department_head": department_heads,
    "management": management_staff,
    "lead_office": lead_office_staff,
}
assert set(_RESOLVERS) == set(ESCALATION_ROLES), "every escalation role the presets accept resolves here"


def recipients(session: Session, complaint: Complaint, role: str) -> list[Staff]:
    """Staff for an escalation role name used by the SLA presets (checked at start-up: `ESCALATION_ROLES`)."""
    return _RESOLVERS[role](session, complaint)


def tell_staff(
    session: Session,
    complaint: Complaint,
    staff: Iterable[Staff],
    template: str,
    *,
    now: dt.datetime,
    title: str | None = None,
    dedupe_key: str | None = None,
    not_before: dt.datetime | None = None,
    **context: Any,
) -> OutboxMessage | None:
    """Queue one WeCom text card (``templates/messages/workflow/<template>``, linking to the case) to
    ``staff``; None if nobody. Without ``title`` the card is titled with the case number."""
    userids = list(dict.fromkeys(s.wecom_userid for s in staff if s.active))
    if not userids:
        return None
    text = render_message(_template(template), complaint=complaint, **context)
    return queue_staff_text(
        session, userids, text, now=now, dedupe_key=dedupe_key, complaint_id=complaint.id,
        title=title or card_title(complaint), url=case_link(complaint),
        not_before=not_before,
    )


def tell_customer(
    session: Session, complaint: Complaint, template: str, *, now: dt.datetime, dedupe_key: str | None = None,
    **context: Any,
) -> list[OutboxMessage]:
    """Queue a text to the complainant in WeChat; nothing when the complaint did not come from WeChat."""
    if not complaint.openid:
        return []
    text = render_message(_template(template), complaint=complaint, **context)
    queued: list[OutboxMessage] = []
    pieces = split_text(text)
    for index, piece in enumerate(pieces):
        key = None if dedupe_key is None else (dedupe_key if len(pieces) == 1 else f"{dedupe_key}:{index}")
        message = queue_customer_text(session, complaint.openid, piece, now=now, dedupe_key=key,
                                      complaint_id=complaint.id)
        if message is not None:
            queued.append(message)
    return queued


__all__ = [
    "CASE_LINK",
    "approvers",
    "card_title",
    "case_link",
    "customer_case_link",
    "department_heads",
    "lead_office_staff",
    "local_date",
    "local_time",
    "management_staff",
    "recipients",
    "responsible_staff",
    "tell_customer",
    "tell_staff",
]
