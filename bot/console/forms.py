"""The case page's action forms (Flask-WTF): one form per workflow action, each calling its operation.

Which forms a person sees is `handlers.workflow.available.available_actions`; this module only says, for
each action, which fields it asks and how they become the operation's arguments (`ACTIONS`). The
operations check everything that matters (required fields, codes, departments, recusal…) and raise the
workflow's Chinese errors; the forms check only what a browser sends (types, lengths), with WTForms'
Chinese messages. Field names are the operations' own (``reason``, ``handling_department``…), so an error
naming a field lands next to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.i18n import get_translations
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from handlers.context import HandlerContext
from handlers.workflow import operations as ops
from handlers.workflow.available import extended_due_date
from handlers.workflow.errors import MissingField, PreconditionFailed
from handlers.workflow.transitions import Action
from handlers.workflow.vocab import (
    CAUSES,
    CLOSE_OUTCOMES,
    CONTACT_METHODS,
    FOLLOW_UP_METHODS,
    INVESTIGATION_METHODS,
    MEASURES,
    RESPONSIBILITY,
    RESPONSIBILITY_TYPES,
)
from storage.base import SHANGHAI
from storage.models import Complaint, Department, DepartmentKind, Severity, Staff

_ZH: Final = get_translations(["zh"])
SEVERITY_PAIRS: Final = [(Severity.GENERAL.value, "一般"), (Severity.MAJOR.value, "重大")]
NONE_PAIR: Final = ("", "（不选）")
TEXT: Final = 2000


try:  # WTForms 3.3 deprecates (value, label) tuples for SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - WTForms before 3.3
    SelectChoice = None


def options(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """Choices for a select, radio or checkbox field, in the form this WTForms prefers."""
    if SelectChoice is None:  # pragma: no cover
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def _pairs(table: Mapping[str, str]) -> list[Any]:
    return options(table.items())


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (easier to tap on a phone than a multiple select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@dataclass(frozen=True)
class Choices:
    """The option lists the forms of one case need, read once per page."""

    categories: list[tuple[str, str]]
    lead_offices: list[tuple[str, str]]
    departments: list[tuple[str, str]]
    staff: list[tuple[str, str]]  # everyone active, except the complained-about person (回避)
    has_openid: bool

    @classmethod
    def load(cls, session: Session, complaint: Complaint, categories: list[tuple[str, str]]) -> Choices:
        departments = list(session.scalars(
            sa.select(Department).where(Department.active.is_(True)).order_by(Department.id)))
        names = {d.id: d.name for d in departments}
        people = session.scalars(sa.select(Staff).where(Staff.active.is_(True)).order_by(Staff.department_id,
                                                                                         Staff.id))
        return cls(
            categories=categories,
            lead_offices=[(str(d.id), d.name) for d in departments if d.kind is DepartmentKind.LEAD_OFFICE],
            departments=[(str(d.id), d.name) for d in departments if d.kind is not DepartmentKind.MANAGEMENT],
            staff=[(str(p.id), f"{names.get(p.department_id or 0, '—')} · {p.name}") for p in people
                   if p.id != complaint.complained_staff_id],
            has_openid=bool(complaint.openid),
        )


class ActionForm(FlaskForm):
    """A form acting on one case; ``version`` is the case's version when the page was rendered."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return _ZH

    version = HiddenField()

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        """Fill the option lists and, on a fresh form, the defaults from the case."""

    def seen_version(self) -> int | None:
        raw = self.version.data
        return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    """A ``datetime-local`` input is wall-clock time in Asia/Shanghai."""
    return None if moment is None else moment.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)


# -- triage and routing -------------------------------------------------------------------------------


class TriageForm(ActionForm):
    valid = RadioField("是否有效", choices=options([("1", "有效投诉"), ("0", "无效投诉")]), default="1")
    category = SelectField("诉求类型", validate_choice=False)
    severity = SelectField("严重程度", choices=options(SEVERITY_PAIRS), validate_choice=False)
    urgent = BooleanField("紧急")
    lead_office = SelectField("归口部门", validate_choice=False)
    invalid_reason = TextAreaField("无效原因（判定无效时填写）", validators=[Length(max=TEXT)])
    explanation = TextAreaField("向投诉人的解释（判定无效时）", validators=[Length(max=TEXT)])
    note = TextAreaField("备注", validators=[Length(max=TEXT)])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.category.choices = options(choices.categories)
        self.lead_office.choices = options(choices.lead_offices)
        if fresh:
            self.category.data = complaint.category
            self.severity.data = complaint.severity.value
            self.urgent.data = complaint.urgent
            self.lead_office.data = str(complaint.lead_office_id or "")


def _triage(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: TriageForm) -> Any:
    return ops.triage(s, staff, c, ctx=ctx, valid=f.valid.data == "1", category=f.category.data or None,
                      severity=f.severity.data or None, urgent=bool(f.urgent.data),
                      lead_office=_id(f.lead_office.data), invalid_reason=_text(f.invalid_reason.data),
                      explanation=_text(f.explanation.data), note=_text(f.note.data))


class MarkInvalidForm(ActionForm):
    invalid_reason = TextAreaField("无效原因", validators=[InputRequired("请填写无效原因"), Length(max=TEXT)])
    explanation = TextAreaField("向投诉人的解释", validators=[Length(max=TEXT)])


def _mark_invalid(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: MarkInvalidForm) -> Any:
    return ops.mark_invalid(s, staff, c, ctx=ctx, reason=f.invalid_reason.data or "",
                            explanation=_text(f.explanation.data))


class AssignForm(ActionForm):
    handling_department = SelectField("承办部门", validate_choice=False)
    responsible = SelectField("责任人（被投诉人不能担任）", validate_choice=False)
    note = TextAreaField("交办说明", validators=[Length(max=TEXT)])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.handling_department.choices = options(choices.departments)
        self.responsible.choices = options([("", "（由部门负责人指定）"), *choices.staff])
        if fresh:
            self.handling_department.data = str(complaint.handling_department_id or "")


def _assign(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: AssignForm) -> Any:
    department = _id(f.handling_department.data)
    if department is None:
        raise MissingField("handling_department", "承办部门")
    return ops.assign(s, staff, c, ctx=ctx, handling_department=department, responsible=_id(f.responsible.data),
                      note=_text(f.note.data))


class ReassignForm(ActionForm):
    responsible = SelectField("新责任人", validate_choice=False)
    handling_department = SelectField("承办部门（改派到其他部门时选择）", validate_choice=False)
    reason = TextAreaField("改派原因", validators=[Length(max=TEXT)])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.responsible.choices = options([NONE_PAIR, *choices.staff])
        self.handling_department.choices = options([("", "（不变）"), *choices.departments])


def _reassign(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ReassignForm) -> Any:
    person = _id(f.responsible.data)
    if person is None:
        raise MissingField("responsible", "责任人")
    return ops.reassign(s, staff, c, ctx=ctx, responsible=person, reason=f.reason.data or "",
                        handling_department=_id(f.handling_department.data))


class ChangeSeverityForm(ActionForm):
    severity = SelectField("严重程度", choices=options(SEVERITY_PAIRS), validate_choice=False)
    reason = TextAreaField("调整原因", validators=[Length(max=TEXT)])


def _change_severity(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ChangeSeverityForm) -> Any:
    return ops.change_severity(s, staff, c, ctx=ctx, severity=f.severity.data or "", reason=f.reason.data or "")


class ComplainedStaffForm(ActionForm):
    complained_staff = SelectField("被投诉人", validate_choice=False)
    note = TextAreaField("备注", validators=[Length(max=TEXT)])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.complained_staff.choices = options([NONE_PAIR, *choices.staff])


def _complained_staff(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ComplainedStaffForm) -> Any:
    person = _id(f.complained_staff.data)
    if person is None:
        raise MissingField("complained_staff", "被投诉人")
    return ops.record_complained_staff(s, staff, c, ctx=ctx, complained=person, note=_text(f.note.data))


class ContactForm(ActionForm):
    method = SelectField("联系方式", choices=_pairs(CONTACT_METHODS), default="phone", validate_choice=False)
    at = DateTimeLocalField("联系时间（不填为现在）", validators=[Optional()])
    note = TextAreaField("沟通情况", validators=[Length(max=TEXT)])


def _contact(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ContactForm) -> Any:
    return ops.record_contact(s, staff, c, ctx=ctx, method=f.method.data or "", note=_text(f.note.data),
                              at=_local(f.at.data))


# -- investigation -------------------------------------------------------------------------------------


class StartInvestigationForm(ActionForm):
    team = SelectMultipleField("调查组成员（可多选）", validate_choice=False)
    note = TextAreaField("说明", validators=[Length(max=TEXT)])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.team.choices = options(choices.staff)


def _start_investigation(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext,
                         f: StartInvestigationForm) -> Any:
    team = [person for person in (_id(v) for v in f.team.data or []) if person is not None]
    return ops.start_investigation(s, staff, c, ctx=ctx, team=team, note=_text(f.note.data))


class InvestigationForm(ActionForm):
    methods = CheckboxesField("调查方式", choices=_pairs(INVESTIGATION_METHODS), validate_choice=False)
    findings = TextAreaField("调查结果", validators=[Length(max=TEXT)])
    cause = SelectField("原因", choices=options([NONE_PAIR, *CAUSES.items()]), validate_choice=False)
    cause_note = StringField("原因说明", validators=[Length(max=500)])
    responsibility = RadioField("责任判定", choices=_pairs(RESPONSIBILITY), validate_choice=False)
    responsible_department = SelectField("责任部门（公司责任）", validate_choice=False)
    responsibility_type = SelectField("责任类型（公司责任）", validate_choice=False,
                                      choices=options([NONE_PAIR, *RESPONSIBILITY_TYPES.items()]))
    evidence = TextAreaField("证据（每行一项；非公司责任必填）", validators=[Length(max=TEXT)])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.responsible_department.choices = options([NONE_PAIR, *choices.departments])


def _investigation(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: InvestigationForm) -> Any:
    return ops.record_investigation(
        s, staff, c, ctx=ctx, methods=list(f.methods.data or []), findings=f.findings.data or "",
        cause=f.cause.data or "", responsibility=f.responsibility.data or "",
        responsible_department=_id(f.responsible_department.data),
        responsibility_type=f.responsibility_type.data or None,
        evidence=(f.evidence.data or "").splitlines(), cause_note=_text(f.cause_note.data))


class MilestoneForm(ActionForm):
    """A moment of the investigation (现场核查, 复检): when (default now) and a note."""

    at = DateTimeLocalField("时间（不填为现在）", validators=[Optional()])
    note = TextAreaField("说明", validators=[Length(max=TEXT)])


def _milestone(operation: Callable[..., Any]) -> Callable[..., Any]:
    def perform(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: MilestoneForm) -> Any:
        return operation(s, staff, c, ctx=ctx, note=_text(f.note.data), at=_local(f.at.data))

    return perform


class ReportForm(ActionForm):
    report_text = TextAreaField("调查分析报告（原因、责任、整改建议）", validators=[Length(max=5000)])


def _report(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ReportForm) -> Any:
    return ops.submit_report(s, staff, c, ctx=ctx, report_text=f.report_text.data or "")


# -- plan and implementation -------------------------------------------------------------------------


class PlanForm(ActionForm):
    measures = CheckboxesField("处置措施", choices=_pairs(MEASURES), validate_choice=False)
    description = TextAreaField("方案内容", validators=[Length(max=TEXT)])
    amount = StringField("金额（元，涉及赔偿、折让、退款时填写）", validators=[Length(max=20)])
    responsible_department = SelectField("责任部门", validate_choice=False)
    due_date = DateField("完成时限", validators=[Optional()])

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        self.responsible_department.choices = options(choices.departments)
        if fresh:
            self.responsible_department.data = str(complaint.handling_department_id or "")


def _plan(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: PlanForm) -> Any:
    return ops.propose_plan(s, staff, c, ctx=ctx, measures=list(f.measures.data or []),
                            description=f.description.data or "", due_date=f.due_date.data,
                            amount=_text(f.amount.data), responsible_department=_id(f.responsible_department.data))


class DecisionForm(ActionForm):
    note = TextAreaField("审批意见", validators=[Length(max=TEXT)])


def _approve(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: DecisionForm) -> Any:
    return ops.approve_plan(s, staff, c, ctx=ctx, note=_text(f.note.data))


def _reject(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: DecisionForm) -> Any:
    return ops.reject_plan(s, staff, c, ctx=ctx, note=f.note.data or "")


class NoteForm(ActionForm):
    note = TextAreaField("说明", validators=[Length(max=TEXT)])


def _start_implementation(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: NoteForm) -> Any:
    return ops.start_implementation(s, staff, c, ctx=ctx, note=_text(f.note.data))


def _complete_implementation(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: NoteForm) -> Any:
    return ops.complete_implementation(s, staff, c, ctx=ctx, note=f.note.data or "")


class ProgressForm(ActionForm):
    text = TextAreaField("进展情况", validators=[Length(max=TEXT)])
    to_customer = BooleanField("同时通过微信告知投诉人")


def _progress(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ProgressForm) -> Any:
    return ops.add_progress_note(s, staff, c, ctx=ctx, text=f.text.data or "", to_customer=bool(f.to_customer.data))


class FeedBackForm(ActionForm):
    text = TextAreaField("处理结果（告知投诉人的内容）", validators=[Length(max=TEXT)])
    channel = SelectField("反馈方式", choices=_pairs(CONTACT_METHODS), validate_choice=False)

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        if fresh:
            self.channel.data = "wechat" if choices.has_openid else "phone"


def _feed_back(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: FeedBackForm) -> Any:
    return ops.feed_back_result(s, staff, c, ctx=ctx, text=f.text.data or "", channel=f.channel.data or None)


# -- follow-up, extension, reopen, close ---------------------------------------------------------------


class FollowUpForm(ActionForm):
    method = SelectField("回访方式", choices=_pairs(FOLLOW_UP_METHODS), default="phone", validate_choice=False)
    notes = TextAreaField("回访情况", validators=[Length(max=TEXT)])
    satisfied = RadioField("客户意见", choices=options([("1", "满意"), ("0", "不满意"), ("", "未表态")]), default="",
                           validate_choice=False)
    score = IntegerField("满意度（0–100 分，可不填）", validators=[Optional(), NumberRange(0, 100)])
    at = DateTimeLocalField("回访时间（不填为现在）", validators=[Optional()])


def _follow_up(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: FollowUpForm) -> Any:
    satisfied = {"1": True, "0": False}.get(f.satisfied.data or "")
    return ops.record_follow_up(s, staff, c, ctx=ctx, method=f.method.data or "", notes=f.notes.data or "",
                                satisfied=satisfied, score=f.score.data, at=_local(f.at.data))


class ExtensionForm(ActionForm):
    days = IntegerField("延长工作日数", validators=[InputRequired("请填写延长的工作日数"), NumberRange(1, 60)])
    reason = TextAreaField("延期原因", validators=[Length(max=TEXT)])
    via = SelectField("征询客户的方式", choices=_pairs(CONTACT_METHODS), validate_choice=False)

    def setup(self, complaint: Complaint, choices: Choices, fresh: bool) -> None:
        if fresh:
            self.via.data = "wechat" if choices.has_openid else "phone"


def _extension(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ExtensionForm) -> Any:
    new_due = extended_due_date(s, c, f.days.data or 0, ctx.policy)
    return ops.request_extension(s, staff, c, ctx=ctx, reason=f.reason.data or "", new_due=new_due,
                                 via=f.via.data or None)


class AnswerExtensionForm(ActionForm):
    consent = RadioField("客户答复", choices=options([("1", "同意延期"), ("0", "不同意")]), validate_choice=False)
    answer_text = TextAreaField("客户原话/说明", validators=[Length(max=TEXT)])


def _answer_extension(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: AnswerExtensionForm) -> Any:
    extension = ops.pending_extension(s, c)
    if extension is None:
        raise PreconditionFailed(Action.ANSWER_EXTENSION.label, "没有等待答复的延期申请")
    if f.consent.data not in ("1", "0"):
        raise MissingField("consent", "客户答复")
    return ops.answer_extension(s, extension, ctx=ctx, consent=f.consent.data == "1",
                                answer_text=_text(f.answer_text.data), staff=staff)


class ReasonForm(ActionForm):
    reason = TextAreaField("原因", validators=[Length(max=TEXT)])


def _reopen(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: ReasonForm) -> Any:
    return ops.reopen(s, staff, c, ctx=ctx, reason=f.reason.data or "")


class CloseForm(ActionForm):
    outcome = RadioField("办结情形", choices=_pairs(CLOSE_OUTCOMES), default="satisfied", validate_choice=False)
    note = TextAreaField("说明（回访无答复时必填）", validators=[Length(max=TEXT)])


def _close(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, f: CloseForm) -> Any:
    return ops.close(s, staff, c, ctx=ctx, outcome=f.outcome.data or "", note=_text(f.note.data))


# -- the registry --------------------------------------------------------------------------------------

Perform = Callable[[Session, Staff, Complaint, HandlerContext, Any], Any]


@dataclass(frozen=True)
class ActionSpec:
    """How the console does one action: its form, the call, the button's wording."""

    form: type[ActionForm]
    perform: Perform
    button: str


A = Action
_PLAN = ActionSpec(PlanForm, _plan, "提交方案")
ACTIONS: Final[Mapping[Action, ActionSpec]] = {
    A.TRIAGE: ActionSpec(TriageForm, _triage, "确认分类"),
    A.MARK_INVALID: ActionSpec(MarkInvalidForm, _mark_invalid, "判定无效并办结"),
    A.ASSIGN: ActionSpec(AssignForm, _assign, "交办"),
    A.REASSIGN: ActionSpec(ReassignForm, _reassign, "改派"),
    A.CHANGE_SEVERITY: ActionSpec(ChangeSeverityForm, _change_severity, "调整"),
    A.RECORD_COMPLAINED_STAFF: ActionSpec(ComplainedStaffForm, _complained_staff, "登记"),
    A.RECORD_CONTACT: ActionSpec(ContactForm, _contact, "记录联系"),
    A.START_INVESTIGATION: ActionSpec(StartInvestigationForm, _start_investigation, "开始调查"),
    A.RECORD_INVESTIGATION: ActionSpec(InvestigationForm, _investigation, "保存调查情况"),
    A.DECIDE_SITE_VISIT: ActionSpec(MilestoneForm, _milestone(ops.decide_site_visit), "记录"),
    A.RECORD_SITE_VISIT: ActionSpec(MilestoneForm, _milestone(ops.record_site_visit), "记录"),
    A.RECEIVE_SAMPLE: ActionSpec(MilestoneForm, _milestone(ops.receive_sample), "记录"),
    A.RECORD_RETEST: ActionSpec(MilestoneForm, _milestone(ops.record_retest), "记录"),
    A.SUBMIT_REPORT: ActionSpec(ReportForm, _report, "提交报告"),
    # One form for both: propose_plan itself decides whether the plan needs approval (重大, money).
    A.PROPOSE_PLAN: _PLAN,
    A.SUBMIT_PLAN_FOR_APPROVAL: _PLAN,
    A.APPROVE_PLAN: ActionSpec(DecisionForm, _approve, "批准"),
    A.REJECT_PLAN: ActionSpec(DecisionForm, _reject, "驳回"),
    A.START_IMPLEMENTATION: ActionSpec(NoteForm, _start_implementation, "启动实施"),
    A.COMPLETE_IMPLEMENTATION: ActionSpec(NoteForm, _complete_implementation, "确认实施完成"),
    A.ADD_PROGRESS_NOTE: ActionSpec(ProgressForm, _progress, "保存进展"),
    A.FEED_BACK_RESULT: ActionSpec(FeedBackForm, _feed_back, "反馈"),
    A.RECORD_FOLLOW_UP: ActionSpec(FollowUpForm, _follow_up, "记录回访"),
    A.REQUEST_EXTENSION: ActionSpec(ExtensionForm, _extension, "申请延期"),
    A.ANSWER_EXTENSION: ActionSpec(AnswerExtensionForm, _answer_extension, "记录答复"),
    A.REOPEN: ActionSpec(ReasonForm, _reopen, "重新处理"),
    A.CLOSE: ActionSpec(CloseForm, _close, "办结"),
}


def form_action(action: Action) -> Action:
    """The action a form is posted as: both plan actions post as ``propose_plan`` (one form)."""
    return A.PROPOSE_PLAN if action is A.SUBMIT_PLAN_FOR_APPROVAL else action


def make_form(action: Action, complaint: Complaint, choices: Choices, *, bound: bool = False) -> ActionForm:
    """The form of ``action`` for ``complaint``: ``bound`` to the request's POST data, or fresh with the
    case's defaults and current version. The prefix keeps field ids unique when many forms share a page."""
    spec = ACTIONS[action]
    prefix = form_action(action).value
    form = spec.form(prefix=prefix) if bound else spec.form(prefix=prefix, formdata=None)
    if not bound:
        form.version.data = str(complaint.version)
    form.setup(complaint, choices, not bound)
    return form


__all__ = ["ACTIONS", "ActionForm", "ActionSpec", "Choices", "form_action", "make_form"]
