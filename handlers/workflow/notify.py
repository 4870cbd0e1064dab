"""Who hears about a complaint, and the outbox rows that tell them.

Recipients are resolved through the org chart at the moment of sending (a reassigned case reminds the
new responsible person). The complained-about person is never among them (回避), inactive staff are
skipped, and staff texts never carry the complainant's phone number unmasked.

Every staff message about a case is a WeCom text card whose link (:func:`case_link`) opens the case in
the console, signing the person in through WeCom OAuth on the way. The link is queued as a path; the
sender puts ``PUBLIC_BASE_URL`` in front (bot/channels/wecom.py), so handlers need no deployment setting.

Every customer message about a case (:func:`tell_customer`) reaches the customer one way or another: a
客服消息 within WeChat's 48 h window; outside it, the template message configured for the message's purpose
(``[wechat_templates]``, handlers/workflow/customer_messages.py), queued on the same outbox row and linking to
the customer's case page (:func:`customer_case_link`: its full address, signed unless WeChat identifies the
follower, from the link settings the web app and the worker configure at start-up, handlers/customer.py);
and when neither can reach the customer (no template, not following the account, no openid at all: a phone
or walk-in complaint) a staff task to phone them with the message to read out (:func:`call_instead`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import customer
from handlers.render import render_message, split_text
from handlers.sla.calendar import SHANGHAI
from handlers.sla.presets import ESCALATION_ROLES
from handlers.workflow import tasks
from handlers.workflow.customer_messages import purpose_of, template_time
from handlers.workflow.permissions import APPROVER, HEAD, INTAKE, MANAGEMENT
from handlers.workflow.transitions import STATUS_LABELS
from storage.models import Complaint, Department, DepartmentKind, OutboxMessage, Staff, StaffTask, TaskKind
from storage.outbox import queue_customer_text, queue_staff_text

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

_WEEKDAYS = "一二三四五六日"
# The console's WeCom sign-in (bot/console/wecom_auth.py), then the case page (bot/console/cases.py).
CASE_LINK = "/console/wecom/login?next=/console/cases/{number}"
# The customer's own page about their case (bot/customer/…), opened from WeChat messages.
CUSTOMER_CASE_LINK = "/c/{number}"
#: ``payload["case_message"]`` of a customer outbox row about a case: what the dispatcher needs to turn a
#: message that cannot reach the customer into a call task (``key``, ``purpose``, the whole ``text``).
CASE_MESSAGE = "case_message"


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


class OrgChart:
    """The org chart read once: every active staff member and every department, for a job that resolves
    recipients for many cases in one transaction (the SLA sweep), so an alert costs no query.

    Pass it as ``org=`` to the resolvers below; the rules are theirs, only the lookups are served from memory.
    Without it each resolver reads a chart of its own. Two queries, made when built.
    """

    def __init__(self, session: Session) -> None:
        self.staff = {s.id: s for s in session.scalars(sa.select(Staff).where(Staff.active.is_(True)))}
        self.departments = {d.id: d for d in session.scalars(sa.select(Department))}
        self._by_department: dict[int | None, list[Staff]] = {}
        for person in self.staff.values():
            self._by_department.setdefault(person.department_id, []).append(person)

    def active(self, staff_ids: Iterable[int | None], complaint: Complaint | None) -> list[Staff]:
        recused = complaint.complained_staff_id if complaint is not None else None
        wanted = {sid for sid in staff_ids if sid is not None and sid != recused}
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


def _org(session: Session, org: OrgChart | None) -> OrgChart:
    """The tick's chart, or one read now (two small queries: an org chart is tens to hundreds of people)."""
    return org if org is not None else OrgChart(session)


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


def management_staff(session: Session, complaint: Complaint | None, *, org: OrgChart | None = None) -> list[Staff]:
    """公司管理层: heads and members of management departments, and everyone with the management role
    (about ``complaint``: never its complained-about person; None: a message about no one case, a report)."""
    look = _org(session, org)
    ids: list[int] = []
    for department in look.departments_of_kind(DepartmentKind.MANAGEMENT):
        ids += look.head(department) + look.members(department)
    ids += look.with_role(MANAGEMENT)
    return look.active(dict.fromkeys(ids), complaint)


def approvers(session: Session, complaint: Complaint, *, exclude: Iterable[int | None] = ()) -> list[Staff]:
    """Who can approve a plan: staff with the approver role, else management; never the proposer."""
    skip = set(exclude)
    look = OrgChart(session)
    found = look.active([sid for sid in look.with_role(APPROVER) if sid not in skip], complaint)
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
    text = render_message(_template(template), complaint=complaint, **context)
    return queue_staff_text(
        session, userids, text, now=now, dedupe_key=dedupe_key, complaint_id=complaint.id,
        title=title or card_title(complaint), url=case_link(complaint),
        not_before=not_before,
    )


def tell_customer(
    session: Session, complaint: Complaint, template: str, *, now: dt.datetime, policy: CompanyPolicy,
    dedupe_key: str | None = None, purpose: str | None = None, **context: Any,
) -> list[OutboxMessage]:
    """Queue a message (``templates/messages/workflow/<template>``) to the complainant, reaching them always.

    In WeChat: a 客服消息 carrying the template message of its ``purpose`` (by default from the template's
    name, `customer_messages.purpose_of`) for the dispatcher to fall back on outside the 48 h window, with
    the case page as its link; the text itself links to the case page too (``link`` in the template's
    context, `templates/messages/_case_link.j2`). Without an openid (a phone or walk-in complaint) nothing
    is queued: a task to phone the customer opens instead. ``dedupe_key`` names the message: queueing it
    again, or its call task, is a no-op. Returns the outbox rows queued (one per piece of a long text).
    """
    link = customer_case_link(complaint, now=now)
    text = render_message(_template(template), complaint=complaint, link=link, **context)
    key = dedupe_key or f"cust:{complaint.id}:{template}:{now.isoformat()}"
    purpose = purpose or purpose_of(template)
    case_message = {"key": key, "purpose": purpose, "text": text}
    if not complaint.openid:
        call_instead(session, complaint, case_message, now=now, cause="no_openid")
        return []
    fallback = None
    configured = policy.wechat_templates.get(purpose)
    if configured is not None:
        variables = template_variables(complaint, template, now=now, policy=policy, context=context)
        fallback = {
            "template_id": configured.template_id, "url": link,
            "data": configured.data(variables),
            # One id for every piece of a long text: WeChat delivers the template once (client_msg_id).
            "client_msg_id": "tousu-" + hashlib.sha256(key.encode()).hexdigest()[:24],
        }
    queued: list[OutboxMessage] = []
    pieces = split_text(text)
    for index, piece in enumerate(pieces):
        piece_key = key if len(pieces) == 1 else f"{key}:{index}"
        message = queue_customer_text(session, complaint.openid, piece, now=now, dedupe_key=piece_key,
                                      complaint_id=complaint.id, template=fallback, case_message=case_message)
        if message is not None:
            queued.append(message)
    return queued


def template_variables(complaint: Complaint, template: str, *, now: dt.datetime, policy: CompanyPolicy,
                       context: Mapping[str, Any]) -> dict[str, str]:
    """The case variables a template message's fields are filled from (customer_messages.py lists them)."""
    detail = next((str(context[k]) for k in ("text", "explanation", "reason") if context.get(k)), "")
    notice = render_message("workflow/_customer_notice", template=template)
    extension = context.get("extension")
    new_due = getattr(extension, "new_due_at", None) or complaint.due_at
    return {
        "number": complaint.number,
        "notice": notice,
        "status": STATUS_LABELS[complaint.status],
        "category": policy.category_label(complaint.category),
        "summary": complaint.description or notice,
        "detail": detail or notice,
        "company": policy.company.name,
        "received_at": template_time(complaint.received_at),
        "sent_at": template_time(now),
        "due_at": template_time(complaint.due_at),
        "new_due_at": template_time(new_due),
    }


def call_instead(session: Session, complaint: Complaint, case_message: Mapping[str, Any], *, now: dt.datetime,
                 cause: str, errcode: int | None = None, error: str | None = None) -> StaffTask:
    """The task to phone the customer a message could not reach (电话告知客户), once per message.

    ``cause``: ``no_openid`` (registered by staff, no WeChat) or ``undelivered`` (the platform refused for
    good; ``errcode`` says why: 45015 without a template, 43004 not following, 40003, 40037, 47003 …).
    """
    reason = render_message("workflow/_call_reason", cause=cause, errcode=errcode,
                            purpose=case_message.get("purpose"))
    details: dict[str, Any] = {"text": case_message.get("text", ""), "purpose": case_message.get("purpose")}
    if error:
        details["error"] = error
    return tasks.open_task(session, complaint, TaskKind.CALL_CUSTOMER, reason, now=now,
                           dedupe_key=f"call:{case_message['key']}"[:191], details=details)


__all__ = [
    "CASE_LINK",
    "CASE_MESSAGE",
    "CUSTOMER_CASE_LINK",
    "OrgChart",
    "approvers",
    "call_instead",
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
    "template_variables",
]
