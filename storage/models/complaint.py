"""The complaint record (台账), its attachments, its timeline and the monthly number counter."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, str_enum, utcnow


class ComplaintStatus(enum.StrEnum):
    """Lifecycle states (DOMAIN.md); the transition table lives in handlers/workflow."""

    REGISTERED = "registered"  # 已登记
    TRIAGED = "triaged"  # 已分类
    INVALID = "invalid"  # 无效
    ASSIGNED = "assigned"  # 已交办
    INVESTIGATING = "investigating"  # 调查中
    PLAN_PENDING = "plan_pending"  # 方案待审批
    IMPLEMENTING = "implementing"  # 处置中
    RESOLVED = "resolved"  # 已反馈
    SURVEYING = "surveying"  # 回访中
    CLOSED = "closed"  # 已办结
    REOPENED = "reopened"  # 重新处理


class Severity(enum.StrEnum):
    GENERAL = "general"  # 一般
    MAJOR = "major"  # 重大


class Source(enum.StrEnum):
    """投诉来源: where the complaint came in."""

    WECHAT = "wechat"  # 微信公众号
    PHONE = "phone"  # 电话/热线
    EMAIL = "email"  # 邮件
    LETTER = "letter"  # 书面函件
    SUGGESTION_BOX = "suggestion_box"  # 意见箱
    WALK_IN = "walk_in"  # 现场来访
    OA = "oa"
    GOVERNMENT = "government"  # 政府平台 (12345 等)
    SALES_REP = "sales_rep"  # 销售代表
    WEBSITE = "website"  # 网站


class Complaint(Base):
    """One complaint as the ledger (台账) records it. Codes (category, problem type…) come from configuration."""

    __tablename__ = "complaint"
    # 绩效 and the KPIs join a period's deadlines, surveys and records to their case for its department and
    # person: read from this narrow index (an index-only scan) instead of the wide rows (descriptions…).
    __table_args__ = (
        sa.Index("ix_complaint_figures", "id", "handling_department_id", "responsible_staff_id", "lead_office_id"),
        # The repeat-complaint figure (handlers/stats/kpi.py): an earlier case from the same phone, or about
        # the same product and problem type, within a window — each an index probe.
        sa.Index("ix_complaint_phone_received", "phone", "received_at"),
        sa.Index("ix_complaint_product_problem", "product_name", "problem_type", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)  # 投诉编号 YYMM + serial
    source: Mapped[Source] = mapped_column(str_enum(Source, 24))
    received_at: Mapped[dt.datetime] = mapped_column(index=True)  # the real time it reached us
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[ComplaintStatus] = mapped_column(
        str_enum(ComplaintStatus, 24), default=ComplaintStatus.REGISTERED, index=True
    )

    # complainant 投诉人 (confidential: shown only to those handling the case)
    openid: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    complainant_name: Mapped[str] = mapped_column(sa.String(100))  # 单位/姓名
    contact_person: Mapped[str | None] = mapped_column(sa.String(64))
    phone: Mapped[str | None] = mapped_column(sa.String(32))  # E.164
    phone_ext: Mapped[str | None] = mapped_column(sa.String(16))
    address: Mapped[str | None] = mapped_column(sa.String(300))

    # what it is about
    category: Mapped[str] = mapped_column(sa.String(32), index=True)  # 诉求类型 code
    product_name: Mapped[str | None] = mapped_column(sa.String(200))
    spec_model: Mapped[str | None] = mapped_column(sa.String(200))  # 规格型号
    batch: Mapped[str | None] = mapped_column(sa.String(100))  # 生产批次
    purchase_date: Mapped[dt.date | None] = mapped_column()
    quantity: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(14, 3))
    quantity_unit: Mapped[str | None] = mapped_column(sa.String(16))
    problem_type: Mapped[str | None] = mapped_column(sa.String(32))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    usage_scenario: Mapped[str | None] = mapped_column(sa.Text)
    loss: Mapped[str | None] = mapped_column(sa.Text)  # 损失情况
    demands: Mapped[list[Any]] = mapped_column(default=list)  # 诉求 codes, several allowed
    callback_requested: Mapped[bool] = mapped_column(default=False)  # customer asked for a person (人工)

    # triage
    is_valid: Mapped[bool | None] = mapped_column()
    invalid_reason: Mapped[str | None] = mapped_column(sa.Text)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, 16), default=Severity.GENERAL)
    severity_confirmed: Mapped[bool] = mapped_column(default=False)
    severity_reasons: Mapped[list[Any]] = mapped_column(default=list)  # why the rules suggested 重大
    urgent: Mapped[bool] = mapped_column(default=False)  # 紧急
    sla_preset: Mapped[str] = mapped_column(sa.String(32))

    # routing
    lead_office_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"), index=True)
    handling_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id"), index=True)
    responsible_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"), index=True)
    complained_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id"))  # 回避

    # outcome
    result_text: Mapped[str | None] = mapped_column(sa.Text)  # 处理结果, fed back to the complainant
    satisfaction_stars: Mapped[int | None] = mapped_column()
    satisfaction_score: Mapped[int | None] = mapped_column()
    satisfaction_comment: Mapped[str | None] = mapped_column(sa.Text)
    reopen_count: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # whole-case deadline (moves only with consent)
    closed_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # 绩效/KPIs: closed in a period
    retain_until: Mapped[dt.date | None] = mapped_column()  # ≥ 3 years after closing
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic version (乐观锁): SQLAlchemy adds 1 on every UPDATE of the row and makes the UPDATE
    # conditional on the version it read, so two writers on stale reads cannot both win. A console form
    # carries the version it was rendered with; a different one at submission means someone else acted.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    attachments: Mapped[list[Attachment]] = relationship(back_populates="complaint", order_by="Attachment.id")
    timeline: Mapped[list[TimelineEvent]] = relationship(
        back_populates="complaint", order_by="TimelineEvent.id", cascade="all, delete-orphan"
    )


class AttachmentKind(enum.StrEnum):
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    FILE = "file"
    LOCATION = "location"


class DownloadStatus(enum.StrEnum):
    """Where an attachment's bytes are: WeChat keeps temporary media 3 days, so a job copies them here."""

    NONE = "none"  # nothing to fetch (a location, a link, no media id)
    PENDING = "pending"  # waiting for the download job (``download_after``: not before)
    FETCHING = "fetching"  # claimed by a worker (``download_after``: its lease ends)
    STORED = "stored"  # on our disk (``meta["path"]``)
    FAILED = "failed"  # given up (``download_error``: "<reason code>: <detail>")


DOWNLOADED_KINDS = frozenset({"image", "voice", "video", "file"})


def _initial_download_status(context: Any) -> DownloadStatus:
    """A new row with WeChat media to copy starts ``pending``; anything else has nothing to download."""
    params = context.get_current_parameters()
    kind = params.get("kind")
    wanted = params.get("media_id") and str(getattr(kind, "value", kind)) in DOWNLOADED_KINDS
    return DownloadStatus.PENDING if wanted else DownloadStatus.NONE


class Attachment(Base):
    """佐证材料: a photo, voice, file or location; first held by the draft (openid), then by the complaint."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    draft_openid: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, 16))
    media_id: Mapped[str | None] = mapped_column(sa.String(256))
    url: Mapped[str | None] = mapped_column(sa.String(1024))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The evidence download (scheduler/media.py, rules in handlers/evidence.py).
    download_status: Mapped[DownloadStatus] = mapped_column(
        str_enum(DownloadStatus, 16), default=_initial_download_status, server_default=DownloadStatus.NONE.value
    )
    download_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    download_after: Mapped[dt.datetime | None] = mapped_column()
    download_error: Mapped[str | None] = mapped_column(sa.String(300))

    __table_args__ = (sa.Index("ix_attachment_download_due", "download_status", "download_after"),)

    complaint: Mapped[Complaint | None] = relationship(back_populates="attachments")


class ActorKind(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    SYSTEM = "system"


class TimelineEvent(Base):
    """Append-only record of every change to a complaint (also the audit log)."""

    __tablename__ = "timeline_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, 16))
    actor_id: Mapped[str | None] = mapped_column(sa.String(128))  # staff id or masked openid
    action: Mapped[str] = mapped_column(sa.String(48))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    complaint: Mapped[Complaint] = relationship(back_populates="timeline")


class ComplaintCounter(Base):
    """The last serial used in one month (``period`` = YYMM, Asia/Shanghai); updated under a row lock."""

    __tablename__ = "complaint_counter"

    period: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    last_serial: Mapped[int] = mapped_column(default=0)
