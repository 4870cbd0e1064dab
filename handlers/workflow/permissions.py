"""Who may do what to a complaint: roles, departments, and recusal (回避).

The org chart gives each staff member a department and roles (``intake`` 受理, ``handler`` 承办,
``head`` 部门负责人, ``approver`` 审批, ``management`` 管理层, ``admin`` 管理员, ``viewer`` 只读).
A case has a lead office (归口部门, owns the ledger), a handling department (承办部门) and a responsible
person (责任人).

* The lead office registers, triages, assigns, feeds back, visits and closes (seeds 000/001/004);
* the handling department (its handlers and head) and the responsible person investigate, plan
  and implement; the lead office may do these too (牵头组织, seed 001 第七条);
* approvers / management approve plans (重大, money), and may reassign, reopen and close;
* the complained-about person (被投诉人) may do nothing at all on the case, and can never be its
  responsible person or approver (seed 003 回避);
* a read-only member of staff (only the ``viewer`` role) may do nothing, and sees who complained only
  when the handling department may (``[workflow] handling_department_sees_complainant``).

Which cases each person sees at all is `handlers.workflow.scope`.

Checks raise `PermissionDenied` (or `Recusal`) naming the action; `can` answers the same question
with a boolean for the console's buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from sqlalchemy.orm import Session

from handlers.workflow.errors import PermissionDenied, Recusal
from handlers.workflow.settings import WorkflowSettings
from handlers.workflow.transitions import Action
from storage.models import Complaint, Department, DepartmentKind, Staff

INTAKE = "intake"
HANDLER = "handler"
HEAD = "head"
APPROVER = "approver"
MANAGEMENT = "management"
ADMIN = "admin"
VIEWER = "viewer"
ROLES: Final[Mapping[str, str]] = MappingProxyType(
    {
        INTAKE: "受理",
        HANDLER: "承办",
        HEAD: "部门负责人",
        APPROVER: "审批",
        MANAGEMENT: "管理层",
        ADMIN: "管理员",
        VIEWER: "只读",
    }
)


def has_role(staff: Staff, *roles: str) -> bool:
    return any(role in (staff.roles or []) for role in roles)


def is_read_only(staff: Staff) -> bool:
    """Only the ``viewer`` role: may look (within its scope), never act, never counts as management."""
    return set(staff.roles or []) == {VIEWER}


def _department(session: Session, department_id: int | None) -> Department | None:
    return session.get(Department, department_id) if department_id is not None else None


def is_management(session: Session, staff: Staff) -> bool:
    """管理层: the management role, or membership of a department of kind ``management`` (not read-only)."""
    if has_role(staff, MANAGEMENT):
        return True
    if is_read_only(staff):
        return False
    department = _department(session, staff.department_id)
    return department is not None and department.kind is DepartmentKind.MANAGEMENT


def is_head_of(session: Session, staff: Staff, department_id: int | None) -> bool:
    """The department's head as configured, or a ``head`` of that department."""
    department = _department(session, department_id)
    if department is None:
        return False
    return department.head_id == staff.id or (staff.department_id == department_id and has_role(staff, HEAD))


def in_lead_office(session: Session, staff: Staff, complaint: Complaint) -> bool:
    """A member of the case's lead office; before one is set, of any lead office."""
    if complaint.lead_office_id is not None:
        return staff.department_id == complaint.lead_office_id
    department = _department(session, staff.department_id)
    return department is not None and department.kind is DepartmentKind.LEAD_OFFICE


def is_responsible(staff: Staff, complaint: Complaint) -> bool:
    return complaint.responsible_staff_id is not None and complaint.responsible_staff_id == staff.id


def in_handling_department(staff: Staff, complaint: Complaint) -> bool:
    return complaint.handling_department_id is not None and staff.department_id == complaint.handling_department_id


def is_recused(staff: Staff, complaint: Complaint) -> bool:
    """True for the complained-about person of this complaint (回避)."""
    return complaint.complained_staff_id is not None and complaint.complained_staff_id == staff.id


# -- who may do each action ---------------------------------------------------------------------

Rule = Callable[[Session, Staff, Complaint], bool]


def _lead_office_clerk(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return in_lead_office(session, staff, complaint) and has_role(staff, INTAKE, HEAD, HANDLER)


def _lead_office_dispatcher(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return in_lead_office(session, staff, complaint) and has_role(staff, INTAKE, HEAD)


def _case_worker(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return (
        is_responsible(staff, complaint)
        or (in_handling_department(staff, complaint) and has_role(staff, HANDLER, HEAD))
        or _lead_office_clerk(session, staff, complaint)
    )


def _handling_head(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return is_head_of(session, staff, complaint.handling_department_id)


def _management(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return is_management(session, staff)


def _approver(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return has_role(staff, APPROVER) or is_management(session, staff)


def _admin(session: Session, staff: Staff, complaint: Complaint) -> bool:
    return has_role(staff, ADMIN)


def _any(*rules: Rule) -> Rule:
    def check(session: Session, staff: Staff, complaint: Complaint) -> bool:
        return any(rule(session, staff, complaint) for rule in rules)

    return check


A = Action
_DISPATCH = _any(_lead_office_dispatcher, _management, _admin)
_WORK = _any(_case_worker, _management)

RULES: Final[Mapping[Action, tuple[Rule, str]]] = MappingProxyType(
    {
        A.TRIAGE: (_DISPATCH, "须为归口部门受理人员或管理层"),
        A.MARK_INVALID: (_DISPATCH, "须为归口部门受理人员或管理层"),
        A.ASSIGN: (_DISPATCH, "须为归口部门受理人员或管理层"),
        A.REASSIGN: (_any(_DISPATCH, _handling_head), "须为归口部门、承办部门负责人或管理层"),
        A.CHANGE_SEVERITY: (_DISPATCH, "须为归口部门受理人员或管理层"),
        A.RECORD_COMPLAINED_STAFF: (_any(_DISPATCH, _handling_head), "须为归口部门、承办部门负责人或管理层"),
        A.RECORD_CONTACT: (_WORK, "须为本案承办人员或归口部门人员"),
        A.START_INVESTIGATION: (_WORK, "须为本案承办人员或归口部门人员"),
        A.RECORD_INVESTIGATION: (_WORK, "须为本案承办人员或归口部门人员"),
        A.DECIDE_SITE_VISIT: (_WORK, "须为本案承办人员或归口部门人员"),
        A.RECORD_SITE_VISIT: (_WORK, "须为本案承办人员或归口部门人员"),
        A.RECEIVE_SAMPLE: (_WORK, "须为本案承办人员或归口部门人员"),
        A.RECORD_RETEST: (_WORK, "须为本案承办人员或归口部门人员"),
        A.SUBMIT_REPORT: (_WORK, "须为本案承办人员或归口部门人员"),
        A.PROPOSE_PLAN: (_WORK, "须为本案承办人员或归口部门人员"),
        A.SUBMIT_PLAN_FOR_APPROVAL: (_WORK, "须为本案承办人员或归口部门人员"),
        A.APPROVE_PLAN: (_approver, "须为公司管理层或审批人"),
        A.REJECT_PLAN: (_approver, "须为公司管理层或审批人"),
        A.START_IMPLEMENTATION: (_WORK, "须为本案承办人员或归口部门人员"),
        A.COMPLETE_IMPLEMENTATION: (_WORK, "须为本案承办人员或归口部门人员"),
        A.ADD_PROGRESS_NOTE: (_WORK, "须为本案承办人员、归口部门人员或管理层"),
        A.FEED_BACK_RESULT: (_WORK, "须为本案承办人员或归口部门人员"),
        A.RECORD_FOLLOW_UP: (
            _any(_lead_office_clerk, lambda s, st, c: is_responsible(st, c), _handling_head, _management),
            "须为归口部门、责任人或承办部门负责人",
        ),
        A.REQUEST_EXTENSION: (_WORK, "须为本案承办人员或归口部门人员"),
        A.ANSWER_EXTENSION: (_WORK, "须为本案承办人员或归口部门人员"),
        A.REOPEN: (_any(_lead_office_clerk, _management), "须为归口部门人员或管理层"),
        A.CLOSE: (_any(_lead_office_clerk, _management), "须为归口部门人员或管理层"),
    }
)


def check(session: Session, staff: Staff, action: Action, complaint: Complaint) -> None:
    """Raise unless ``staff`` may do ``action`` on ``complaint``: active, not recused, right role/department."""
    who = f"{staff.name}({staff.wecom_userid})"
    if not staff.active:
        raise PermissionDenied(action.label, "账号已停用", staff=who)
    if is_recused(staff, complaint):
        raise Recusal(action.label, staff=who)
    if is_read_only(staff):
        raise PermissionDenied(action.label, "只读账号不能操作", staff=who)
    rule = RULES.get(action)
    if rule is None:
        raise PermissionDenied(action.label, "该操作不能由工作人员执行", staff=who)
    allowed, requirement = rule
    if not allowed(session, staff, complaint):
        raise PermissionDenied(action.label, requirement, staff=who)


def may(session: Session, staff: Staff, action: Action, complaint: Complaint) -> bool:
    """Only the role/department rule of ``action`` (no activity or recusal check)."""
    rule = RULES.get(action)
    return rule is not None and rule[0](session, staff, complaint)


def can(session: Session, staff: Staff, action: Action, complaint: Complaint) -> bool:
    """The same question as `check`, answered with a boolean."""
    try:
        check(session, staff, action, complaint)
    except PermissionDenied:
        return False
    return True


def check_not_recused(staff: Staff | None, complaint: Complaint, *, role: str, action: Action) -> None:
    """The complained-about person can never be made ``role`` (责任人, 审批人) of the case."""
    if staff is not None and is_recused(staff, complaint):
        raise Recusal(action.label, staff=f"{staff.name}({staff.wecom_userid})", role=f"担任本投诉的{role}")


def can_see_complainant(session: Session, staff: Staff, complaint: Complaint, settings: WorkflowSettings) -> bool:
    """Whether ``staff`` may see who complained (name, phone, address, openid).

    The lead office and management always see it; the handling department (its responsible person
    included) only when ``[workflow] handling_department_sees_complainant`` says so; the
    complained-about person and anyone else never (confidentiality, seeds 000/002).
    """
    if not staff.active or is_recused(staff, complaint):
        return False
    if is_read_only(staff):
        return settings.handling_department_sees_complainant
    if in_lead_office(session, staff, complaint) or is_management(session, staff):
        return True
    if is_responsible(staff, complaint) or in_handling_department(staff, complaint):
        return settings.handling_department_sees_complainant
    return False


__all__ = [
    "ADMIN",
    "APPROVER",
    "HANDLER",
    "HEAD",
    "INTAKE",
    "MANAGEMENT",
    "ROLES",
    "RULES",
    "VIEWER",
    "can",
    "can_see_complainant",
    "check",
    "check_not_recused",
    "has_role",
    "in_handling_department",
    "in_lead_office",
    "is_head_of",
    "is_management",
    "is_read_only",
    "is_recused",
    "is_responsible",
    "may",
]
