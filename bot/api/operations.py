"""``POST /api/v1/complaints/{number}/{operation}``: every workflow operation, one typed body each.

Each body carries ``version``, the case's version the caller last read (``GET /complaints/{number}``);
the operation runs only if it is still current (else 409 ``case_changed``: read again, decide again). The
operation runs the one safe way every door shares (`handlers.workflow.available.run_action`: lock,
version check, availability for this caller now, the operation of `handlers.workflow.operations`, version
moved on) in one transaction, and answers the case as it is now, with its new version.

Departments are named by their org-chart code and people by their WeCom userid (what another system
knows), turned into ids here; everything else is the operation's own argument, checked by the operation.
The system's survey start is not offered (no person may do it), and both plan actions are
``propose_plan``: the operation itself sends a plan that needs approval (重大, money) to approval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from bot.api.auth import blueprint, caller
from bot.api.complaints import CasePath
from bot.api.errors import ErrorModel, from_workflow, invalid, not_found
from bot.api.views import ComplaintDetail, detail, offered
from bot.runtime import runtime
from handlers.context import HandlerContext
from handlers.workflow import operations as ops
from handlers.workflow.available import extended_due_date, run_action
from handlers.workflow.errors import PreconditionFailed, WorkflowError
from handlers.workflow.scope import find_visible
from handlers.workflow.transitions import Action
from handlers.workflow.vocab import (
    CAUSES,
    CLOSE_OUTCOMES,
    CONTACT_METHODS,
    INVESTIGATION_METHODS,
    MEASURES,
    RESPONSIBILITY,
    RESPONSIBILITY_TYPES,
)
from storage.models import Complaint, Department, Severity, Staff

bp = blueprint("operations", "operations", "流程操作：分类、交办、调查、方案、反馈、回访、延期、办结…")

TEXT = 2000


def _codes(table: Any) -> Any:
    return Literal[*sorted(table)]


if TYPE_CHECKING:  # enumerated in the OpenAPI document; to mypy it is text
    SeverityCode: TypeAlias = str
else:
    SeverityCode = Literal[*(s.value for s in Severity)]
Contact = _codes(CONTACT_METHODS)
Code = str  # a department code or a WeCom userid


class Body(BaseModel):
    """What every operation's body has: the version the caller saw."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1, description="GET /complaints/{number} 返回的 version（乐观锁）")


class Triage(Body):
    valid: bool = True
    category: str | None = Field(None, max_length=64)
    severity: SeverityCode | None = None
    urgent: bool = False
    lead_office: Code | None = Field(None, max_length=64, description="归口部门代码")
    invalid_reason: str | None = Field(None, max_length=TEXT)
    explanation: str | None = Field(None, max_length=TEXT)
    note: str | None = Field(None, max_length=TEXT)


class MarkInvalid(Body):
    invalid_reason: str = Field(min_length=1, max_length=TEXT)
    explanation: str | None = Field(None, max_length=TEXT)


class Assign(Body):
    handling_department: Code = Field(max_length=64, description="承办部门代码")
    responsible: Code | None = Field(None, max_length=64, description="责任人的企业微信 userid")
    note: str | None = Field(None, max_length=TEXT)


class Reassign(Body):
    responsible: Code = Field(max_length=64, description="新责任人的企业微信 userid")
    reason: str = Field("", max_length=TEXT)
    handling_department: Code | None = Field(None, max_length=64)


class ChangeSeverity(Body):
    severity: SeverityCode
    reason: str = Field("", max_length=TEXT)


class ComplainedStaff(Body):
    complained_staff: Code = Field(max_length=64, description="被投诉人的企业微信 userid")
    note: str | None = Field(None, max_length=TEXT)


class Contact_(Body):
    method: Contact = "phone"  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=TEXT)
    at: AwareDatetime | None = None


class StartInvestigation(Body):
    team: list[Code] = Field(default_factory=list, max_length=20, description="调查组成员 userid")
    note: str | None = Field(None, max_length=TEXT)


class RecordInvestigation(Body):
    methods: list[_codes(INVESTIGATION_METHODS)] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]
    findings: str = Field("", max_length=TEXT)
    cause: _codes(CAUSES) | Literal[""] = ""  # type: ignore[valid-type]
    cause_note: str | None = Field(None, max_length=500)
    responsibility: _codes(RESPONSIBILITY) | Literal[""] = ""  # type: ignore[valid-type]
    responsible_department: Code | None = Field(None, max_length=64)
    responsibility_type: _codes(RESPONSIBILITY_TYPES) | None = None  # type: ignore[valid-type]
    evidence: list[str] = Field(default_factory=list, max_length=20)


class Milestone(Body):
    note: str | None = Field(None, max_length=TEXT)
    at: AwareDatetime | None = None


class Report(Body):
    report_text: str = Field("", max_length=5000)


class Plan(Body):
    measures: list[_codes(MEASURES)] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]
    description: str = Field("", max_length=TEXT)
    amount: str | None = Field(None, max_length=20, description="金额（元）")
    responsible_department: Code | None = Field(None, max_length=64)
    due_date: dt.date | None = None


class Note(Body):
    note: str | None = Field(None, max_length=TEXT)


class Progress(Body):
    text: str = Field("", max_length=TEXT)
    to_customer: bool = False


class FeedBack(Body):
    text: str = Field("", max_length=TEXT)
    channel: Contact | None = None  # type: ignore[valid-type]


class FollowUp(Body):
    method: Contact = "phone"  # type: ignore[valid-type]
    notes: str = Field("", max_length=TEXT)
    satisfied: bool | None = None
    score: int | None = Field(None, ge=0, le=100)
    at: AwareDatetime | None = None


class Extension(Body):
    days: int = Field(ge=1, le=60, description="延长的工作日数")
    reason: str = Field("", max_length=TEXT)
    via: Contact | None = None  # type: ignore[valid-type]


class AnswerExtension(Body):
    consent: bool
    answer_text: str | None = Field(None, max_length=TEXT)


class Reason(Body):
    reason: str = Field("", max_length=TEXT)


class Close(Body):
    outcome: _codes(CLOSE_OUTCOMES) = "satisfied"  # type: ignore[valid-type]
    note: str | None = Field(None, max_length=TEXT)


# -- codes to rows ---------------------------------------------------------------------------------


def _department(s: Session, code: str | None, field: str) -> int | None:
    if code is None or code == "":
        return None
    found = s.scalar(sa.select(Department.id).where(Department.code == code, Department.active.is_(True)))
    if found is None:
        raise invalid(field, kind="department")
    return int(found)


def _person(s: Session, userid: str | None, field: str) -> int | None:
    if userid is None or userid == "":
        return None
    found = s.scalar(sa.select(Staff.id).where(Staff.wecom_userid == userid, Staff.active.is_(True)))
    if found is None:
        raise invalid(field, kind="staff")
    return int(found)


def _required(value: int | None, field: str) -> int:
    if value is None:
        raise invalid(field, kind="missing")
    return value


Perform = Callable[[Session, Staff, Complaint, HandlerContext, Any], Any]


@dataclass(frozen=True)
class Operation:
    body: type[Body]
    perform: Perform


def _milestone(operation: Callable[..., Any]) -> Operation:
    return Operation(Milestone, lambda s, staff, c, ctx, b: operation(s, staff, c, ctx=ctx, note=b.note, at=b.at))


def _answer_extension(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, b: AnswerExtension) -> Any:
    extension = ops.pending_extension(s, c)
    if extension is None:
        raise PreconditionFailed(Action.ANSWER_EXTENSION.label, "没有等待答复的延期申请")
    return ops.answer_extension(s, extension, ctx=ctx, consent=b.consent, answer_text=b.answer_text, staff=staff)


A = Action
OPERATIONS: dict[Action, Operation] = {
    A.TRIAGE: Operation(Triage, lambda s, staff, c, ctx, b: ops.triage(
        s, staff, c, ctx=ctx, valid=b.valid, category=b.category, severity=b.severity, urgent=b.urgent,
        lead_office=_department(s, b.lead_office, "lead_office"), invalid_reason=b.invalid_reason,
        explanation=b.explanation, note=b.note)),
    A.MARK_INVALID: Operation(MarkInvalid, lambda s, staff, c, ctx, b: ops.mark_invalid(
        s, staff, c, ctx=ctx, reason=b.invalid_reason, explanation=b.explanation)),
    A.ASSIGN: Operation(Assign, lambda s, staff, c, ctx, b: ops.assign(
        s, staff, c, ctx=ctx, handling_department=_required(
            _department(s, b.handling_department, "handling_department"), "handling_department"),
        responsible=_person(s, b.responsible, "responsible"), note=b.note)),
    A.REASSIGN: Operation(Reassign, lambda s, staff, c, ctx, b: ops.reassign(
        s, staff, c, ctx=ctx, responsible=_required(_person(s, b.responsible, "responsible"), "responsible"),
        reason=b.reason, handling_department=_department(s, b.handling_department, "handling_department"))),
    A.CHANGE_SEVERITY: Operation(ChangeSeverity, lambda s, staff, c, ctx, b: ops.change_severity(
        s, staff, c, ctx=ctx, severity=b.severity, reason=b.reason)),
    A.RECORD_COMPLAINED_STAFF: Operation(ComplainedStaff, lambda s, staff, c, ctx, b: ops.record_complained_staff(
        s, staff, c, ctx=ctx, complained=_required(_person(s, b.complained_staff, "complained_staff"),
                                                   "complained_staff"), note=b.note)),
    A.RECORD_CONTACT: Operation(Contact_, lambda s, staff, c, ctx, b: ops.record_contact(
        s, staff, c, ctx=ctx, method=b.method, note=b.note, at=b.at)),
    A.START_INVESTIGATION: Operation(StartInvestigation, lambda s, staff, c, ctx, b: ops.start_investigation(
        s, staff, c, ctx=ctx, team=[_required(_person(s, u, "team"), "team") for u in b.team], note=b.note)),
    A.RECORD_INVESTIGATION: Operation(RecordInvestigation, lambda s, staff, c, ctx, b: ops.record_investigation(
        s, staff, c, ctx=ctx, methods=list(b.methods), findings=b.findings, cause=b.cause,
        responsibility=b.responsibility,
        responsible_department=_department(s, b.responsible_department, "responsible_department"),
        responsibility_type=b.responsibility_type, evidence=list(b.evidence), cause_note=b.cause_note)),
    A.DECIDE_SITE_VISIT: _milestone(ops.decide_site_visit),
    A.RECORD_SITE_VISIT: _milestone(ops.record_site_visit),
    A.RECEIVE_SAMPLE: _milestone(ops.receive_sample),
    A.RECORD_RETEST: _milestone(ops.record_retest),
    A.SUBMIT_REPORT: Operation(Report, lambda s, staff, c, ctx, b: ops.submit_report(
        s, staff, c, ctx=ctx, report_text=b.report_text)),
    A.PROPOSE_PLAN: Operation(Plan, lambda s, staff, c, ctx, b: ops.propose_plan(
        s, staff, c, ctx=ctx, measures=list(b.measures), description=b.description, due_date=b.due_date,
        amount=b.amount, responsible_department=_department(s, b.responsible_department, "responsible_department"))),
    A.APPROVE_PLAN: Operation(Note, lambda s, staff, c, ctx, b: ops.approve_plan(s, staff, c, ctx=ctx, note=b.note)),
    A.REJECT_PLAN: Operation(Note, lambda s, staff, c, ctx, b: ops.reject_plan(s, staff, c, ctx=ctx,
                                                                              note=b.note or "")),
    A.START_IMPLEMENTATION: Operation(Note, lambda s, staff, c, ctx, b: ops.start_implementation(
        s, staff, c, ctx=ctx, note=b.note)),
    A.COMPLETE_IMPLEMENTATION: Operation(Note, lambda s, staff, c, ctx, b: ops.complete_implementation(
        s, staff, c, ctx=ctx, note=b.note or "")),
    A.ADD_PROGRESS_NOTE: Operation(Progress, lambda s, staff, c, ctx, b: ops.add_progress_note(
        s, staff, c, ctx=ctx, text=b.text, to_customer=b.to_customer)),
    A.FEED_BACK_RESULT: Operation(FeedBack, lambda s, staff, c, ctx, b: ops.feed_back_result(
        s, staff, c, ctx=ctx, text=b.text, channel=b.channel)),
    A.RECORD_FOLLOW_UP: Operation(FollowUp, lambda s, staff, c, ctx, b: ops.record_follow_up(
        s, staff, c, ctx=ctx, method=b.method, notes=b.notes, satisfied=b.satisfied, score=b.score, at=b.at)),
    A.REQUEST_EXTENSION: Operation(Extension, lambda s, staff, c, ctx, b: ops.request_extension(
        s, staff, c, ctx=ctx, reason=b.reason, new_due=extended_due_date(s, c, b.days, ctx.policy), via=b.via)),
    A.ANSWER_EXTENSION: Operation(AnswerExtension, _answer_extension),
    A.REOPEN: Operation(Reason, lambda s, staff, c, ctx, b: ops.reopen(s, staff, c, ctx=ctx, reason=b.reason)),
    A.CLOSE: Operation(Close, lambda s, staff, c, ctx, b: ops.close(s, staff, c, ctx=ctx, outcome=b.outcome,
                                                                    note=b.note)),
}


def act(action: Action, number: str, body: Body) -> Any:
    """Run ``action`` on case ``number`` for the caller, in one transaction; the case as it is now."""
    rt = runtime()
    ctx = rt.context()
    operation = OPERATIONS[action]
    with rt.db.transaction() as s:
        staff = caller(s)
        visible = find_visible(s, staff, number=number)
        if visible is None:
            raise not_found("complaint")
        try:
            run_action(s, staff, visible.id, action, body.version,
                       lambda complaint: operation.perform(s, staff, complaint, ctx, body), same=offered)
            s.flush()
        except WorkflowError as exc:
            raise from_workflow(exc) from None
        after = detail(s, staff, visible, rt.settings.policy)
    return after.model_dump(mode="json")


def _view(action: Action, model: type[Body]) -> Callable[..., Any]:
    def view(path: CasePath, body: Body) -> Any:
        return act(action, path.number, body)

    view.__name__ = f"operation_{action.value}"
    view.__annotations__ = {"path": CasePath, "body": model, "return": Any}
    return view


for _action, _operation in OPERATIONS.items():
    bp.post(f"/complaints/<number>/{_action.value}", summary=f"{_action.label}（{_action.value}）",
            operation_id=f"operation_{_action.value}",
            responses={200: ComplaintDetail, 403: ErrorModel, 404: ErrorModel, 409: ErrorModel})(
        _view(_action, _operation.body))


__all__ = ["OPERATIONS", "act", "bp"]
