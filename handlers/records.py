"""Record keeping (档案保存与销毁): how long a closed case is kept, its destruction approval, and destruction.

The rule (DOMAIN.md "Confidentiality, retention"; seed 001: archive ≥ 3 years; seed 002: destroyed only with
an approval on record):

* **kept** — a closed case (已办结, or closed as 无效) is kept at least ``[workflow].retention_years`` (default
  3) after it closed. It becomes *due* on the later of its ``retain_until`` (set when it closed, from the
  setting then) and its closing day plus the setting now, in Asia/Shanghai days: raising the setting keeps
  cases longer, lowering it never shortens what was promised at closing.
* **listed** — `due_cases` lists the due cases that are not destroyed yet, with whether they are approved.
* **approved** — `approve_destruction`: a member of management (管理层) records the approval *on the case*:
  a ``destruction_approved`` timeline row (who, when) and an audit row; the complaint is locked and its
  version checked like every other act on a case. An approval given before the case last closed does not
  count (a case reopened and closed again starts its years anew).
* **destroyed** — `destroy_approved` (``tousu records purge``): only approved due cases. Personal data goes —
  name, contact, phone, address, openid and every free text a customer or staff member typed (description,
  usage, loss, result, comments, investigation and plan notes, extension reasons, follow-up notes, task
  texts, customer message bodies) — and the evidence files and attachment rows with it. The figures stay:
  number, category, product and problem type, source, dates, departments, responsible person, severity,
  deadlines met or breached, survey stars and score, reopen count, performance records. The timeline keeps
  every row (who did what when) with its texts removed, and gets a ``records_destroyed`` row.

**The message logs** are not tied to a case, so the years above never reach them; they keep followers' texts
for ``[workflow].message_log_days`` (default 90, at least 1) and then lose them (`purge_message_log`, nightly
in the worker and in ``tousu records purge``):

* ``inbound_message`` rows (openid, reply text; only the retry dedupe reads them, and only for minutes) are
  deleted once older;
* sent and cancelled outbox rows keep their row — the unique ``dedupe_key`` is what stops a sweep queuing the
  same reminder, survey or notice twice, and the status and times are the delivery history — but lose the
  text and the recipient (``payload`` ``{}``, ``recipient`` ``""``). Pending and sending rows are still
  needed, and failed rows wait for an admin (管理 › 发送失败的消息: requeue or leave), so neither is touched;
* dev sink rows (what the simulator shows in dev mode) are deleted.

Evidence files are removed by the caller *after* the transaction commits (`handlers.evidence.remove_files`):
a rolled-back destruction must not lose files. A crash between the commit and the removal leaves files whose
rows are gone, which the worker's nightly orphan sweep removes (`scheduler.media.remove_orphan_files`). The
paths removed are kept in the ``records_destroyed`` row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import audit
from handlers.audit import Origin
from handlers.evidence import stored_files
from handlers.workflow.available import lock_for_change, mark_changed
from handlers.workflow.errors import PermissionDenied, PreconditionFailed
from handlers.workflow.permissions import is_management
from handlers.workflow.settings import MIN_MESSAGE_LOG_DAYS
from handlers.workflow.transitions import Actor, log_event
from storage.base import SHANGHAI
from storage.models import (
    ActorKind,
    Attachment,
    Complaint,
    ComplaintStatus,
    Department,
    DevSinkMessage,
    Extension,
    FollowUp,
    InboundMessage,
    Investigation,
    OutboxMessage,
    OutboxStatus,
    PerformanceRecord,
    Plan,
    Staff,
    StaffTask,
    Survey,
    TimelineEvent,
)

APPROVED: Final = "destruction_approved"  # timeline action: management's approval, on the case
DESTROYED: Final = "records_destroyed"  # timeline action: personal data and evidence removed
AUDIT_APPROVED: Final = "records.destruction_approved"
AUDIT_DESTROYED: Final = "records.destroyed"
APPROVE_LABEL: Final = "批准销毁"

#: Closed for good: the states a case is kept in after closing.
CLOSED_STATES: Final = (ComplaintStatus.CLOSED, ComplaintStatus.INVALID)

#: Timeline detail keys (and ``changes`` fields) that are figures, kept when a case is destroyed; every
#: other key may hold text someone typed and goes.
KEPT_DETAILS: Final = frozenset({
    "from", "to", "by", "sla_events", "category", "severity", "urgent", "status", "source", "received_at",
    "registered_at", "due_at", "closed_at", "retain_until", "is_valid", "lead_office", "handling_department",
    "responsible", "responsible_department", "reopen_count", "satisfaction_stars", "satisfaction_score",
    "stars", "score", "round", "milestone", "label", "deadline", "old_due_at", "new_due_at", "met_at",
    "breached_at", "problem_type", "product_name", "spec_model", "batch", "measures", "amount", "cause",
    "responsibility", "responsibility_type", "methods", "kind", "outcome", "approved", "files_removed",
    "attachments_removed", "channel", "severity_confirmed", "sla_preset",
})


# -- when a case is due -----------------------------------------------------------------------------


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(SHANGHAI).date()


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def due_clause(now: dt.datetime, years: int) -> sa.ColumnElement[bool]:
    """True for a closed case whose keeping time is over on ``now``'s Asia/Shanghai day: it closed on or
    before this day ``years`` years ago, and its ``retain_until`` (if set) is today or earlier."""
    today = _today(now)
    last_closing_day = _years_before(today, years)
    closed_by = dt.datetime.combine(last_closing_day + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    return sa.and_(
        Complaint.status.in_(CLOSED_STATES),
        Complaint.closed_at.is_not(None),
        Complaint.closed_at < closed_by.astimezone(dt.UTC),
        sa.or_(Complaint.retain_until.is_(None), Complaint.retain_until <= today),
    )


def _event_after_closing(action: str) -> sa.Exists:
    return sa.exists().where(
        TimelineEvent.complaint_id == Complaint.id,
        TimelineEvent.action == action,
        TimelineEvent.at >= Complaint.closed_at,
    )


def destroyed_clause() -> sa.ColumnElement[bool]:
    return sa.exists().where(TimelineEvent.complaint_id == Complaint.id, TimelineEvent.action == DESTROYED)


def approved_clause() -> sa.ColumnElement[bool]:
    """An approval given after the case last closed (one from before a reopening does not count)."""
    return _event_after_closing(APPROVED)


@dataclass(frozen=True)
class DueCase:
    """One case listed for destruction (figures only: the list shows no personal data)."""

    id: int
    number: str
    version: int
    category: str
    status: ComplaintStatus
    department: str | None
    closed_at: dt.datetime
    retain_until: dt.date | None
    approved_at: dt.datetime | None
    approved_by: str | None


def count_due(session: Session, *, now: dt.datetime, years: int) -> int:
    """How many closed cases are past their keeping time and not destroyed (the list's length)."""
    return session.scalar(sa.select(sa.func.count()).select_from(Complaint)
                          .where(due_clause(now, years), ~destroyed_clause())) or 0


def due_cases(session: Session, *, now: dt.datetime, years: int, limit: int = 500,
              offset: int = 0) -> list[DueCase]:
    """Closed cases past their keeping time and not destroyed, oldest closing first, with their approval;
    ``limit`` rows from ``offset`` (the console pages through them)."""
    rows = session.execute(
        sa.select(Complaint.id, Complaint.number, Complaint.version, Complaint.category, Complaint.status,
                  Department.name, Complaint.closed_at, Complaint.retain_until)
        .outerjoin(Department, Department.id == Complaint.handling_department_id)
        .where(due_clause(now, years), ~destroyed_clause())
        .order_by(Complaint.closed_at, Complaint.id)
        .limit(limit).offset(offset)
    ).all()
    approvals: dict[int, tuple[dt.datetime, str | None]] = {}
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 900):
        for cid, at, details in session.execute(
            sa.select(TimelineEvent.complaint_id, TimelineEvent.at, TimelineEvent.details)
            .where(TimelineEvent.complaint_id.in_(ids[start:start + 900]), TimelineEvent.action == APPROVED)
            .order_by(TimelineEvent.id)
        ):
            approvals[cid] = (at, (details or {}).get("by"))
    found = []
    for r in rows:
        approval = approvals.get(r[0])
        closed_at = r[6]
        assert closed_at is not None  # due_clause: closed_at IS NOT NULL
        if approval is not None and _aware(approval[0]) < _aware(closed_at):
            approval = None  # given before the case last closed
        found.append(DueCase(id=r[0], number=r[1], version=r[2], category=r[3], status=r[4], department=r[5],
                             closed_at=closed_at, retain_until=r[7], approved_at=approval[0] if approval else None,
                             approved_by=approval[1] if approval else None))
    return found


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# -- approval ---------------------------------------------------------------------------------------


def approve_destruction(session: Session, staff: Staff, complaint_id: int, seen_version: int | None, *,
                        now: dt.datetime, years: int, origin: Origin) -> Complaint:
    """Management's approval to destroy one due case, recorded on the case (timeline) and in the audit.

    Raises `PermissionDenied` for anyone but an active member of management, `PreconditionFailed` when the
    case is not due (still kept, not closed, destroyed already) or approved already, `CaseChanged` when the
    page was stale. The caller owns the transaction.
    """
    if not staff.active or not is_management(session, staff):
        raise PermissionDenied(APPROVE_LABEL, "只有公司管理层可以批准销毁档案", staff=staff.name)
    complaint = lock_for_change(session, complaint_id, seen_version)
    due = session.scalar(sa.select(sa.func.count()).select_from(Complaint)
                         .where(Complaint.id == complaint.id, due_clause(now, years), ~destroyed_clause()))
    if not due:
        raise PreconditionFailed(APPROVE_LABEL, "该投诉未到保存期限或已销毁")
    if session.scalar(sa.select(sa.func.count()).select_from(Complaint)
                      .where(Complaint.id == complaint.id, approved_clause())):
        raise PreconditionFailed(APPROVE_LABEL, "该投诉已批准销毁")
    log_event(session, complaint, APPROVED, Actor.of(staff), now,
              {"closed_at": complaint.closed_at, "retain_until": complaint.retain_until, "approved": True})
    audit.record(session, AUDIT_APPROVED, now=now, origin=origin, actor=staff, complaint=complaint,
                 details={"closed_at": complaint.closed_at.isoformat() if complaint.closed_at else None})
    mark_changed(complaint)
    return complaint


# -- destruction ------------------------------------------------------------------------------------


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in details.items() if k in KEPT_DETAILS}
    changes = details.get("changes")
    if isinstance(changes, dict):
        kept["changes"] = {name: pair for name, pair in changes.items() if name in KEPT_DETAILS}
    return kept


def destroy(session: Session, complaint: Complaint, *, now: dt.datetime, origin: Origin) -> list[PurePosixPath]:
    """Remove ``complaint``'s personal data and evidence rows, keep its figures; returns the evidence files
    (relative to the attachment folder) for the caller to remove once the transaction has committed."""
    files: list[PurePosixPath] = []
    attachments = list(session.scalars(sa.select(Attachment).where(Attachment.complaint_id == complaint.id)))
    for attachment in attachments:
        files += stored_files(attachment.meta)
        session.delete(attachment)
    for name in ("openid", "contact_person", "phone", "phone_ext", "address", "usage_scenario", "loss",
                 "result_text", "satisfaction_comment", "invalid_reason"):
        setattr(complaint, name, None)
    complaint.complainant_name = ""
    complaint.description = ""
    cid = complaint.id
    session.execute(sa.update(Investigation).where(Investigation.complaint_id == cid)
                    .values(findings=None, cause_note=None, evidence=[]))
    session.execute(sa.update(Plan).where(Plan.complaint_id == cid)
                    .values(description="", decision_note=None, completion_note=None))
    session.execute(sa.update(Extension).where(Extension.complaint_id == cid).values(reason="", answer_text=None))
    session.execute(sa.update(FollowUp).where(FollowUp.complaint_id == cid).values(notes=""))
    session.execute(sa.update(Survey).where(Survey.complaint_id == cid).values(comment=None, later_answers=[]))
    session.execute(sa.update(StaffTask).where(StaffTask.complaint_id == cid)
                    .values(reason="", details={}, outcome=None))
    session.execute(sa.update(PerformanceRecord).where(PerformanceRecord.complaint_id == cid).values(note=""))
    finished = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED)
    outbox_ids = list(session.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.complaint_id == cid,
                                                                        OutboxMessage.status.in_(finished))))
    if outbox_ids:
        session.execute(sa.delete(DevSinkMessage).where(DevSinkMessage.outbox_id.in_(outbox_ids)))
        session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))
    for event in session.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == cid)):
        event.details = _scrub(dict(event.details or {}))
        if event.actor_kind is ActorKind.CUSTOMER:
            event.actor_id = None
    log_event(session, complaint, DESTROYED, Actor.system(), now,
              {"attachments_removed": len(attachments), "files_removed": [p.as_posix() for p in files]})
    audit.record(session, AUDIT_DESTROYED, now=now, origin=origin, complaint=complaint,
                 details={"attachments": len(attachments), "files": len(files)})
    mark_changed(complaint)
    return files


@dataclass
class PurgeReport:
    """What ``tousu records purge`` found and did."""

    due: list[DueCase]
    destroyed: list[str]
    files: list[PurePosixPath]

    @property
    def waiting(self) -> list[DueCase]:
        """Due cases without an approval: listed, never destroyed."""
        return [c for c in self.due if c.approved_at is None]


def destroy_approved(session: Session, *, now: dt.datetime, years: int, dry_run: bool,
                     origin: Origin = audit.CLI) -> PurgeReport:
    """Destroy every due, approved case (``dry_run``: only say which); the caller commits, then removes
    ``files`` with `remove_files`."""
    due = due_cases(session, now=now, years=years, limit=1_000_000)
    report = PurgeReport(due=due, destroyed=[], files=[])
    for case in due:
        if case.approved_at is None:
            continue
        report.destroyed.append(case.number)
        if dry_run:
            continue
        complaint = session.scalars(sa.select(Complaint).where(Complaint.id == case.id)
                                    .with_for_update()).one()
        # Checked again under the lock: still due, approved, not destroyed by a concurrent run.
        still = session.scalar(sa.select(sa.func.count()).select_from(Complaint).where(
            Complaint.id == case.id, due_clause(now, years), approved_clause(), ~destroyed_clause()))
        if not still:
            report.destroyed.pop()
            continue
        report.files += destroy(session, complaint, now=now, origin=origin)
    return report


# -- the message logs -------------------------------------------------------------------------------

#: Rows per kind per call of `purge_message_log` (one short transaction each; the caller loops).
MESSAGE_LOG_BATCH: Final = 2000
_FINISHED: Final = (OutboxStatus.SENT, OutboxStatus.CANCELLED)


@dataclass
class MessageLogPurge:
    """Rows of the message logs past ``[workflow].message_log_days``: deleted, or (outbox) emptied."""

    inbound: int = 0
    outbox: int = 0
    sink: int = 0

    @property
    def rows(self) -> int:
        return self.inbound + self.outbox + self.sink

    def add(self, other: MessageLogPurge) -> None:
        self.inbound += other.inbound
        self.outbox += other.outbox
        self.sink += other.sink


def message_log_cutoff(now: dt.datetime, days: int) -> dt.datetime:
    """Rows from before this moment lose their texts. Never less than a day back, whatever the caller passes:
    the retry dedupe reads the last minutes' inbound rows."""
    if days < MIN_MESSAGE_LOG_DAYS:
        raise ValueError(f"message_log_days must be at least {MIN_MESSAGE_LOG_DAYS}, got {days}")
    return now - dt.timedelta(days=days)


def _old_messages(cutoff: dt.datetime) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool],
                                                 sa.ColumnElement[bool]]:
    inbound = InboundMessage.received_at < cutoff
    outbox = sa.and_(OutboxMessage.created_at < cutoff, OutboxMessage.status.in_(_FINISHED),
                     OutboxMessage.recipient != "")
    sink = DevSinkMessage.created_at < cutoff
    return inbound, outbox, sink


def count_message_log(session: Session, *, now: dt.datetime, days: int) -> MessageLogPurge:
    """What `purge_message_log` would delete or empty (``tousu records purge --dry-run``)."""
    inbound, outbox, sink = _old_messages(message_log_cutoff(now, days))

    def count(entity: Any, where: sa.ColumnElement[bool]) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(entity).where(where)) or 0

    return MessageLogPurge(inbound=count(InboundMessage, inbound), outbox=count(OutboxMessage, outbox),
                           sink=count(DevSinkMessage, sink))


def purge_message_log(session: Session, *, now: dt.datetime, days: int,
                      batch: int = MESSAGE_LOG_BATCH) -> MessageLogPurge:
    """One batch (up to ``batch`` rows of each log) of the rows older than ``days``: inbound and dev sink rows
    deleted, finished outbox rows emptied. The caller commits and calls again while a count equals ``batch``."""
    inbound, outbox, sink = _old_messages(message_log_cutoff(now, days))
    done = MessageLogPurge()
    # Each batch is read in the order of an index that holds only candidates (ix_inbound_message_received_at;
    # the partial ix_outbox_message_unpurged), never past the rows already done: ordered by id, PostgreSQL
    # walked the primary key over every emptied outbox row (150,000 emptied: 64 ms a batch, now 1 ms).
    ids = list(session.scalars(sa.select(InboundMessage.id).where(inbound).order_by(InboundMessage.received_at)
                               .limit(batch)))
    if ids:
        session.execute(sa.delete(InboundMessage).where(InboundMessage.id.in_(ids)))
    done.inbound = len(ids)
    ids = list(session.scalars(sa.select(OutboxMessage.id).where(outbox).order_by(OutboxMessage.created_at)
                               .limit(batch)))
    if ids:
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(payload={}, recipient=""))
    done.outbox = len(ids)
    ids = list(session.scalars(sa.select(DevSinkMessage.id).where(sink).order_by(DevSinkMessage.id).limit(batch)))
    if ids:
        session.execute(sa.delete(DevSinkMessage).where(DevSinkMessage.id.in_(ids)))
    done.sink = len(ids)
    return done


__all__ = [
    "APPROVED",
    "AUDIT_APPROVED",
    "AUDIT_DESTROYED",
    "DESTROYED",
    "MESSAGE_LOG_BATCH",
    "DueCase",
    "MessageLogPurge",
    "PurgeReport",
    "approve_destruction",
    "count_due",
    "count_message_log",
    "destroy",
    "destroy_approved",
    "due_cases",
    "due_clause",
    "message_log_cutoff",
    "purge_message_log",
]
