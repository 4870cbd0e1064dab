"""Which complaints a member of staff may see at all, and how much of the complainant they may see.

`permissions` says what someone may *do* to a case; this module says what they may *see*. Both read the
same org chart (roles and departments), so a role is defined once. Every view of cases — the console's
dashboard, ledger and case page, the REST API, the exports — selects through `visible_complaints` (or
adds `scope_clause` to its own query), so nothing outside a person's scope can leak from one of them:

* admin and management (管理层) see every case;
* a member of a lead office (归口部门) sees its ledger: the cases whose lead office it is, plus the new
  cases no lead office has been given yet (they wait for triage by any lead office);
* a member of a handling department (承办部门), a head or a read-only viewer, sees the cases its
  department handles, and everyone sees the cases they are the responsible person (责任人) of;
* an approver sees the cases waiting for a plan approval (方案待审批);
* the complained-about person (被投诉人, 回避) never sees the case, whatever else is true;
* a deactivated member of staff sees nothing.

The console's five roles (admin, management, office, handler, viewer) are names for combinations of the
org chart's roles and department kinds; `console_role` gives the one a page should show.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.privacy import mask_phone, mask_phones_in
from handlers.workflow.permissions import (
    ADMIN,
    APPROVER,
    HANDLER,
    HEAD,
    INTAKE,
    MANAGEMENT,
    VIEWER,
    can_see_complainant,
    has_role,
    in_lead_office,
    is_management,
    is_read_only,
    is_responsible,
)
from handlers.workflow.settings import WorkflowSettings
from storage.models import Complaint, ComplaintStatus, Department, DepartmentKind, Staff


class ConsoleRole(enum.StrEnum):
    """The roles of the staff console (issue 9), each a reading of the org chart's roles."""

    ADMIN = "admin"  # 系统管理员: staff role ``admin``
    MANAGEMENT = "management"  # 管理层: role ``management``, or a member of the management department
    OFFICE = "office"  # 归口部门: a member of a lead office (it owns a ledger)
    HANDLER = "handler"  # 承办部门: role ``handler`` or ``head`` in a department
    VIEWER = "viewer"  # 只读: role ``viewer`` only


CONSOLE_ROLE_LABELS = {
    ConsoleRole.ADMIN: "系统管理员",
    ConsoleRole.MANAGEMENT: "管理层",
    ConsoleRole.OFFICE: "归口部门",
    ConsoleRole.HANDLER: "承办部门",
    ConsoleRole.VIEWER: "只读",
}

# The org-chart roles `tousu user create --role` gives a person who is not in the org chart.
STAFF_ROLES_FOR: dict[ConsoleRole, list[str]] = {
    ConsoleRole.ADMIN: [ADMIN],
    ConsoleRole.MANAGEMENT: [MANAGEMENT, APPROVER],
    ConsoleRole.OFFICE: [INTAKE, HANDLER],
    ConsoleRole.HANDLER: [HANDLER],
    ConsoleRole.VIEWER: [VIEWER],
}


def _department_kind(session: Session, staff: Staff) -> DepartmentKind | None:
    if staff.department_id is None:
        return None
    department = session.get(Department, staff.department_id)
    return department.kind if department is not None and department.active else None


def console_roles(session: Session, staff: Staff) -> set[ConsoleRole]:
    """Every console role ``staff`` holds (an office head who is also admin holds two)."""
    roles: set[ConsoleRole] = set()
    if has_role(staff, ADMIN):
        roles.add(ConsoleRole.ADMIN)
    if is_management(session, staff):
        roles.add(ConsoleRole.MANAGEMENT)
    if is_read_only(staff):
        roles.add(ConsoleRole.VIEWER)
        return roles
    if _department_kind(session, staff) is DepartmentKind.LEAD_OFFICE:
        roles.add(ConsoleRole.OFFICE)
    if staff.department_id is not None and has_role(staff, HANDLER, HEAD, INTAKE):
        roles.add(ConsoleRole.HANDLER)
    return roles


def console_role(session: Session, staff: Staff) -> ConsoleRole | None:
    """The widest console role of ``staff`` (what the page header shows), None without any."""
    roles = console_roles(session, staff)
    return next((role for role in ConsoleRole if role in roles), None)


def scope_clause(session: Session, staff: Staff) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Complaint` that is true exactly for the cases ``staff`` may see."""
    if not staff.active:
        return sa.false()
    not_recused = sa.or_(Complaint.complained_staff_id.is_(None), Complaint.complained_staff_id != staff.id)
    if has_role(staff, ADMIN) or is_management(session, staff):
        return not_recused
    mine: list[sa.ColumnElement[bool]] = [Complaint.responsible_staff_id == staff.id]
    if staff.department_id is not None:
        mine += [
            Complaint.handling_department_id == staff.department_id,
            Complaint.lead_office_id == staff.department_id,
        ]
        if not is_read_only(staff) and _department_kind(session, staff) is DepartmentKind.LEAD_OFFICE:
            mine.append(Complaint.lead_office_id.is_(None))  # waiting for triage by any lead office
    if has_role(staff, APPROVER):
        mine.append(Complaint.status == ComplaintStatus.PLAN_PENDING)
    return sa.and_(not_recused, sa.or_(*mine))


def visible_complaints(session: Session, staff: Staff) -> sa.Select[Complaint]:
    """``SELECT complaint`` limited to ``staff``'s scope; callers add filters, order and paging."""
    return sa.select(Complaint).where(scope_clause(session, staff))


def find_visible(session: Session, staff: Staff, *, complaint_id: int | None = None,
                 number: str | None = None) -> Complaint | None:
    """One case by id or number, or None when it does not exist *or* is outside the scope (the caller
    answers both with 404, so the scope's edge cannot be probed)."""
    query = visible_complaints(session, staff)
    if complaint_id is not None:
        query = query.where(Complaint.id == complaint_id)
    elif number is not None:
        query = query.where(Complaint.number == number)
    else:
        raise ValueError("find_visible needs complaint_id or number")
    return session.scalars(query).first()


HIDDEN = "（保密）"  # what staff read in place of an identity field they may not see


@dataclass(frozen=True)
class PersonalDataAccess:
    """How much of the complainant one member of staff may see on one case (保密)."""

    identity: bool  # name, contact person, address, openid
    full_phone: bool  # the phone unmasked (else 138****8000), and phones inside free text

    @property
    def any(self) -> bool:
        return self.identity or self.full_phone

    # What a page, an export or a printed form shows this reader: the one rule, used by all of them.
    def who(self, value: str | None) -> str | None:
        """An identity field (name, contact, address): itself, or ``（保密）``; None when empty."""
        return (value if self.identity else HIDDEN) if value else None

    def phone(self, value: str | None) -> str | None:
        """The phone: in full, masked (138****8000), or ``（保密）`` with the identity."""
        if not value:
            return None
        if not self.identity:
            return HIDDEN
        return value if self.full_phone else mask_phone(value)

    def text(self, value: str | None) -> str | None:
        """Free text a customer or staff member typed, with phone numbers inside masked unless shown in full."""
        return value if self.full_phone or not value else mask_phones_in(value)


def personal_data_access(session: Session, staff: Staff, complaint: Complaint,
                         settings: WorkflowSettings) -> PersonalDataAccess:
    """Identity per `permissions.can_see_complainant`; the phone in full only for the lead office and
    the responsible person (who call the complainant back), masked for everyone else who sees the case."""
    identity = can_see_complainant(session, staff, complaint, settings)
    full_phone = identity and not is_read_only(staff) and (
        in_lead_office(session, staff, complaint) or is_responsible(staff, complaint)
    )
    return PersonalDataAccess(identity=identity, full_phone=full_phone)


__all__ = [
    "CONSOLE_ROLE_LABELS",
    "STAFF_ROLES_FOR",
    "ConsoleRole",
    "PersonalDataAccess",
    "console_role",
    "console_roles",
    "find_visible",
    "personal_data_access",
    "scope_clause",
    "visible_complaints",
]
