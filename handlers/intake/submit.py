"""Submit (确认提交): the draft becomes a numbered, classified, routed complaint in one transaction.

:func:`submit_complaint` writes the ``Complaint`` (source ``wechat``, the openid, ``received_at`` = when
the first message of this complaint arrived, every collected field), moves the draft's attachments to
it, appends the ``registered`` timeline event, and queues the new-case message for the lead office
(and for management when the rules suggest 重大). The complaint number is taken last, so the month's
counter row stays locked for as short a time as possible.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.classify import category_route, find_department, notify_new_case, suggest_severity
from handlers.context import HandlerContext
from handlers.intake.fields import complaint_values
from handlers.intake.form import option_labels
from handlers.render import render_message
from handlers.workflow.deadlines import open_initial_deadlines
from handlers.workflow.transitions import Actor, record_event
from storage.models import (
    Attachment,
    Complaint,
    ComplaintStatus,
    Severity,
    Source,
)
from storage.numbering import next_complaint_number

if TYPE_CHECKING:
    from handlers.intake.state import Draft


class IncompleteDraft(ValueError):
    """The draft lacks a required answer (the conversation asks it instead of submitting)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        super().__init__(f"required steps not answered: {', '.join(self.keys)}")


def attachment_summary(attachments: Sequence[Attachment]) -> str:
    """"2张图片、1段语音" for summaries and staff messages."""
    counts = Counter(str(a.kind.value if hasattr(a.kind, "value") else a.kind) for a in attachments)
    return render_message("intake/attachments", counts=dict(counts))


def submit_complaint(session: Session, draft: Draft, ctx: HandlerContext) -> Complaint:
    """File the draft as a complaint and return it (flushed, numbered; the caller commits).

    Raises :class:`IncompleteDraft` when a required step has no answer. The draft itself is left as it
    is; the conversation resets it after this returns.
    """
    attachments = list(session.scalars(
        sa.select(Attachment)
        .where(Attachment.draft_openid == draft.openid, Attachment.complaint_id.is_(None))
        .order_by(Attachment.id)
    ))
    return register_complaint(
        session, ctx, answers=draft.answers, source=Source.WECHAT, received_at=draft.started_at or ctx.now,
        actor=Actor.customer(draft.openid), openid=draft.openid, attachments=attachments,
        callback_requested_at=draft.callback_requested_at,
    )


def register_complaint(
    session: Session,
    ctx: HandlerContext,
    *,
    answers: Mapping[str, Any],
    source: Source,
    received_at: dt.datetime,
    actor: Actor,
    openid: str | None = None,
    attachments: Sequence[Attachment] = (),
    callback_requested_at: dt.datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> Complaint:
    """Register a complaint from the form's answers, whatever the channel (登记建档), and return it.

    The one way a complaint comes into being: the WeChat conversation (`submit_complaint`) and staff
    registering a phone call, letter or visit in the console (`handlers.intake.manual`) both call it.
    ``answers`` are keyed by form step, as the intake form's parsers produce them (see
    ``handlers.intake.fields``); ``received_at`` is when the complaint really reached the company (a call
    at 09:10 registered at 10:00 was received at 09:10), never later than now. Numbers, classifies,
    routes, writes the ``registered`` timeline event (by ``actor``), queues the new-case messages and
    opens the deadlines. Flushes, never commits. Raises :class:`IncompleteDraft` when a required step
    has no answer.
    """
    form = ctx.policy.form
    missing = form.missing_required(answers)
    if missing:
        raise IncompleteDraft([step.key for step in missing])
    steps = form.applicable(answers)
    columns, extras = complaint_values(steps, answers)
    category = str(columns["category"])
    route = category_route(category, ctx.policy)
    applicable = {step.key for step in steps}
    batches = [str(b) for b in answers.get("batch") or []] if "batch" in applicable else []
    suggestion = suggest_severity(
        ctx.policy.severity, batches=batches,
        texts=[*(str(columns.get(k) or "") for k in ("description", "usage_scenario")), *map(str, extras.values())],
        loss=columns.get("loss"),
    )
    lead = find_department(session, route.lead_office)
    handling = find_department(session, route.handling_department)
    fields: dict[str, Any] = dict(columns)
    fields["complainant_name"] = str(columns.get("complainant_name") or columns.get("contact_person") or "")
    fields["description"] = str(columns.get("description") or "")
    words = answers.get("demand_words")
    if isinstance(words, str) and words and words not in fields["description"]:
        # a demand outside the options (其他) is kept in the complainant's words
        fields["description"] = render_message("intake/demand_words", description=fields["description"], words=words)
    complaint = Complaint(
        **fields,
        source=source,
        received_at=min(received_at, ctx.now),
        registered_at=ctx.now,
        status=ComplaintStatus.REGISTERED,
        openid=openid,
        callback_requested=callback_requested_at is not None,
        severity=suggestion.severity,
        severity_confirmed=False,
        severity_reasons=list(suggestion.reasons),
        sla_preset=route.sla_preset,
        lead_office_id=lead.id if lead is not None else None,
        handling_department_id=handling.id if handling is not None else None,
        number=next_complaint_number(session, ctx.now),  # last: the month's counter stays locked until commit
    )
    session.add(complaint)
    session.flush()
    for attachment in attachments:
        attachment.complaint_id = complaint.id
        attachment.draft_openid = None
    record_event(
        session, complaint, "registered", actor, ctx.now, created=True,
        details={
            **_registered_details(complaint, route, suggestion.reasons, extras, len(attachments),
                                  callback_requested_at),
            **(details or {}),
        },
    )
    labels = {
        "problem_type": option_labels(form.options_for("problem_type")),
        "demands": option_labels(form.options_for("demands")),
    }
    notify_new_case(
        session, complaint, route, ctx.policy,
        category_label=ctx.policy.category_label(category),
        problem_label=labels["problem_type"].get(complaint.problem_type or "") if complaint.problem_type else None,
        demand_labels=[labels["demands"].get(str(code), str(code)) for code in complaint.demands or []],
        attachment_count=len(attachments), now=ctx.now,
    )
    session.flush()
    # The clock starts now: first response, registration, investigation and whole-case deadlines.
    open_initial_deadlines(session, complaint, ctx.now, policy=ctx.policy)
    return complaint


def _registered_details(
    complaint: Complaint, route: Any, reasons: Sequence[str], extras: Mapping[str, Any], attachments: int,
    callback_requested_at: dt.datetime | None,
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "source": complaint.source.value,
        "received_at": complaint.received_at.astimezone(dt.UTC).isoformat(),
        "lead_office": route.lead_office,
        "handling_department": route.handling_department,
        "sla_preset": route.sla_preset,
        "severity_suggested": complaint.severity.value,
        "attachments": attachments,
    }
    if complaint.severity == Severity.MAJOR:
        details["severity_reasons"] = list(reasons)
    if extras:
        details["extra_fields"] = dict(extras)
    if callback_requested_at is not None:
        details["callback_requested_at"] = callback_requested_at.astimezone(dt.UTC).isoformat()
    return details


