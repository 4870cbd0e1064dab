"""The workflow operations: every change to a complaint after registration goes through one of these.

Each is a plain function taking the session, the acting staff member and the complaint (the console,
the REST API, WeCom chat commands and the scheduler all call the same functions), plus a
`HandlerContext` for the clock (``ctx.now``) and the configuration (``ctx.policy``). Each one, in order:

1. checks the move against the transition table (`IllegalTransition` naming state and action),
2. checks the actor (`PermissionDenied`, `Recusal`),
3. checks its required fields (`MissingField`, `InvalidValue`) and earlier steps (`PreconditionFailed`),
4. changes the records and writes ONE timeline event with the before/after of every change,
5. moves the deadlines (its SLA events meet and start milestones),
6. queues its messages in the outbox — all in the caller's transaction: it flushes, never commits.

Operations that create a record (investigation, plan, extension, follow-up) return it; the others
return the timeline event they wrote.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.privacy import mask_phone
from handlers.sla.calendar import SHANGHAI
from handlers.sla.calendar_store import load_calendar
from handlers.sla.presets import compute_due
from handlers.workflow import deadlines, notify, permissions
from handlers.workflow.errors import InvalidValue, MissingField, NotFound, PermissionDenied, PreconditionFailed
from handlers.workflow.settings import WorkflowSettings
from handlers.workflow.transitions import Action, Actor, apply, changes, json_value, target_state
from handlers.workflow.vocab import (
    CAUSES,
    CLOSE_OUTCOMES,
    CONTACT_METHODS,
    FOLLOW_UP_METHODS,
    INVESTIGATION_METHODS,
    MEASURES,
    RESPONSIBILITY,
    RESPONSIBILITY_TYPES,
    labels,
)
from storage.models import (
    Complaint,
    ComplaintStatus,
    Department,
    DepartmentKind,
    Extension,
    ExtensionStatus,
    FollowUp,
    Investigation,
    Plan,
    PlanStatus,
    Severity,
    Staff,
    TimelineEvent,
)

S = ComplaintStatus


# -- shared steps --------------------------------------------------------------------------------


def _settings(ctx: HandlerContext) -> WorkflowSettings:
    return ctx.policy.workflow


def _begin(session: Session, staff: Staff, complaint: Complaint, action: Action) -> None:
    """The two checks every staff operation starts with: the table, then the actor."""
    target_state(complaint.status, action)
    permissions.check(session, staff, action, complaint)


def _text(value: str | None, field: str, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise MissingField(field, label)
    return text


def _codes(values: Iterable[str] | None, table: dict[str, str] | Any, field: str, label: str) -> list[str]:
    codes = list(dict.fromkeys(values or []))
    if not codes:
        raise MissingField(field, label)
    for code in codes:
        if code not in table:
            raise InvalidValue(field, code, f"可选：{'、'.join(f'{k}({v})' for k, v in table.items())}")
    return codes


def _code(value: str | None, table: dict[str, str] | Any, field: str, label: str) -> str:
    if not value:
        raise MissingField(field, label)
    if value not in table:
        raise InvalidValue(field, value, f"可选：{'、'.join(f'{k}({v})' for k, v in table.items())}")
    return value


def _department(session: Session, department: Department | int | None, field: str) -> Department | None:
    if department is None:
        return None
    found = session.get(Department, department if isinstance(department, int) else department.id)
    if found is None or not found.active:
        raise InvalidValue(field, getattr(department, "code", department), "部门不存在或已停用")
    return found


def _staff(session: Session, staff: Staff | int | None, field: str) -> Staff | None:
    if staff is None:
        return None
    found = session.get(Staff, staff if isinstance(staff, int) else staff.id)
    if found is None or not found.active:
        raise InvalidValue(field, getattr(staff, "wecom_userid", staff), "人员不存在或已停用")
    return found


def _step(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    ctx: HandlerContext,
    *,
    changed: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
    sla_events: Sequence[str] = (),
    sla_at: dt.datetime | None = None,
) -> TimelineEvent:
    """Apply the transition, write its timeline event, and move the deadlines its SLA events touch."""
    extra = dict(details or {})
    at = sla_at or ctx.now
    if sla_events and sla_at is not None:
        extra["sla_at"] = {name: sla_at for name in sla_events}
    event = apply(session, complaint, action, actor, ctx.now, changed=changed, details=extra,
                  sla_events=tuple(sla_events))
    if sla_events:
        moved = deadlines.on_events(session, complaint, sla_events, at, ctx.now, policy=ctx.policy)
        summary = moved.summary()
        if summary:
            event.details = {**event.details, **json_value(summary)}
            session.flush()
    return event


def _current_investigation(session: Session, complaint: Complaint) -> Investigation | None:
    return session.scalars(
        sa.select(Investigation)
        .where(Investigation.complaint_id == complaint.id)
        .order_by(Investigation.round.desc())
        .limit(1)
    ).first()


def _current_plan(session: Session, complaint: Complaint) -> Plan | None:
    return session.scalars(
        sa.select(Plan)
        .where(Plan.complaint_id == complaint.id, Plan.status.notin_([PlanStatus.SUPERSEDED, PlanStatus.REJECTED]))
        .order_by(Plan.id.desc())
        .limit(1)
    ).first()


def _identity_for(session: Session, staff: Staff, complaint: Complaint, settings: WorkflowSettings) -> bool:
    return permissions.can_see_complainant(session, staff, complaint, settings)


def _tell_each(
    session: Session,
    complaint: Complaint,
    staff: Iterable[Staff | None],
    template: str,
    ctx: HandlerContext,
    *,
    key: str,
    title: str | None = None,
    **context: Any,
) -> None:
    """One message per person, so each text shows the complainant only to those allowed to see them."""
    conf = _settings(ctx)
    for person in dict.fromkeys(s for s in staff if s is not None):
        notify.tell_staff(
            session, complaint, [person], template, now=ctx.now, title=title, dedupe_key=f"{key}:{person.id}",
            show_identity=_identity_for(session, person, complaint, conf),
            phone=mask_phone(complaint.phone), category=ctx.policy.category_label(complaint.category),
            due=notify.local_time(complaint.due_at), recipient=person, **context,
        )


def load_complaint(session: Session, key: int | str, *, for_update: bool = True) -> Complaint:
    """A complaint by id or number (投诉编号), row-locked for the change about to be made.

    The lock is the first one an operation takes (the lock order: handlers/workflow/deadlines.py), and
    the row is read again under it, even if this session loaded it before.
    """
    query = sa.select(Complaint)
    query = query.where(Complaint.id == key) if isinstance(key, int) else query.where(Complaint.number == key)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = session.scalars(query).first()
    if found is None:
        raise NotFound(f"投诉 {key} 不存在")
    return found


# -- triage and routing --------------------------------------------------------------------------


def triage(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    valid: bool,
    category: str | None = None,
    severity: Severity | str | None = None,
    urgent: bool | None = None,
    lead_office: Department | int | None = None,
    handling_department: Department | int | None = None,
    responsible: Staff | int | None = None,
    complained_staff: Staff | int | None = None,
    invalid_reason: str | None = None,
    explanation: str | None = None,
    note: str | None = None,
) -> TimelineEvent:
    """分类: valid or not, category, severity (staff decide: confirmed), 紧急, routing.

    An invalid complaint goes on to `mark_invalid` (explained to the complainant, closed); a valid one
    given a handling department or a responsible person goes on to `assign` (with only a responsible
    person, to the department the intake routed the case to). Each step writes its own timeline event;
    the triage event is returned.
    """
    _begin(session, staff, complaint, Action.TRIAGE)
    conf = _settings(ctx)
    if not valid:
        _text(invalid_reason, "invalid_reason", "无效原因")
    office = _department(session, lead_office, "lead_office")
    if office is None and complaint.lead_office_id is None:
        own = _department(session, staff.department_id, "lead_office") if staff.department_id else None
        office = own if own is not None and own.kind is DepartmentKind.LEAD_OFFICE else None
    if office is not None and office.kind is not DepartmentKind.LEAD_OFFICE:
        raise InvalidValue("lead_office", office.code, "须为归口部门（lead_office）")
    try:
        new_severity = Severity(severity) if severity is not None else complaint.severity
    except ValueError:
        raise InvalidValue("severity", severity, "general（一般）或 major（重大）") from None
    complained = _staff(session, complained_staff, "complained_staff")
    before = {
        "is_valid": complaint.is_valid, "category": complaint.category, "severity": complaint.severity,
        "severity_confirmed": complaint.severity_confirmed, "urgent": complaint.urgent,
        "lead_office_id": complaint.lead_office_id, "complained_staff_id": complaint.complained_staff_id,
        "sla_preset": complaint.sla_preset,
    }
    complaint.is_valid = valid
    if category:
        complaint.category = category
    complaint.severity = new_severity
    complaint.severity_confirmed = True
    if urgent is not None:
        complaint.urgent = urgent
    if office is not None:
        complaint.lead_office_id = office.id
    if complained is not None:
        complaint.complained_staff_id = complained.id
    preset_key = conf.preset_key_for(complaint.category)
    if category and preset_key != complaint.sla_preset:
        complaint.sla_preset = preset_key
    after = {
        "is_valid": complaint.is_valid, "category": complaint.category, "severity": complaint.severity,
        "severity_confirmed": complaint.severity_confirmed, "urgent": complaint.urgent,
        "lead_office_id": complaint.lead_office_id, "complained_staff_id": complaint.complained_staff_id,
        "sla_preset": complaint.sla_preset,
    }
    event = _step(
        session, complaint, Action.TRIAGE, Actor.of(staff), ctx,
        changed=changes(**{k: (before[k], after[k]) for k in before}),
        details={"note": note} if note else None,
    )
    if (before["severity"], before["sla_preset"], before["category"]) != (
        complaint.severity, complaint.sla_preset, complaint.category
    ):
        moved = deadlines.recompute_open_deadlines(session, complaint, ctx.now, policy=ctx.policy)
        if moved.summary():
            event.details = {**event.details, **json_value(moved.summary())}
    if complaint.severity is Severity.MAJOR:
        deadlines.notify_management_of_major(session, complaint, ctx.now, reason="triaged", policy=ctx.policy)
    if not valid:
        mark_invalid(session, staff, complaint, ctx=ctx, reason=invalid_reason or "", explanation=explanation)
    elif handling_department is not None or responsible is not None:
        target = handling_department if handling_department is not None else complaint.handling_department_id
        if target is None:
            raise MissingField("handling_department", "承办部门")
        assign(session, staff, complaint, ctx=ctx, handling_department=target, responsible=responsible)
    session.flush()
    return event


def mark_invalid(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    reason: str,
    explanation: str | None = None,
) -> TimelineEvent:
    """无效投诉: explain to the complainant and close (seed 000 §三(二), seed 004 交办)."""
    _begin(session, staff, complaint, Action.MARK_INVALID)
    conf = _settings(ctx)
    reason = _text(reason, "invalid_reason", "无效原因")
    explanation = (explanation or "").strip() or None
    before = (complaint.is_valid, complaint.invalid_reason, complaint.closed_at, complaint.retain_until)
    complaint.is_valid = False
    complaint.invalid_reason = reason
    complaint.closed_at = ctx.now
    complaint.retain_until = _retain_until(ctx.now, conf)
    event = _step(
        session, complaint, Action.MARK_INVALID, Actor.of(staff), ctx,
        changed=changes(
            is_valid=(before[0], False), invalid_reason=(before[1], reason),
            closed_at=(before[2], complaint.closed_at), retain_until=(before[3], complaint.retain_until),
        ),
        details={"explanation": explanation or reason, "customer_notified": bool(complaint.openid)},
    )
    cancelled = deadlines.cancel_unmet_deadlines(session, complaint, "投诉无效，已办结")
    if cancelled:
        event.details = {**event.details, "deadlines_cancelled": [d.milestone for d in cancelled]}
    notify.tell_customer(
        session, complaint, "invalid", now=ctx.now, policy=ctx.policy, dedupe_key=f"wf:{complaint.id}:invalid",
        explanation=explanation or reason, company=ctx.company_name,
    )
    session.flush()
    return event


def _check_responsible(
    session: Session, complaint: Complaint, person: Staff | None, department: Department, action: Action
) -> None:
    if person is None:
        return
    permissions.check_not_recused(person, complaint, role="责任人", action=action)
    if person.department_id != department.id:
        raise InvalidValue("responsible", person.wecom_userid, f"责任人须为{department.name}人员")


def assign(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    handling_department: Department | int,
    responsible: Staff | int | None = None,
    note: str | None = None,
) -> TimelineEvent:
    """交办: hand the case to a handling department and (optionally) its responsible person 责任人.

    Without a responsible person the department head is asked to nominate one (seed 004: 承办部门要
    指定专人); the responsible person can never be the complained-about person (回避).
    """
    _begin(session, staff, complaint, Action.ASSIGN)
    department = _department(session, handling_department, "handling_department")
    if department is None:
        raise MissingField("handling_department", "承办部门")
    person = _staff(session, responsible, "responsible")
    _check_responsible(session, complaint, person, department, Action.ASSIGN)
    if complaint.lead_office_id is None:
        raise MissingField("lead_office", "归口部门")
    before = (complaint.handling_department_id, complaint.responsible_staff_id)
    complaint.handling_department_id = department.id
    complaint.responsible_staff_id = person.id if person else None
    event = _step(
        session, complaint, Action.ASSIGN, Actor.of(staff), ctx,
        changed=changes(
            handling_department_id=(before[0], department.id),
            responsible_staff_id=(before[1], complaint.responsible_staff_id),
        ),
        details={"note": note, "handling_department": department.name, "responsible": person.name if person else None},
        sla_events=("assigned",),
    )
    _announce_assignment(session, complaint, department, person, ctx, key=f"wf:{complaint.id}:e{event.id}", note=note)
    return event


def _announce_assignment(
    session: Session,
    complaint: Complaint,
    department: Department,
    person: Staff | None,
    ctx: HandlerContext,
    *,
    key: str,
    note: str | None,
) -> None:
    if person is not None:
        _tell_each(session, complaint, [person], "assigned", ctx, key=f"{key}:assigned", title="新交办投诉",
                   department=department, note=note)
    heads = [h for h in notify.department_heads(session, complaint) if person is None or h.id != person.id]
    template = "assigned_head" if person is not None else "nominate_responsible"
    _tell_each(session, complaint, heads, template, ctx, key=f"{key}:{template}", title="新交办投诉",
               department=department, responsible=person, note=note)


def reassign(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    responsible: Staff | int,
    reason: str,
    handling_department: Department | int | None = None,
) -> TimelineEvent:
    """改派: a new responsible person (and, for the lead office or management, a new department).

    The head of the handling department may change the responsible person within the department;
    moving the case to another department is the lead office's (or management's) call.
    """
    _begin(session, staff, complaint, Action.REASSIGN)
    reason = _text(reason, "reason", "改派原因")
    department = _department(session, handling_department, "handling_department") or _department(
        session, complaint.handling_department_id, "handling_department"
    )
    if department is None:
        raise MissingField("handling_department", "承办部门")
    if department.id != complaint.handling_department_id and not permissions.may(
        session, staff, Action.ASSIGN, complaint
    ):
        raise PermissionDenied(Action.REASSIGN.label, "改派到其他部门须由归口部门或管理层决定",
                               staff=f"{staff.name}({staff.wecom_userid})")
    person = _staff(session, responsible, "responsible")
    if person is None:
        raise MissingField("responsible", "责任人")
    _check_responsible(session, complaint, person, department, Action.REASSIGN)
    if person.id == complaint.responsible_staff_id and department.id == complaint.handling_department_id:
        raise InvalidValue("responsible", person.wecom_userid, "与当前责任人相同")
    previous = session.get(Staff, complaint.responsible_staff_id) if complaint.responsible_staff_id else None
    before = (complaint.handling_department_id, complaint.responsible_staff_id)
    complaint.handling_department_id = department.id
    complaint.responsible_staff_id = person.id
    event = _step(
        session, complaint, Action.REASSIGN, Actor.of(staff), ctx,
        changed=changes(handling_department_id=(before[0], department.id), responsible_staff_id=(before[1], person.id)),
        details={"reason": reason, "handling_department": department.name, "responsible": person.name},
    )
    key = f"wf:{complaint.id}:e{event.id}"
    _tell_each(session, complaint, [person], "assigned", ctx, key=f"{key}:assigned", title="改派投诉",
               department=department, note=reason)
    if previous is not None and previous.id != person.id:
        _tell_each(session, complaint, [previous], "reassigned_away", ctx, key=f"{key}:away", reason=reason,
                   new_responsible=person)
    return event


def change_severity(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    severity: Severity | str,
    reason: str,
) -> TimelineEvent:
    """调整严重程度 一般 ↔ 重大: recomputes every open deadline; 重大 is reported to management at once."""
    _begin(session, staff, complaint, Action.CHANGE_SEVERITY)
    reason = _text(reason, "reason", "调整原因")
    try:
        new = Severity(severity)
    except ValueError:
        raise InvalidValue("severity", severity, "general（一般）或 major（重大）") from None
    if new is complaint.severity and complaint.severity_confirmed:
        raise InvalidValue("severity", new.value, "与当前严重程度相同")
    before = (complaint.severity, complaint.severity_confirmed, complaint.due_at)
    complaint.severity = new
    complaint.severity_confirmed = True
    event = _step(session, complaint, Action.CHANGE_SEVERITY, Actor.of(staff), ctx,
                  changed=changes(severity=(before[0], new), severity_confirmed=(before[1], True)),
                  details={"reason": reason})
    moved = deadlines.recompute_open_deadlines(session, complaint, ctx.now, policy=ctx.policy)
    event.details = {
        **event.details,
        **json_value(moved.summary()),
        "changes": {**event.details.get("changes", {}), **changes(due_at=(before[2], complaint.due_at))},
    }
    if new is Severity.MAJOR:
        deadlines.notify_management_of_major(session, complaint, ctx.now, reason="severity_changed",
                                             policy=ctx.policy)
    session.flush()
    return event


def record_complained_staff(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    complained: Staff | int,
    note: str | None = None,
) -> TimelineEvent:
    """登记被投诉人. If that person is the responsible one, they are taken off the case at once (回避)
    and the department head is asked to nominate someone else."""
    _begin(session, staff, complaint, Action.RECORD_COMPLAINED_STAFF)
    person = _staff(session, complained, "complained_staff")
    if person is None:
        raise MissingField("complained_staff", "被投诉人")
    before = (complaint.complained_staff_id, complaint.responsible_staff_id)
    complaint.complained_staff_id = person.id
    if complaint.responsible_staff_id == person.id:
        complaint.responsible_staff_id = None
    event = _step(
        session, complaint, Action.RECORD_COMPLAINED_STAFF, Actor.of(staff), ctx,
        changed=changes(complained_staff_id=(before[0], person.id),
                        responsible_staff_id=(before[1], complaint.responsible_staff_id)),
        details={"note": note} if note else None,
    )
    if before[1] == person.id:
        department = _department(session, complaint.handling_department_id, "handling_department")
        if department is not None:
            _tell_each(session, complaint, notify.department_heads(session, complaint), "nominate_responsible", ctx,
                       key=f"wf:{complaint.id}:e{event.id}:recusal", title="责任人回避",
                       department=department, responsible=None, note="原责任人为被投诉人，须回避")
    return event


def record_contact(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    method: str,
    note: str | None = None,
    at: dt.datetime | None = None,
) -> TimelineEvent:
    """联系投诉人 (响应): meets the first-response limit. ``at`` records a call made a little earlier."""
    _begin(session, staff, complaint, Action.RECORD_CONTACT)
    method = _code(method, CONTACT_METHODS, "method", "联系方式")
    when = at or ctx.now
    if when > ctx.now or when < complaint.received_at:
        raise InvalidValue("at", when.isoformat(), "须在收到投诉之后、不晚于现在")
    return _step(session, complaint, Action.RECORD_CONTACT, Actor.of(staff), ctx,
                 details={"method": method, "note": note, "contacted_at": when},
                 sla_events=("first_contacted",), sla_at=when)


# -- investigation ---------------------------------------------------------------------------------


def start_investigation(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    team: Sequence[Staff | int] = (),
    note: str | None = None,
) -> Investigation:
    """开始调查 (a reopened case starts a new round). Needs a responsible person; nobody recused on the team."""
    _begin(session, staff, complaint, Action.START_INVESTIGATION)
    if complaint.responsible_staff_id is None:
        raise PreconditionFailed(Action.START_INVESTIGATION.label, "尚未指定责任人")
    members: list[Staff] = []
    for member in team:
        person = _staff(session, member, "team")
        if person is not None:
            permissions.check_not_recused(person, complaint, role="调查组成员", action=Action.START_INVESTIGATION)
            members.append(person)
    previous = _current_investigation(session, complaint)
    investigation = Investigation(
        complaint_id=complaint.id,
        round=(previous.round + 1) if previous else 1,
        started_at=ctx.now,
        started_by_id=staff.id,
        team=[m.id for m in members],
    )
    session.add(investigation)
    session.flush()
    _step(session, complaint, Action.START_INVESTIGATION, Actor.of(staff), ctx,
          details={"round": investigation.round, "team": [m.name for m in members], "note": note},
          sla_events=("investigation_started",))
    return investigation


def _investigation_or_fail(session: Session, complaint: Complaint, action: Action) -> Investigation:
    investigation = _current_investigation(session, complaint)
    if investigation is None:
        raise PreconditionFailed(action.label, "尚未开始调查")
    return investigation


_INVESTIGATION_FIELDS = (
    "methods", "findings", "cause", "cause_note", "responsibility", "responsible_department_id",
    "responsibility_type", "evidence",
)


def record_investigation(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    methods: Sequence[str],
    findings: str,
    cause: str,
    responsibility: str,
    responsible_department: Department | int | None = None,
    responsibility_type: str | None = None,
    evidence: Sequence[str] = (),
    cause_note: str | None = None,
) -> Investigation:
    """记录调查情况: methods, findings, cause, responsibility (公司/非公司), responsibility type, evidence.

    公司责任 needs the responsible department and the responsibility type (seed 002); 非公司责任
    needs evidence, because it must be explained to the customer with proof (seed 001 第八条).
    May be called again to correct the record; the timeline keeps every before/after.
    """
    _begin(session, staff, complaint, Action.RECORD_INVESTIGATION)
    investigation = _investigation_or_fail(session, complaint, Action.RECORD_INVESTIGATION)
    method_codes = _codes(methods, INVESTIGATION_METHODS, "methods", "调查方式")
    findings = _text(findings, "findings", "调查结果")
    cause = _code(cause, CAUSES, "cause", "原因")
    responsibility = _code(responsibility, RESPONSIBILITY, "responsibility", "责任判定")
    evidence_items = [str(item).strip() for item in evidence if str(item).strip()]
    department_id: int | None = None
    type_code: str | None = None
    if responsibility == "company":
        department = _department(session, responsible_department, "responsible_department")
        if department is None:
            raise MissingField("responsible_department", "责任部门")
        department_id = department.id
        type_code = _code(responsibility_type, RESPONSIBILITY_TYPES, "responsibility_type", "责任类型")
    elif not evidence_items:
        raise MissingField("evidence", "证据（非公司责任须有充分证据）")
    before = {name: getattr(investigation, name) for name in _INVESTIGATION_FIELDS}
    investigation.methods = method_codes
    investigation.findings = findings
    investigation.cause = cause
    investigation.cause_note = (cause_note or "").strip() or None
    investigation.responsibility = responsibility
    investigation.responsible_department_id = department_id
    investigation.responsibility_type = type_code
    investigation.evidence = evidence_items
    investigation.recorded_at = ctx.now
    after = {name: getattr(investigation, name) for name in _INVESTIGATION_FIELDS}
    _step(session, complaint, Action.RECORD_INVESTIGATION, Actor.of(staff), ctx,
          changed=changes(**{name: (before[name], after[name]) for name in _INVESTIGATION_FIELDS}),
          details={"round": investigation.round})
    return investigation


def _investigation_milestone(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    ctx: HandlerContext,
    action: Action,
    column: str,
    event: str,
    note: str | None,
    at: dt.datetime | None,
) -> TimelineEvent:
    _begin(session, staff, complaint, action)
    investigation = _investigation_or_fail(session, complaint, action)
    when = at or ctx.now
    if when > ctx.now:
        raise InvalidValue("at", when.isoformat(), "不能晚于现在")
    before = getattr(investigation, column)
    setattr(investigation, column, when)
    return _step(session, complaint, action, Actor.of(staff), ctx,
                 changed=changes(**{column: (before, when)}), details={"note": note, "round": investigation.round},
                 sla_events=(event,), sla_at=when)


def decide_site_visit(session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext,
                      note: str | None = None, at: dt.datetime | None = None) -> TimelineEvent:
    """决定现场核查: starts the 3-working-day site-visit limit (seed 001 第七条)."""
    return _investigation_milestone(session, staff, complaint, ctx, Action.DECIDE_SITE_VISIT,
                                    "site_visit_decided_at", "site_visit_decided", note, at)


def record_site_visit(session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext,
                      note: str | None = None, at: dt.datetime | None = None) -> TimelineEvent:
    """到达现场: meets the site-visit limit."""
    return _investigation_milestone(session, staff, complaint, ctx, Action.RECORD_SITE_VISIT,
                                    "site_visited_at", "site_visited", note, at)


def receive_sample(session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext,
                   note: str | None = None, at: dt.datetime | None = None) -> TimelineEvent:
    """收到复检样品: starts the 3-working-day retest limit."""
    return _investigation_milestone(session, staff, complaint, ctx, Action.RECEIVE_SAMPLE,
                                    "sample_received_at", "sample_received", note, at)


def record_retest(session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext,
                  note: str | None = None, at: dt.datetime | None = None) -> TimelineEvent:
    """出具复检报告: meets the retest limit."""
    return _investigation_milestone(session, staff, complaint, ctx, Action.RECORD_RETEST,
                                    "retest_reported_at", "retest_reported", note, at)


def submit_report(
    session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext, report_text: str
) -> Investigation:
    """提交调查分析报告 (cause, responsibility, suggestion): needs the investigation recorded first."""
    _begin(session, staff, complaint, Action.SUBMIT_REPORT)
    investigation = _investigation_or_fail(session, complaint, Action.SUBMIT_REPORT)
    for name, label in (("findings", "调查结果"), ("cause", "原因"), ("responsibility", "责任判定")):
        if not getattr(investigation, name):
            raise MissingField(name, label)
    text = _text(report_text, "report_text", "调查分析报告")
    before = (investigation.report_text, investigation.report_submitted_at)
    investigation.report_text = text
    investigation.report_submitted_at = ctx.now
    investigation.report_submitted_by_id = staff.id
    _step(session, complaint, Action.SUBMIT_REPORT, Actor.of(staff), ctx,
          changed=changes(report_text=(before[0], text), report_submitted_at=(before[1], ctx.now)),
          details={"round": investigation.round}, sla_events=("report_submitted",))
    return investigation


# -- plan ------------------------------------------------------------------------------------------


def approval_reasons(
    complaint: Complaint, measures: Sequence[str], amount: decimal.Decimal | None, settings: WorkflowSettings
) -> list[str]:
    """Why a plan needs management approval: ``major`` (重大投诉) and/or ``money`` (赔款/折让/退款)."""
    reasons: list[str] = []
    if complaint.severity is Severity.MAJOR:
        reasons.append("major")
    money = (amount is not None and amount > 0) or any(m in settings.money_measures for m in measures)
    if settings.approval_for_money and money and (amount is None or amount > settings.money_threshold):
        reasons.append("money")
    return reasons


def propose_plan(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    measures: Sequence[str],
    description: str,
    due_date: dt.date,
    amount: decimal.Decimal | int | str | None = None,
    responsible_department: Department | int | None = None,
) -> Plan:
    """制定处置方案: measures, amount (money), responsible department, due date.

    A 重大 complaint's plan, and any plan with money (经济赔偿, 折让, 退款 or an amount over the
    configured threshold), goes to management for approval (方案待审批); any other plan is ready to
    start. A new proposal replaces a plan not yet started.
    """
    conf = _settings(ctx)
    investigation = _current_investigation(session, complaint)
    codes = list(dict.fromkeys(measures or []))
    money_amount = _amount(amount)
    reasons = approval_reasons(complaint, codes, money_amount, conf) if codes else []
    action = Action.SUBMIT_PLAN_FOR_APPROVAL if reasons else Action.PROPOSE_PLAN
    _begin(session, staff, complaint, action)
    if investigation is None or investigation.report_submitted_at is None:
        raise PreconditionFailed(action.label, "须先提交调查分析报告")
    codes = _codes(codes, MEASURES, "measures", "处置措施")
    text = _text(description, "description", "方案内容")
    if due_date is None:
        raise MissingField("due_date", "完成时限")
    if due_date < ctx.today:
        raise InvalidValue("due_date", due_date.isoformat(), "完成时限不能早于今天")
    if any(code in conf.money_measures for code in codes) and money_amount is None:
        raise MissingField("amount", "金额（涉及赔偿、折让或退款）")
    department = _department(session, responsible_department, "responsible_department") or _department(
        session, complaint.handling_department_id, "responsible_department"
    )
    if department is None:
        raise MissingField("responsible_department", "责任部门")
    replaced = _current_plan(session, complaint)
    if replaced is not None and replaced.status is PlanStatus.PROPOSED:
        replaced.status = PlanStatus.SUPERSEDED
    plan = Plan(
        complaint_id=complaint.id,
        round=investigation.round,
        measures=codes,
        description=text,
        amount=money_amount,
        responsible_department_id=department.id,
        due_date=due_date,
        status=PlanStatus.PENDING_APPROVAL if reasons else PlanStatus.PROPOSED,
        proposed_by_id=staff.id,
        proposed_at=ctx.now,
        approval_required=bool(reasons),
        approval_reasons=reasons,
    )
    session.add(plan)
    session.flush()
    event = _step(session, complaint, action, Actor.of(staff), ctx, details={
        "plan_id": plan.id, "measures": codes, "amount": money_amount, "due_date": due_date,
        "responsible_department": department.name, "approval_reasons": reasons,
        "replaces_plan_id": replaced.id if replaced is not None and replaced.status is PlanStatus.SUPERSEDED else None,
    })
    if reasons:
        _tell_each(session, complaint, notify.approvers(session, complaint, exclude=[staff.id]),
                   "plan_approval_request", ctx, key=f"wf:{complaint.id}:e{event.id}:approval", title="处置方案待审批",
                   plan=plan, measures=labels(MEASURES, codes), reasons=reasons, department=department,
                   due_date=notify.local_date(due_date), proposer=staff)
    return plan


def _amount(value: decimal.Decimal | int | str | None) -> decimal.Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = decimal.Decimal(str(value)).quantize(decimal.Decimal("0.01"))
    except decimal.InvalidOperation:
        raise InvalidValue("amount", value, "须为金额数字") from None
    if amount < 0:
        raise InvalidValue("amount", value, "金额不能为负")
    return amount


def _pending_plan(session: Session, complaint: Complaint, action: Action) -> Plan:
    plan = _current_plan(session, complaint)
    if plan is None or plan.status is not PlanStatus.PENDING_APPROVAL:
        raise PreconditionFailed(action.label, "没有待审批的处置方案")
    return plan


def _decide(
    session: Session, staff: Staff, complaint: Complaint, ctx: HandlerContext, action: Action, note: str | None
) -> Plan:
    _begin(session, staff, complaint, action)
    permissions.check_not_recused(staff, complaint, role="审批人", action=action)
    plan = _pending_plan(session, complaint, action)
    if plan.proposed_by_id == staff.id:
        raise PermissionDenied(action.label, "不能审批自己提出的方案", staff=f"{staff.name}({staff.wecom_userid})")
    approved = action is Action.APPROVE_PLAN
    before = plan.status
    plan.status = PlanStatus.APPROVED if approved else PlanStatus.REJECTED
    plan.decided_by_id = staff.id
    plan.decided_at = ctx.now
    plan.decision_note = note
    event = _step(session, complaint, action, Actor.of(staff), ctx,
                  changed=changes(plan_status=(before, plan.status)),
                  details={"plan_id": plan.id, "note": note},
                  sla_events=("plan_approved",) if approved else ())
    proposer = session.get(Staff, plan.proposed_by_id) if plan.proposed_by_id else None
    responsible = session.get(Staff, complaint.responsible_staff_id) if complaint.responsible_staff_id else None
    _tell_each(session, complaint, [proposer, responsible], "plan_decided", ctx,
               key=f"wf:{complaint.id}:e{event.id}:decided", title="处置方案审批结果",
               plan=plan, approved=approved, approver=staff, note=note)
    return plan


def approve_plan(
    session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext, note: str | None = None
) -> Plan:
    """批准处置方案 (management; never the complained-about person nor the proposer)."""
    return _decide(session, staff, complaint, ctx, Action.APPROVE_PLAN, (note or "").strip() or None)


def reject_plan(session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext, note: str) -> Plan:
    """驳回处置方案, with the reason: back to investigating for a new plan."""
    text = _text(note, "note", "驳回理由")
    return _decide(session, staff, complaint, ctx, Action.REJECT_PLAN, text)


def start_implementation(
    session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext, note: str | None = None
) -> Plan:
    """启动实施: the plan must be approved when the rules require approval (checked again now)."""
    _begin(session, staff, complaint, Action.START_IMPLEMENTATION)
    plan = _current_plan(session, complaint)
    if plan is not None and plan.status is PlanStatus.PENDING_APPROVAL:
        raise PreconditionFailed(Action.START_IMPLEMENTATION.label, "处置方案须先经公司管理层审批")
    if plan is None or plan.status not in (PlanStatus.PROPOSED, PlanStatus.APPROVED):
        raise PreconditionFailed(Action.START_IMPLEMENTATION.label, "尚无可实施的处置方案")
    needs = approval_reasons(complaint, plan.measures, plan.amount, _settings(ctx))
    if needs and plan.status is not PlanStatus.APPROVED:
        raise PreconditionFailed(Action.START_IMPLEMENTATION.label, "处置方案须先经公司管理层审批")
    before = plan.status
    plan.status = PlanStatus.IN_PROGRESS
    plan.started_at = ctx.now
    _step(session, complaint, Action.START_IMPLEMENTATION, Actor.of(staff), ctx,
          changed=changes(plan_status=(before, plan.status)), details={"plan_id": plan.id, "note": note},
          sla_events=("plan_started",))
    return plan


def complete_implementation(
    session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext, note: str
) -> Plan:
    """实施完成 (what was done): starts the limit for feeding the result back."""
    _begin(session, staff, complaint, Action.COMPLETE_IMPLEMENTATION)
    text = _text(note, "note", "实施情况")
    plan = _current_plan(session, complaint)
    if plan is None or plan.status is not PlanStatus.IN_PROGRESS:
        raise PreconditionFailed(Action.COMPLETE_IMPLEMENTATION.label, "处置方案未在实施中")
    plan.status = PlanStatus.COMPLETED
    plan.completed_at = ctx.now
    plan.completion_note = text
    _step(session, complaint, Action.COMPLETE_IMPLEMENTATION, Actor.of(staff), ctx,
          changed=changes(plan_status=(PlanStatus.IN_PROGRESS, PlanStatus.COMPLETED)),
          details={"plan_id": plan.id, "note": text}, sla_events=("implementation_done",))
    return plan


def add_progress_note(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    text: str,
    to_customer: bool = False,
) -> TimelineEvent:
    """进展记录; with ``to_customer`` the complainant is told too (in WeChat)."""
    _begin(session, staff, complaint, Action.ADD_PROGRESS_NOTE)
    body = _text(text, "text", "进展情况")
    event = _step(session, complaint, Action.ADD_PROGRESS_NOTE, Actor.of(staff), ctx,
                  details={"text": body, "to_customer": to_customer and bool(complaint.openid)})
    if to_customer:
        notify.tell_customer(session, complaint, "progress", now=ctx.now, policy=ctx.policy,
                             dedupe_key=f"wf:{complaint.id}:e{event.id}:progress",
                             text=body, company=ctx.company_name)
    return event


def feed_back_result(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    text: str,
    channel: str | None = None,
) -> TimelineEvent:
    """反馈处理结果 to the complainant (WeChat, or recorded as told by phone/letter): → resolved.

    Meets the result-feedback and whole-case limits and starts the follow-up limit (回访).
    """
    _begin(session, staff, complaint, Action.FEED_BACK_RESULT)
    plan = _current_plan(session, complaint)
    if plan is None or plan.status is not PlanStatus.COMPLETED:
        raise PreconditionFailed(Action.FEED_BACK_RESULT.label, "处置方案尚未实施完成")
    body = _text(text, "text", "处理结果")
    via = channel or ("wechat" if complaint.openid else None)
    if via is None:
        raise MissingField("channel", "反馈方式（该投诉不是通过微信提交的）")
    via = _code(via, CONTACT_METHODS, "channel", "反馈方式")
    if via == "wechat" and not complaint.openid:
        raise InvalidValue("channel", via, "该投诉没有微信联系方式")
    before = complaint.result_text
    complaint.result_text = body
    event = _step(session, complaint, Action.FEED_BACK_RESULT, Actor.of(staff), ctx,
                  changed=changes(result_text=(before, body)), details={"channel": via},
                  sla_events=("result_fed_back", "customer_replied"))
    if via == "wechat":
        notify.tell_customer(session, complaint, "result", now=ctx.now, policy=ctx.policy,
                             dedupe_key=f"wf:{complaint.id}:e{event.id}:result",
                             text=body, company=ctx.company_name)
    return event


def record_follow_up(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    method: str,
    notes: str,
    satisfied: bool | None = None,
    score: int | None = None,
    at: dt.datetime | None = None,
) -> FollowUp:
    """回访 (seed 001 第十一条, seed 004): method, notes and the complainant's opinion → 回访中.

    An unsatisfied answer (or a score under the configured 85) is recorded as such; reopening the
    case (`reopen`) is the next step, a deliberate act of the lead office.
    """
    _begin(session, staff, complaint, Action.RECORD_FOLLOW_UP)
    conf = _settings(ctx)
    method = _code(method, FOLLOW_UP_METHODS, "method", "回访方式")
    body = _text(notes, "notes", "回访情况")
    if score is not None and not 0 <= score <= 100:
        raise InvalidValue("score", score, "满意度为 0–100 分")
    when = at or ctx.now
    if when > ctx.now:
        raise InvalidValue("at", when.isoformat(), "不能晚于现在")
    if satisfied is None and score is not None:
        satisfied = score >= conf.satisfied_score
    follow_up = FollowUp(complaint_id=complaint.id, at=when, staff_id=staff.id, method=method, notes=body,
                         satisfied=satisfied, score=score)
    session.add(follow_up)
    session.flush()
    _step(session, complaint, Action.RECORD_FOLLOW_UP, Actor.of(staff), ctx,
          details={"follow_up_id": follow_up.id, "method": method, "satisfied": satisfied, "score": score},
          sla_events=("follow_up_done",), sla_at=when)
    return follow_up


# -- extension, reopen, close ------------------------------------------------------------------------


def _end_of_day(day: dt.date, settings: WorkflowSettings) -> dt.datetime:
    return dt.datetime.combine(day, settings.calendar.end_of_day, tzinfo=SHANGHAI).astimezone(dt.UTC)


def pending_extension(session: Session, complaint: Complaint) -> Extension | None:
    return session.scalars(
        sa.select(Extension)
        .where(Extension.complaint_id == complaint.id, Extension.status == ExtensionStatus.PENDING)
        .order_by(Extension.id)
        .limit(1)
    ).first()


def request_extension(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    reason: str,
    new_due: dt.date,
    via: str | None = None,
) -> Extension:
    """申请延期 (seed 001 第十条): before the whole-case deadline, ask the complainant to agree.

    The question goes to the complainant in WeChat (``同意``/``不同意``); a complaint that did not come
    through WeChat is asked by phone or letter (``via``) and the answer recorded with
    `answer_extension`. Nothing moves until the complainant consents. The new date may not exceed the
    preset's ceiling (e.g. 特殊投诉最长不超过10个工作日 in ``general``).
    """
    _begin(session, staff, complaint, Action.REQUEST_EXTENSION)
    conf = _settings(ctx)
    text = _text(reason, "reason", "延期原因")
    if new_due is None:
        raise MissingField("new_due", "延期后的办结日期")
    if complaint.due_at is None:
        raise PreconditionFailed(Action.REQUEST_EXTENSION.label, "本投诉没有整体处理时限")
    whole = [d for d in deadlines.unmet_deadlines(session, complaint) if d.milestone == "whole_case"]
    if not whole:
        raise PreconditionFailed(Action.REQUEST_EXTENSION.label, "整体处理时限已不在计时中")
    if ctx.now >= complaint.due_at:
        raise PreconditionFailed(Action.REQUEST_EXTENSION.label, "已超过整体处理时限，延期须在到期前提出")
    if pending_extension(session, complaint) is not None:
        raise PreconditionFailed(Action.REQUEST_EXTENSION.label, "已有一项延期申请等待客户答复")
    due = _end_of_day(new_due, conf)
    if due <= complaint.due_at:
        raise InvalidValue("new_due", new_due.isoformat(), f"须晚于当前时限 {notify.local_time(complaint.due_at)}")
    preset = conf.preset(complaint.sla_preset, complaint.category)
    limit = preset.milestone("whole_case").limit(complaint.severity.value)
    if limit.ceiling is not None:
        ceiling = compute_due(preset, "whole_case", whole[0].anchor_at, complaint.severity.value,
                              load_calendar(session, ctx.policy.calendar), ceiling=True)
        if due > ceiling:
            raise InvalidValue("new_due", new_due.isoformat(),
                               f"最长只能延至 {notify.local_time(ceiling)}（{limit.ceiling.label()}）")
    channel = via or ("wechat" if complaint.openid else None)
    if channel is None:
        raise MissingField("via", "征询方式（该投诉不是通过微信提交的，须电话或书面征询）")
    channel = _code(channel, CONTACT_METHODS, "via", "征询方式")
    if channel == "wechat" and not complaint.openid:
        raise InvalidValue("via", channel, "该投诉没有微信联系方式")
    extension = Extension(complaint_id=complaint.id, requested_by_id=staff.id, requested_at=ctx.now, reason=text,
                          old_due_at=complaint.due_at, new_due_at=due, status=ExtensionStatus.PENDING,
                          asked_via=channel)
    session.add(extension)
    session.flush()
    _step(session, complaint, Action.REQUEST_EXTENSION, Actor.of(staff), ctx, details={
        "extension_id": extension.id, "reason": text, "current_due_at": complaint.due_at, "new_due_at": due,
        "asked_via": channel,
    })
    if channel == "wechat":
        notify.tell_customer(session, complaint, "extension_request", now=ctx.now, policy=ctx.policy,
                             dedupe_key=f"wf:{complaint.id}:extension:{extension.id}:ask", extension=extension,
                             reason=text, current_due=notify.local_time(complaint.due_at),
                             new_due=notify.local_time(due), company=ctx.company_name)
    return extension


def answer_extension(
    session: Session,
    extension: Extension,
    *,
    ctx: HandlerContext,
    consent: bool,
    answer_text: str | None = None,
    staff: Staff | None = None,
) -> TimelineEvent:
    """The complainant's answer to an extension: only consent moves the whole-case deadline.

    From WeChat the complainant is the actor (``staff`` None); a staff member records an answer given
    by phone or letter. The answer lands on the timeline with the deadline before/after (unchanged
    on refusal), and the requester is told.
    """
    complaint = load_complaint(session, extension.complaint_id)  # the lock order: the complaint first
    session.refresh(extension)  # as of the lock: the sweep may have expired it meanwhile
    target_state(complaint.status, Action.ANSWER_EXTENSION)
    if staff is not None:
        permissions.check(session, staff, Action.ANSWER_EXTENSION, complaint)
        actor = Actor.of(staff)
    else:
        actor = Actor.customer(complaint.openid)
    if extension.status is not ExtensionStatus.PENDING:
        raise PreconditionFailed(Action.ANSWER_EXTENSION.label, "该延期申请已答复或已过期")
    if ctx.now > extension.old_due_at:
        raise PreconditionFailed(Action.ANSWER_EXTENSION.label, "已超过原处理时限，延期申请已失效")
    before_due = complaint.due_at
    extension.status = ExtensionStatus.CONSENTED if consent else ExtensionStatus.REFUSED
    extension.answered_at = ctx.now
    extension.answer_text = (answer_text or "").strip() or None
    extension.answer_recorded_by_id = staff.id if staff is not None else None
    moved = None
    if consent:
        moved = deadlines.extend_whole_case(session, complaint, extension.new_due_at, ctx.now,
                                            policy=ctx.policy)
    event = _step(session, complaint, Action.ANSWER_EXTENSION, actor, ctx,
                  changed=changes(due_at=(before_due, complaint.due_at),
                                  extension_status=(ExtensionStatus.PENDING, extension.status)),
                  details={"extension_id": extension.id, "consent": consent, "answer": extension.answer_text,
                           "deadline_moved": moved is not None})
    requester = session.get(Staff, extension.requested_by_id) if extension.requested_by_id else None
    responsible = session.get(Staff, complaint.responsible_staff_id) if complaint.responsible_staff_id else None
    _tell_each(session, complaint, [requester, responsible], "extension_answered", ctx,
               key=f"wf:{complaint.id}:extension:{extension.id}:answered", title="延期答复",
               extension=extension, consent=consent, new_due=notify.local_time(extension.new_due_at),
               answer=extension.answer_text)
    return event


def reopen(
    session: Session, staff: Staff, complaint: Complaint, *, ctx: HandlerContext, reason: str
) -> TimelineEvent:
    """重新处理: the complainant is not satisfied (直至客户满意, seeds 003/004) → a new investigation round."""
    _begin(session, staff, complaint, Action.REOPEN)
    return _reopen(session, complaint, Actor.of(staff), ctx, reason)


def reopen_after_survey(session: Session, complaint: Complaint, *, ctx: HandlerContext, reason: str) -> TimelineEvent:
    """重新处理 set off by the complainant's survey answer (handlers/survey.py, a rule of the policy): the same
    step as `reopen`, by the system instead of a member of staff."""
    target_state(complaint.status, Action.REOPEN)
    return _reopen(session, complaint, Actor.system(), ctx, reason)


def _reopen(session: Session, complaint: Complaint, actor: Actor, ctx: HandlerContext, reason: str) -> TimelineEvent:
    text = _text(reason, "reason", "重新处理原因")
    before = complaint.reopen_count
    complaint.reopen_count = before + 1
    event = _step(session, complaint, Action.REOPEN, actor, ctx,
                  changed=changes(reopen_count=(before, complaint.reopen_count)), details={"reason": text})
    cancelled = deadlines.cancel_unmet_deadlines(session, complaint, "重新处理")
    if cancelled:
        event.details = {**event.details, "deadlines_cancelled": [d.milestone for d in cancelled]}
    responsible = session.get(Staff, complaint.responsible_staff_id) if complaint.responsible_staff_id else None
    _tell_each(session, complaint, [responsible, *notify.department_heads(session, complaint)], "reopened", ctx,
               key=f"wf:{complaint.id}:e{event.id}:reopened", title="投诉重新处理", reason=text)
    notify.tell_customer(session, complaint, "reopened_customer", now=ctx.now, policy=ctx.policy,
                         dedupe_key=f"wf:{complaint.id}:e{event.id}:reopened",
                         company=ctx.company_name)
    return event


def _retain_until(now: dt.datetime, settings: WorkflowSettings) -> dt.date:
    day = now.astimezone(SHANGHAI).date()
    try:
        return day.replace(year=day.year + settings.retention_years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + settings.retention_years, day=28)


def close(
    session: Session,
    staff: Staff,
    complaint: Complaint,
    *,
    ctx: HandlerContext,
    outcome: str = "satisfied",
    note: str | None = None,
) -> TimelineEvent:
    """办结: ``satisfied`` needs a satisfied follow-up (or a survey score at the threshold);
    ``no_answer`` (未评价) is counted separately, never as satisfied. Sets the retention date."""
    _begin(session, staff, complaint, Action.CLOSE)
    return _close(session, complaint, Actor.of(staff), ctx, outcome, note)


def close_after_survey(
    session: Session, complaint: Complaint, *, ctx: HandlerContext, outcome: str, note: str | None = None
) -> TimelineEvent:
    """办结 by the system at the end of a survey (handlers/survey.py): ``satisfied`` after a satisfied answer,
    ``no_answer`` (未评价) when the window passed without one. The same checks and effects as `close`."""
    target_state(complaint.status, Action.CLOSE)
    return _close(session, complaint, Actor.system(), ctx, outcome, note)


def _close(
    session: Session, complaint: Complaint, actor: Actor, ctx: HandlerContext, outcome: str, note: str | None
) -> TimelineEvent:
    conf = _settings(ctx)
    outcome = _code(outcome, CLOSE_OUTCOMES, "outcome", "办结情形")
    if outcome == "satisfied":
        latest = session.scalars(
            sa.select(FollowUp)
            .where(FollowUp.complaint_id == complaint.id)
            .order_by(FollowUp.at.desc(), FollowUp.id.desc())
        ).first()
        survey_ok = complaint.satisfaction_score is not None and complaint.satisfaction_score >= conf.satisfied_score
        if not survey_ok and (latest is None or latest.satisfied is not True):
            raise PreconditionFailed(Action.CLOSE.label, "尚无客户满意的回访或评价记录")
    elif not (note or "").strip():
        raise MissingField("note", "说明（回访无答复的情况）")
    before = (complaint.closed_at, complaint.retain_until)
    complaint.closed_at = ctx.now
    complaint.retain_until = _retain_until(ctx.now, conf)
    event = _step(session, complaint, Action.CLOSE, actor, ctx,
                  changed=changes(closed_at=(before[0], ctx.now), retain_until=(before[1], complaint.retain_until)),
                  details={"outcome": outcome, "note": note})
    cancelled = deadlines.cancel_unmet_deadlines(session, complaint, "已办结")
    if cancelled:
        event.details = {**event.details, "deadlines_cancelled": [d.milestone for d in cancelled]}
    notify.tell_customer(session, complaint, "closed", now=ctx.now, policy=ctx.policy,
                         dedupe_key=f"wf:{complaint.id}:closed", company=ctx.company_name)
    return event


__all__ = [
    "add_progress_note",
    "answer_extension",
    "approval_reasons",
    "approve_plan",
    "assign",
    "change_severity",
    "close",
    "close_after_survey",
    "complete_implementation",
    "decide_site_visit",
    "feed_back_result",
    "load_complaint",
    "mark_invalid",
    "pending_extension",
    "propose_plan",
    "reassign",
    "receive_sample",
    "record_complained_staff",
    "record_contact",
    "record_follow_up",
    "record_investigation",
    "record_retest",
    "record_site_visit",
    "reject_plan",
    "reopen",
    "reopen_after_survey",
    "request_extension",
    "start_implementation",
    "start_investigation",
    "submit_report",
    "triage",
]
