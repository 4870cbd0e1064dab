"""Deadline rows end to end: created when their anchor event happens, met when their milestone happens,
breached when they pass, recomputed when the severity (or category) changes, swept for alerts.

The limits themselves come from ``handlers.sla.presets`` (the presets) counted on ``handlers.sla.calendar`` (China's
working days plus the company's exceptions from the database). This module keeps the rows:

* `open_initial_deadlines` — at registration: the ``received`` and ``registered`` anchors (first
  response, registration, investigation organised, whole case…), and the management notice for 重大;
* `on_events` — every workflow step reports its SLA events (``assigned``, ``report_submitted``…):
  rows they meet are marked met, rows they anchor are created;
* `recompute_open_deadlines` — after a severity or category change;
* `extend_whole_case` — after the complainant consented to an extension (延期);
* `sweep_deadlines` — the scheduler's job: reminders (催办) to the responsible person at the
  configured fractions of each window, the breach notice (超时) to the department head, supervision
  (督办) to management after the configured delay; every alert is queued once (outbox dedupe keys
  carry the row id, its generation and the alert), whatever the number of sweeps or workers.

Times are stored UTC and computed in Asia/Shanghai.

**Lock order: the complaint first, then its rows.** Whoever changes a complaint's deadlines or extension
questions first holds the complaint's row lock (``SELECT … FOR UPDATE``), and only then touches those
rows. The workflow operations do it through ``operations.load_complaint``; the sweep selects the due
rows without locking, locks their complaints in id order with ``FOR UPDATE SKIP LOCKED`` (a complaint a
staff member is editing is skipped, and swept on the next run), then locks the rows themselves and
re-checks that they are still due. One order means no deadlock between the sweep, the operations and
concurrent staff edits, and a row is never changed by two transactions on stale reads of each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.sla.calendar import WorkCalendar
from handlers.sla.calendar_store import load_calendar
from handlers.sla.presets import (
    AlertKind,
    Escalation,
    SlaError,
    SlaPreset,
    add_duration,
    alerts,
    compute_due,
    deadlines_for_anchor,
    parse_severity,
    reminders_between,
)
from handlers.workflow import notify
from handlers.workflow.transitions import TERMINAL, Actor, log_event
from storage import outbox
from storage.models import (
    Complaint,
    Deadline,
    DeadlineStatus,
    Extension,
    ExtensionStatus,
    Severity,
    Source,
    Staff,
    TimelineEvent,
)

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

UNMET = (DeadlineStatus.OPEN, DeadlineStatus.BREACHED)
BREACH_GRACE = dt.timedelta(seconds=1)  # a milestone met at 23:59:59 is on time
SWEEP_BATCH = 500
# A phone call or a visit is answered while the complainant is there: receipt is the first response.
CONTACT_AT_RECEIPT = frozenset({Source.PHONE, Source.WALK_IN})


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return _utc(moment).isoformat()


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC)


def _next_alert(row: Deadline) -> dt.datetime | None:
    if row.status not in UNMET:
        return None
    candidates: list[dt.datetime] = []
    if row.reminders_done < len(row.reminder_times):
        candidates.append(_parse(row.reminder_times[row.reminders_done]))
    if row.breach_notified_at is None:
        candidates.append(row.due_at + BREACH_GRACE)
    elif row.escalated_at is None and row.escalate_at is not None:
        candidates.append(row.escalate_at)
    return min(candidates) if candidates else None


def _set_plan(
    row: Deadline,
    due: dt.datetime,
    reminders: Sequence[dt.datetime],
    escalate_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Install an alert plan on ``row``; reminders already past at ``now`` are not sent late."""
    row.due_at = _utc(due)
    row.reminder_times = [_iso(r) for r in reminders]
    row.reminders_done = sum(1 for r in reminders if r <= now)
    row.escalate_at = None if escalate_at is None else _utc(escalate_at)
    if row.status is DeadlineStatus.BREACHED and row.due_at >= now:
        row.status = DeadlineStatus.OPEN  # the new limit has not passed: the breach no longer stands
        row.breached_at = None
        row.breach_notified_at = None
        row.escalated_at = None
    row.next_alert_at = _next_alert(row)


def _standard_plan(
    preset: SlaPreset, key: str, anchor_at: dt.datetime, severity: Severity, calendar: WorkCalendar
) -> tuple[dt.datetime, list[dt.datetime], dt.datetime | None]:
    due = compute_due(preset, key, anchor_at, severity.value, calendar)
    chain = alerts(preset, key, anchor_at, severity.value, calendar)
    reminders = [a.at for a in chain if a.kind is AlertKind.REMINDER]
    escalate = next((a.at for a in chain if a.kind is AlertKind.SUPERVISION), None)
    return due, reminders, escalate


def _extended_plan(
    preset: SlaPreset, key: str, anchor_at: dt.datetime, due: dt.datetime, calendar: WorkCalendar
) -> tuple[dt.datetime, list[dt.datetime], dt.datetime | None]:
    milestone = preset.milestone(key)
    fractions = milestone.reminder_fractions or preset.reminder_fractions
    reminders = reminders_between(anchor_at, due, fractions, calendar, working_days=True)
    return due, reminders, add_duration(preset.escalation.supervise_after, due, calendar)


# -- queries ---------------------------------------------------------------------------------------


def deadlines_of(session: Session, complaint: Complaint) -> list[Deadline]:
    """Every deadline row of a complaint, by due time."""
    return list(
        session.scalars(
            sa.select(Deadline).where(Deadline.complaint_id == complaint.id).order_by(Deadline.due_at, Deadline.id)
        )
    )


def unmet_deadlines(session: Session, complaint: Complaint) -> list[Deadline]:
    """Deadlines still running or breached (not met, not cancelled), most urgent first."""
    return [d for d in deadlines_of(session, complaint) if d.status in UNMET]


def next_deadline(session: Session, complaint: Complaint) -> Deadline | None:
    """The case's next deadline: the earliest unmet one (a breached one first of all)."""
    return session.scalars(
        sa.select(Deadline)
        .where(Deadline.complaint_id == complaint.id, Deadline.status.in_(UNMET))
        .order_by(Deadline.due_at, Deadline.id)
        .limit(1)
    ).first()


def anchor_times(session: Session, complaint: Complaint) -> dict[str, dt.datetime]:
    """When each SLA event last happened for this complaint (from the record and the timeline)."""
    found: dict[str, dt.datetime] = {"received": complaint.received_at, "registered": complaint.registered_at}
    events = session.scalars(
        sa.select(TimelineEvent).where(TimelineEvent.complaint_id == complaint.id).order_by(TimelineEvent.id)
    )
    for event in events:
        for name in (event.details or {}).get("sla_events", []):
            at = (event.details or {}).get("sla_at", {}).get(name)
            found[name] = _parse(at) if at else event.at
    return found


# -- creating and meeting ------------------------------------------------------------------------


@dataclass
class DeadlineChanges:
    """What one call did to a complaint's deadlines, for the timeline."""

    created: list[Deadline] = field(default_factory=list)
    met: list[Deadline] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[Deadline] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["deadlines_created"] = {d.milestone: _iso(d.due_at) for d in self.created}
        if self.met:
            out["deadlines_met"] = {d.milestone: ("on_time" if _on_time(d) else "late") for d in self.met}
        if self.changed:
            out["deadlines_changed"] = self.changed
        if self.cancelled:
            out["deadlines_cancelled"] = [d.milestone for d in self.cancelled]
        return out


def _on_time(row: Deadline) -> bool:
    return row.met_at is not None and row.met_at <= row.due_at


def _create(
    session: Session,
    complaint: Complaint,
    preset: SlaPreset,
    key: str,
    anchor: str,
    anchor_at: dt.datetime,
    calendar: WorkCalendar,
    now: dt.datetime,
) -> Deadline:
    milestone = preset.milestone(key)
    due, reminders, escalate = _standard_plan(preset, key, anchor_at, complaint.severity, calendar)
    row = Deadline(
        complaint_id=complaint.id,
        preset=preset.key,
        milestone=key,
        label=milestone.label,
        anchor_event=anchor,
        anchor_at=_utc(anchor_at),
        met_by=milestone.met_by,
        severity=complaint.severity,
        status=DeadlineStatus.OPEN,
        generation=1,
    )
    _set_plan(row, due, reminders, escalate, now)
    session.add(row)
    if key == "whole_case":
        complaint.due_at = row.due_at
    return row


def on_events(
    session: Session,
    complaint: Complaint,
    events: Iterable[str],
    at: dt.datetime,
    now: dt.datetime,
    *,
    policy: CompanyPolicy,
    calendar: WorkCalendar | None = None,
) -> DeadlineChanges:
    """Record that SLA ``events`` happened at ``at``: meet the rows they meet, create the rows they anchor.

    A milestone already running (not met) is not started twice; a reopened case that starts a new
    investigation gets a new investigation-report deadline because the old one was met. Flushes.
    """
    conf = policy.workflow
    cal = calendar or load_calendar(session, policy.calendar)
    preset = conf.preset(complaint.sla_preset, complaint.category)
    names = list(dict.fromkeys(events))
    result = DeadlineChanges()
    if not names:
        return result
    session.flush()
    for row in session.scalars(
        sa.select(Deadline)
        .where(Deadline.complaint_id == complaint.id, Deadline.status.in_(UNMET), Deadline.met_by.in_(names))
        .order_by(Deadline.id)
    ):
        row.status = DeadlineStatus.MET
        row.met_at = _utc(at)
        row.next_alert_at = None
        result.met.append(row)
    running = {row.milestone for row in unmet_deadlines(session, complaint)}
    conditions = conf.conditions_for(complaint.category)
    for name in names:
        for deadline in deadlines_for_anchor(preset, name, at, complaint.severity.value, cal, conditions=conditions):
            key = deadline.milestone.key
            if key in running:
                continue
            result.created.append(_create(session, complaint, preset, key, name, at, cal, now))
            running.add(key)
    session.flush()
    return result


def open_initial_deadlines(
    session: Session,
    complaint: Complaint,
    now: dt.datetime,
    *,
    policy: CompanyPolicy,
) -> list[Deadline]:
    """The deadlines a newly registered complaint starts with; call once, right after it is written.

    Runs the ``received`` anchor at ``complaint.received_at`` (first response, registration, whole
    case…) and the ``registered`` anchor at ``complaint.registered_at`` (which meets the registration
    limit and starts "investigation organised"). A complaint taken by phone or at the counter was
    answered as it was received, so its first response is met at receipt. Sets ``complaint.due_at``
    (the whole-case deadline) and ``complaint.sla_preset`` if the intake left it empty; a 重大
    complaint is reported to management at once (seed 001 第六条). Idempotent: a complaint that
    already has deadlines gets none added. Returns the rows created (flushed).
    """
    conf = policy.workflow
    session.flush()
    existing = session.scalar(
        sa.select(sa.func.count()).select_from(Deadline).where(Deadline.complaint_id == complaint.id)
    )
    if existing:
        return []
    if not complaint.sla_preset or complaint.sla_preset not in conf.presets:
        complaint.sla_preset = conf.preset_key_for(complaint.category)
    cal = load_calendar(session, policy.calendar)
    result = DeadlineChanges()
    for events, at in (
        (["received"], complaint.received_at),
        (["registered"], complaint.registered_at),
        (["first_contacted"] if complaint.source in CONTACT_AT_RECEIPT else [], complaint.received_at),
    ):
        step = on_events(session, complaint, events, at, now, policy=policy, calendar=cal)
        result.created += step.created
        result.met += step.met
    details: dict[str, Any] = {"preset": complaint.sla_preset, "severity": complaint.severity.value}
    if complaint.source in CONTACT_AT_RECEIPT:
        details["sla_events"] = ["first_contacted"]
        details["sla_at"] = {"first_contacted": _iso(complaint.received_at)}
    log_event(session, complaint, "deadlines_opened", Actor.system(), now, {**details, **result.summary()})
    if complaint.severity is Severity.MAJOR:
        notify_management_of_major(session, complaint, now, reason="registered", policy=policy)
    return result.created


def notify_management_of_major(
    session: Session, complaint: Complaint, now: dt.datetime, *, reason: str, policy: CompanyPolicy
) -> bool:
    """重大投诉立即上报管理层 — once per complaint, whichever step made it major first."""
    message = notify.tell_staff(
        session,
        complaint,
        notify.management_staff(session, complaint),
        "major_notice",
        now=now,
        title="重大投诉上报",
        dedupe_key=f"wf:{complaint.id}:major-notice",
        reason=reason,
        category=policy.category_label(complaint.category),
        received=notify.local_time(complaint.received_at),
        due=notify.local_time(complaint.due_at),
    )
    return message is not None


# -- recomputing --------------------------------------------------------------------------------


def _cancel(row: Deadline, reason: str) -> None:
    row.status = DeadlineStatus.CANCELLED
    row.cancelled_reason = reason[:200]
    row.next_alert_at = None


def recompute_open_deadlines(
    session: Session,
    complaint: Complaint,
    now: dt.datetime,
    *,
    policy: CompanyPolicy,
    calendar: WorkCalendar | None = None,
) -> DeadlineChanges:
    """Recompute every unmet deadline for the complaint's current severity and preset.

    A limit that changes is recomputed from its anchor (a breached one whose new limit has not
    passed is open again); a milestone that no longer applies is cancelled; one whose anchor differs
    for the new severity restarts from that anchor if it has happened (重大 plans start after approval)
    or is cancelled until it does; a milestone that now applies and whose anchor has already happened
    is created. A whole-case deadline agreed with the complainant (延期) keeps its agreed date. Flushes.
    """
    conf = policy.workflow
    cal = calendar or load_calendar(session, policy.calendar)
    preset = conf.preset(complaint.sla_preset, complaint.category)
    anchors = anchor_times(session, complaint)
    severity = complaint.severity
    result = DeadlineChanges()
    rows = deadlines_of(session, complaint)
    for row in rows:
        if row.status not in UNMET:
            continue
        try:
            milestone = preset.milestone(row.milestone)
        except SlaError:  # the preset changed with the category: the milestone is gone
            _cancel(row, f"预设 {preset.key} 无此节点")
            result.cancelled.append(row)
            continue
        limit = milestone.limits.get(parse_severity(severity.value))
        if limit is None:
            _cancel(row, f"不适用于{severity.value}投诉")
            result.cancelled.append(row)
            continue
        before = {"due_at": _iso(row.due_at), "severity": row.severity.value, "preset": row.preset}
        if limit.anchor != row.anchor_event:
            at = anchors.get(limit.anchor)
            if at is None:
                _cancel(row, f"改为自“{limit.anchor}”起算，尚未发生")
                result.cancelled.append(row)
                continue
            row.anchor_event, row.anchor_at = limit.anchor, _utc(at)
        row.severity = severity
        row.preset = preset.key
        if row.extended:
            due, reminders, escalate = _extended_plan(preset, row.milestone, row.anchor_at, row.due_at, cal)
        else:
            due, reminders, escalate = _standard_plan(preset, row.milestone, row.anchor_at, severity, cal)
        if _utc(due) != row.due_at or before["severity"] != severity.value:
            row.generation += 1
        _set_plan(row, due, reminders, escalate, now)
        if before["due_at"] != _iso(row.due_at):
            result.changed.append({"milestone": row.milestone, "before": before["due_at"], "after": _iso(row.due_at)})
        if row.milestone == "whole_case":
            complaint.due_at = row.due_at
    # Milestones that apply now and whose anchor has happened, but have no row yet.
    present = {row.milestone for row in rows if row.status is not DeadlineStatus.CANCELLED}
    conditions = conf.conditions_for(complaint.category)
    for milestone in preset.milestones:
        limit = milestone.limits.get(parse_severity(severity.value))
        if limit is None or milestone.key in present:
            continue
        if milestone.condition is not None and milestone.condition not in conditions:
            continue
        at = anchors.get(limit.anchor)
        met = anchors.get(milestone.met_by)
        if at is None or (met is not None and met >= at):
            continue
        result.created.append(_create(session, complaint, preset, milestone.key, limit.anchor, at, cal, now))
    session.flush()
    return result


def extend_whole_case(
    session: Session,
    complaint: Complaint,
    new_due: dt.datetime,
    now: dt.datetime,
    *,
    policy: CompanyPolicy,
    calendar: WorkCalendar | None = None,
) -> Deadline | None:
    """Move the running whole-case deadline to ``new_due`` (only after the complainant consented)."""
    cal = calendar or load_calendar(session, policy.calendar)
    preset = policy.workflow.preset(complaint.sla_preset, complaint.category)
    row = session.scalars(
        sa.select(Deadline).where(
            Deadline.complaint_id == complaint.id, Deadline.milestone == "whole_case", Deadline.status.in_(UNMET)
        )
    ).first()
    if row is None:
        return None
    due, reminders, escalate = _extended_plan(preset, "whole_case", row.anchor_at, new_due, cal)
    row.extended = True
    row.generation += 1
    _set_plan(row, due, reminders, escalate, now)
    complaint.due_at = row.due_at
    session.flush()
    return row


def cancel_unmet_deadlines(session: Session, complaint: Complaint, reason: str) -> list[Deadline]:
    """Stop every running deadline (the case is invalid or closed). Flushes."""
    rows = unmet_deadlines(session, complaint)
    for row in rows:
        _cancel(row, reason)
    session.flush()
    return rows


# -- the sweep ------------------------------------------------------------------------------------


@dataclass
class SweepReport:
    reminders: int = 0
    breaches: int = 0
    escalations: int = 0
    extensions_expired: int = 0
    cancelled: int = 0
    rows: int = 0

    @property
    def total(self) -> int:
        return self.reminders + self.breaches + self.escalations + self.extensions_expired


def _alert_context(
    row: Deadline, complaint: Complaint, session: Session, now: dt.datetime, policy: CompanyPolicy
) -> dict[str, Any]:
    responsible = session.get(Staff, complaint.responsible_staff_id) if complaint.responsible_staff_id else None
    overdue = now - row.due_at
    hours = max(int(overdue.total_seconds() // 3600), 0)
    return {
        "deadline": row,
        "due": notify.local_time(row.due_at),
        "category": policy.category_label(complaint.category),
        "responsible": responsible.name if responsible else "（未交办）",
        "overdue": f"{hours // 24}天{hours % 24}小时" if hours >= 24 else f"{hours}小时",
        "remaining": _remaining(row.due_at - now),
    }


def _remaining(delta: dt.timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes >= 24 * 60:
        return f"约{minutes // (24 * 60)}天{(minutes % (24 * 60)) // 60}小时"
    if minutes >= 60:
        return f"约{minutes // 60}小时{minutes % 60}分钟"
    return f"{minutes}分钟"


def _sweep_row(
    session: Session,
    row: Deadline,
    complaint: Complaint,
    now: dt.datetime,
    report: SweepReport,
    policy: CompanyPolicy,
    org: notify.OrgChart,
) -> None:
    key = f"sla:{row.id}:g{row.generation}"
    if complaint.status in TERMINAL:  # a closed case has nothing due
        _cancel(row, "投诉已办结")
        report.cancelled += 1
        return
    preset = policy.workflow.presets.get(row.preset)
    escalation = preset.escalation if preset else Escalation()
    deliver_from = policy.workflow.deliver_from(now)
    context = _alert_context(row, complaint, session, now, policy)
    if now > row.due_at:
        row.reminders_done = len(row.reminder_times)  # past the limit: a reminder is no use any more
        if row.status is DeadlineStatus.OPEN:
            row.status = DeadlineStatus.BREACHED
            row.breached_at = now
            log_event(session, complaint, "deadline_breached", Actor.system(), now, {
                "milestone": row.milestone, "label": row.label, "due_at": row.due_at,
            }, flush=False)
        if row.breach_notified_at is None:
            notify.tell_staff(
                session, complaint, notify.recipients(session, complaint, escalation.breach_to, org=org), "breach",
                now=now, title="投诉处理超时", dedupe_key=f"{key}:breach", not_before=deliver_from, **context,
            )
            row.breach_notified_at = now
            report.breaches += 1
        if row.escalate_at is not None and now >= row.escalate_at and row.escalated_at is None:
            notify.tell_staff(
                session, complaint, notify.recipients(session, complaint, escalation.supervise_to, org=org),
                "escalation",
                now=now, title="超时督办", dedupe_key=f"{key}:escalation", not_before=deliver_from, **context,
            )
            row.escalated_at = now
            report.escalations += 1
            log_event(session, complaint, "deadline_escalated", Actor.system(), now, {
                "milestone": row.milestone, "label": row.label, "due_at": row.due_at,
            }, flush=False)
    else:
        due_now = [
            index for index in range(row.reminders_done, len(row.reminder_times))
            if _parse(row.reminder_times[index]) <= now
        ]
        if due_now:
            last = due_now[-1]  # after a pause, one reminder for the latest point reached, not a burst
            notify.tell_staff(
                session, complaint, notify.recipients(session, complaint, escalation.reminder_to, org=org), "reminder",
                now=now, title="投诉处理催办", dedupe_key=f"{key}:reminder:{last}", not_before=deliver_from,
                **context,
            )
            row.reminders_done = last + 1
            report.reminders += 1
    row.next_alert_at = _next_alert(row)


def sweep_deadlines(
    session: Session,
    now: dt.datetime,
    *,
    policy: CompanyPolicy,
    batch_size: int = SWEEP_BATCH,
) -> SweepReport:
    """The SLA sweep (scheduler job): queue due reminders, breach notices and escalations.

    Alert times were fixed when each row was made; ``policy`` only says whom
    each preset's chain reaches (``escalation.reminder_to`` …). Selects the rows whose
    ``next_alert_at`` has come (one indexed query; on PostgreSQL the rows are claimed with
    ``FOR UPDATE SKIP LOCKED`` so several workers share the work), handles each, and expires
    extension questions left unanswered past the old deadline. Idempotent: each alert is queued
    once (outbox dedupe key), and a second sweep at the same moment finds nothing to do. The caller
    commits; call again while the report says a full batch was processed.

    The cost follows the due rows, and per batch rather than per row: one query for the due rows, one
    locking their complaints, one locking the rows, two reading the org chart (`notify.OrgChart`), one
    INSERT for every alert (`storage.outbox.batched`), and one flush for the rows and timeline entries.
    """
    report = SweepReport()
    due = session.execute(
        sa.select(Deadline.id, Deadline.complaint_id)
        .where(Deadline.status.in_(UNMET), Deadline.next_alert_at <= now)
        .order_by(Deadline.next_alert_at, Deadline.id)
        .limit(batch_size)
    ).all()
    complaints = _lock_complaints(session, {complaint_id for _, complaint_id in due})
    rows = _lock_rows(session, Deadline, [row_id for row_id, complaint_id in due if complaint_id in complaints],
                      Deadline.status.in_(UNMET), Deadline.next_alert_at <= now)
    report.rows = len(rows)
    if rows:
        # Per tick, not per row: the org chart is read once, the alerts are written by one INSERT at the end
        # of the block, and the rows' changes and timeline entries by the flush below.
        org = notify.OrgChart(session)
        with outbox.batched(session), session.no_autoflush:
            for row in rows:
                _sweep_row(session, row, complaints[row.complaint_id], now, report, policy, org)
    report.extensions_expired = expire_extensions(session, now)
    session.flush()
    return report


_Locked = TypeVar("_Locked", Deadline, Extension)


def _lock_complaints(session: Session, ids: Iterable[int]) -> dict[int, Complaint]:
    """Lock these complaints in id order, skipping any another transaction holds (see the lock order)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    locked = session.scalars(
        sa.select(Complaint).where(Complaint.id.in_(wanted)).order_by(Complaint.id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    )
    return {complaint.id: complaint for complaint in locked}


def _lock_rows(
    session: Session, model: type[_Locked], ids: Sequence[int], *still: sa.ColumnElement[bool]
) -> list[_Locked]:
    """Lock rows of complaints this transaction has locked, keeping those that are ``still`` due.

    The ids were chosen before the complaint locks; an operation may have met or moved a row in between.
    """
    if not ids:
        return []
    return list(session.scalars(
        sa.select(model).where(model.id.in_(ids), *still).order_by(model.id)
        .with_for_update().execution_options(populate_existing=True)
    ))


def expire_extensions(session: Session, now: dt.datetime) -> int:
    """Extension questions unanswered when the old deadline passed: expired, deadline unchanged."""
    expired = (Extension.status == ExtensionStatus.PENDING, Extension.old_due_at < now)
    found = session.execute(sa.select(Extension.id, Extension.complaint_id).where(*expired)).all()
    complaints = _lock_complaints(session, {complaint_id for _, complaint_id in found})
    pending = _lock_rows(session, Extension, [row_id for row_id, c in found if c in complaints], *expired)
    for extension in pending:
        complaint = complaints[extension.complaint_id]
        extension.status = ExtensionStatus.EXPIRED
        extension.answered_at = now
        log_event(session, complaint, "extension_expired", Actor.system(), now, {
            "extension_id": extension.id, "new_due_at": extension.new_due_at,
            "changes": {"due_at": {"before": _iso(complaint.due_at) if complaint.due_at else None,
                                    "after": _iso(complaint.due_at) if complaint.due_at else None}},
        })
        requester = session.get(Staff, extension.requested_by_id) if extension.requested_by_id else None
        notify.tell_staff(
            session, complaint, [requester] if requester else notify.responsible_staff(session, complaint),
            "extension_expired", now=now, dedupe_key=f"wf:{complaint.id}:extension:{extension.id}:expired",
            extension=extension, new_due=notify.local_time(extension.new_due_at),
            due=notify.local_time(complaint.due_at),
        )
    return len(pending)


__all__ = [
    "DeadlineChanges",
    "SweepReport",
    "anchor_times",
    "cancel_unmet_deadlines",
    "deadlines_of",
    "expire_extensions",
    "extend_whole_case",
    "next_deadline",
    "notify_management_of_major",
    "on_events",
    "open_initial_deadlines",
    "recompute_open_deadlines",
    "sweep_deadlines",
    "unmet_deadlines",
]
