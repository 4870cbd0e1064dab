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


class OrgChart:
    """The org chart read once: every active staff member and every department, for a job that resolves
    recipients for many cases in one transaction (the SLA sweep), so an alert costs no query.

    Pass it as ``org=`` to the resolvers below; the rules are theirs, only the lookups are served from memory.
    Without it each resolver reads what it needs from the database (`_LiveOrg`). Two queries, made when built.
    """

    def __init__(self, session: Session) -> None:
        self.staff = {s.id: s for s in session.scalars(sa.select(Staff).where(Staff.active.is_(True)))}
        self.departments = {d.id: d for d in session.scalars(sa.select(Department))}
        self._by_department: dict[int | None, list[Staff]] = {}
        for person in self.staff.values():
            self._by_department.setdefault(person.department_id, []).append(person)

    def active(self, staff_ids: Iterable[int | None], complaint: Complaint) -> list[Staff]:
        wanted = {sid for sid in staff_ids if sid is not None and sid != complaint.complained_staff_id}
        return [self.staff[sid] for sid in sorted(wanted) if sid in self.staff]

    def members(self, department_id: int | None, *roles: str) -> list[int]:
        if department_id is None:
            return []
        return [s.id for s in self._by_department.get(department_id, [])
                if not roles or any(r in (s.roles or []) for r in roles)]

    def head(self, department_id: int | None) -> list[int]:
        department = self.departments.get(department_id) if department_id is not None else None
        if department is None:
            return []
        if department.head_id is not None:
            return [department.head_id]
        return self.members(department_id, HEAD)

    def departments_of_kind(self, kind: DepartmentKind) -> list[int]:
        return [d.id for d in self.departments.values() if d.kind == kind and d.active]

    def with_role(self, role: str) -> list[int]:
        return [s.id for s in self.staff.values() if role in (s.roles or [])]


class _LiveOrg:
    """The same lookups as `OrgChart`, each a query (one recipient list at a time)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def active(self, staff_ids: Iterable[int | None], complaint: Complaint) -> list[Staff]:
        wanted = [sid for sid in staff_ids if sid is not None and sid != complaint.complained_staff_id]
        if not wanted:
            return []
        rows = self.session.scalars(
            sa.select(Staff).where(Staff.id.in_(wanted), Staff.active.is_(True)).order_by(Staff.id))
        return list(rows)

    def members(self, department_id: int | None, *roles: str) -> list[int]:
        if department_id is None:
            return []
        staff = self.session.scalars(
            sa.select(Staff).where(Staff.department_id == department_id, Staff.active.is_(True)))
        return [s.id for s in staff if not roles or any(r in (s.roles or []) for r in roles)]

    def head(self, department_id: int | None) -> list[int]:
        if department_id is None:
            return []
        department = self.session.get(Department, department_id)
        if department is None:
            return []
        if department.head_id is not None:
            return [department.head_id]
        return self.members(department_id, HEAD)

    def departments_of_kind(self, kind: DepartmentKind) -> list[int]:
        return list(self.session.scalars(
            sa.select(Department.id).where(Department.kind == kind, Department.active.is_(True))))

    def with_role(self, role: str) -> list[int]:
        staff = self.session.scalars(sa.select(Staff).where(Staff.active.is_(True)))
        return [s.id for s in staff if role in (s.roles or [])]


def _org(session: Session, org: OrgChart | None) -> OrgChart | _LiveOrg:
    return org if org is not None else _LiveOrg(session)


def lead_office_staff(session: Session, complaint: Complaint, *, org: OrgChart | None = None) -> list[Staff]:
    """The lead office's intake staff and head (who triage and follow up)."""
    look = _org(session, org)
    ids = look.members(complaint.lead_office_id, INTAKE) + look.head(complaint.lead_office_id)
    if complaint.lead_office_id is None:
        for office in look.departments_of_kind(DepartmentKind.LEAD_OFFICE):
            ids += look.members(office, INTAKE)
    return look.active(dict.fromkeys(ids), complaint)


def responsible_staff(session: Session, complaint: Complaint, *, org: OrgChart | None = None) -> list[Staff]:
    """责任人; before there is one, the lead office (it owns the case until it is handed over)."""
    found = _org(session, org).active([complaint.responsible_staff_id], complaint)
    return found or lead_office_staff(session, complaint, org=org)


def department_heads(session: Session, complaint: Complaint, *, org: OrgChart | None = None) -> list[Staff]:
    """部门负责人 of the handling department; the lead office's head before assignment (before triage,
    the heads of every lead office: one of them owns the case)."""
    look = _org(session, org)
    found = look.active(look.head(complaint.handling_department_id), complaint)
    if found:
        return found
    if complaint.lead_office_id is not None:
        return look.active(look.head(complaint.lead_office_id), complaint)
    offices = look.departments_of_kind(DepartmentKind.LEAD_OFFICE)
    return look.active(dict.fromkeys(h for office in offices for h in look.head(office)), complaint)


def management_staff(session: Session, complaint: Complaint, *, org: OrgChart | None = None) -> list[Staff]:
    """公司管理层: heads and members of management departments, and everyone with the management role."""
    look = _org(session, org)
    ids: list[int] = []
    for department in look.departments_of_kind(DepartmentKind.MANAGEMENT):
        ids += look.head(department) + look.members(department)
    ids += look.with_role(MANAGEMENT)
    return look.active(dict.fromkeys(ids), complaint)


def approvers(session: Session, complaint: Complaint, *, exclude: Iterable[int | None] = ()) -> list[Staff]:
    """Who can approve a plan: staff with the approver role, else management; never the proposer."""
    skip = set(exclude)
    staff = session.scalars(sa.select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))
    ids = [s.id for s in staff if APPROVER in (s.roles or []) and s.id not in skip]
    found = _LiveOrg(session).active(ids, complaint)
    return found or [s for s in management_staff(session, complaint) if s.id not in skip]


_RESOLVERS = {
    "responsible": responsible_staff,
    "department_head": department_heads,
    "management": management_staff,
    "lead_office": lead_office_staff,
}
assert set(_RESOLVERS) == set(ESCALATION_ROLES), "every escalation role the presets accept resolves here"


def recipients(session: Session, complaint: Complaint, role: str, *, org: OrgChart | None = None) -> list[Staff]:
    """Staff for an escalation role name used by the SLA presets (checked at start-up: `ESCALATION_ROLES`);
    ``org``: the org chart read once for many calls (see `OrgChart`)."""
    return _RESOLVERS[role](session, complaint, org=org)


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
    text = render_message(f"workflow/{template}", complaint=complaint, **context)
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
    text = render_message(f"workflow/{template}", complaint=complaint, **context)
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
    "OrgChart",
    "approvers",
    "card_title",
    "case_link",
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
