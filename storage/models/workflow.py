"""What the workflow records besides the complaint row: deadlines, investigation, plan, extensions,
follow-up visits, and the company's own working-day exceptions.

Every row belongs to one complaint (except calendar exceptions) and is written only by the operations in
``handlers/workflow``; the timeline (``TimelineEvent``) says who changed what and when.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, str_enum, utcnow
from storage.models.complaint import Severity


class DeadlineStatus(enum.StrEnum):
    OPEN = "open"  # clock running
    BREACHED = "breached"  # passed and not yet met (超时); becomes MET when the milestone finally happens
    MET = "met"  # milestone happened (on time when met_at <= due_at)
    CANCELLED = "cancelled"  # no longer applies (case invalid/closed, severity change removed it)


class Deadline(Base):
    """One milestone's time limit for one complaint (处理时限), created when its anchor event happens.

    The alert plan is computed when the row is made (or recomputed): ``reminder_times`` (催办),
    the breach at ``due_at`` (超时 → department head) and ``escalate_at`` (督办 → management).
    ``next_alert_at`` is the earliest alert not yet handled, so the sweep is one indexed query;
    ``generation`` goes up on every recomputation and is part of the outbox dedupe keys, so each
    alert of each plan is queued exactly once.
    """

    __tablename__ = "deadline"
    __table_args__ = (
        sa.Index("ix_deadline_due_alerts", "status", "next_alert_at"),
        # Deadlines due in a period with what 绩效/KPIs read of them (on time, late, whose case), so a year of
        # them is an index-only scan; it also serves every range on due_at (it replaced ix_deadline_due_at).
        sa.Index("ix_deadline_figures", "due_at", "complaint_id", "status", "met_at"),
        # The ledger's 超时 filter: the few unmet deadlines, readable without the table (handlers/ledger.py).
        sa.Index("ix_deadline_unmet", "complaint_id", "status", "due_at",
                 postgresql_where=sa.text("status IN ('open', 'breached')"),
                 sqlite_where=sa.text("status IN ('open', 'breached')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    preset: Mapped[str] = mapped_column(sa.String(32))
    milestone: Mapped[str] = mapped_column(sa.String(48))  # e.g. whole_case
    label: Mapped[str] = mapped_column(sa.String(64))  # e.g. 整体处理时限
    anchor_event: Mapped[str] = mapped_column(sa.String(48))  # e.g. received
    anchor_at: Mapped[dt.datetime] = mapped_column()
    met_by: Mapped[str] = mapped_column(sa.String(48))  # the event that meets it
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, 16))
    due_at: Mapped[dt.datetime] = mapped_column()  # indexed by ix_deadline_figures (due_at first)
    status: Mapped[DeadlineStatus] = mapped_column(str_enum(DeadlineStatus, 16), default=DeadlineStatus.OPEN)
    extended: Mapped[bool] = mapped_column(default=False)  # moved by an agreed extension (延期)

    reminder_times: Mapped[list[Any]] = mapped_column(default=list)  # ISO UTC strings, ascending
    reminders_done: Mapped[int] = mapped_column(default=0)  # how many of them are handled (sent or skipped)
    breach_notified_at: Mapped[dt.datetime | None] = mapped_column()
    escalate_at: Mapped[dt.datetime | None] = mapped_column()
    escalated_at: Mapped[dt.datetime | None] = mapped_column()
    next_alert_at: Mapped[dt.datetime | None] = mapped_column()
    generation: Mapped[int] = mapped_column(default=1)

    met_at: Mapped[dt.datetime | None] = mapped_column()
    breached_at: Mapped[dt.datetime | None] = mapped_column()
    cancelled_reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Investigation(Base):
    """调查: one round of investigation (a reopened case gets a new round)."""

    __tablename__ = "investigation"
    __table_args__ = (sa.UniqueConstraint("complaint_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(default=1)
    started_at: Mapped[dt.datetime] = mapped_column()
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    team: Mapped[list[Any]] = mapped_column(default=list)  # staff ids of the (special) team 调查小组

    methods: Mapped[list[Any]] = mapped_column(default=list)  # 调查方式 codes
    findings: Mapped[str | None] = mapped_column(sa.Text)
    cause: Mapped[str | None] = mapped_column(sa.String(32))  # 原因 code
    cause_note: Mapped[str | None] = mapped_column(sa.Text)
    responsibility: Mapped[str | None] = mapped_column(sa.String(16))  # company / not_company
    responsible_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"))
    responsibility_type: Mapped[str | None] = mapped_column(sa.String(16))  # 直接 · 主要 · 次要 · 领导
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # texts and attachment references 证据
    recorded_at: Mapped[dt.datetime | None] = mapped_column()

    site_visit_decided_at: Mapped[dt.datetime | None] = mapped_column()
    site_visited_at: Mapped[dt.datetime | None] = mapped_column()
    sample_received_at: Mapped[dt.datetime | None] = mapped_column()
    retest_reported_at: Mapped[dt.datetime | None] = mapped_column()

    report_text: Mapped[str | None] = mapped_column(sa.Text)  # 调查分析报告
    report_submitted_at: Mapped[dt.datetime | None] = mapped_column()
    report_submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanStatus(enum.StrEnum):
    PROPOSED = "proposed"  # needs no approval, not started yet
    PENDING_APPROVAL = "pending_approval"  # 待审批
    APPROVED = "approved"  # 已批准, not started yet
    REJECTED = "rejected"  # 驳回: a new plan must be proposed
    IN_PROGRESS = "in_progress"  # 实施中
    COMPLETED = "completed"  # 实施完成
    SUPERSEDED = "superseded"  # replaced after the case was reopened


class Plan(Base):
    """处置方案 with its approval record (审批) when one is required (重大, or any money)."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(default=1)
    measures: Mapped[list[Any]] = mapped_column(default=list)  # 处置措施 codes
    description: Mapped[str] = mapped_column(sa.Text, default="")
    amount: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(14, 2))  # CNY, when money is involved
    responsible_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"))
    due_date: Mapped[dt.date | None] = mapped_column()
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus, 24), default=PlanStatus.PROPOSED)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    approval_required: Mapped[bool] = mapped_column(default=False)
    approval_reasons: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["major", "money"]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decision_note: Mapped[str | None] = mapped_column(sa.Text)

    started_at: Mapped[dt.datetime | None] = mapped_column()
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    completion_note: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ExtensionStatus(enum.StrEnum):
    PENDING = "pending"  # asked, waiting for the complainant
    CONSENTED = "consented"  # 同意: the whole-case deadline moved
    REFUSED = "refused"  # 不同意: deadline unchanged
    EXPIRED = "expired"  # no answer before the old deadline: unchanged


class Extension(Base):
    """延期: a request to move the whole-case deadline, which only the complainant's consent makes real."""

    __tablename__ = "extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    old_due_at: Mapped[dt.datetime] = mapped_column()
    new_due_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[ExtensionStatus] = mapped_column(
        str_enum(ExtensionStatus, 16), default=ExtensionStatus.PENDING, index=True
    )
    asked_via: Mapped[str] = mapped_column(sa.String(16), default="wechat")  # wechat, or phone/letter by staff
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    answer_text: Mapped[str | None] = mapped_column(sa.Text)  # what the complainant wrote or said
    answer_recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))


class FollowUp(Base):
    """回访: a follow-up visit or call after the result was fed back."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column()
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(sa.String(16))  # phone, visit, wechat, other
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    satisfied: Mapped[bool | None] = mapped_column()  # None: the complainant gave no opinion
    score: Mapped[int | None] = mapped_column()  # 0–100, when asked


class CalendarException(Base):
    """公司例外: a day the company works or rests against the official calendar (wins over it)."""

    __tablename__ = "calendar_exception"

    date: Mapped[dt.date] = mapped_column(primary_key=True)
    is_working_day: Mapped[bool] = mapped_column()
    note: Mapped[str | None] = mapped_column(sa.String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TaskKind(enum.StrEnum):
    """What a member of staff must do by hand (人工任务)."""

    CALL_CUSTOMER = "call_customer"  # 电话告知: a message that cannot reach the complainant in WeChat
    CALLBACK = "callback"  # 电话回访: a low score (< 3★) or a customer's request for a call
    SUPPLEMENTARY = "supplementary"  # 补充措施: satisfaction below the threshold, measures until satisfied


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"  # no longer needed (the case closed, or the message got through after all)


class StaffTask(Base):
    """A task for the lead office (by default) about one complaint, shown in the console until done.

    Opened by ``handlers.workflow.tasks.open_task`` only; ``dedupe_key`` makes opening idempotent (a retried
    job or message opens it once).
    """

    __tablename__ = "staff_task"
    __table_args__ = (sa.Index("ix_staff_task_open", "status", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TaskKind] = mapped_column(str_enum(TaskKind, 24))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus, 16), default=TaskStatus.OPEN)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.Text)  # shown to staff: why this task exists (Chinese)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. the message text to read out
    dedupe_key: Mapped[str] = mapped_column(sa.String(191), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column()
    done_at: Mapped[dt.datetime | None] = mapped_column()
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(sa.Text)  # what the call found, in staff's words
