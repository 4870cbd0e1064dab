"""The satisfaction survey (满意度评价) and the performance records its answers leave (表扬, 批评, 通报).

One `Survey` row per complaint and round: the survey is sent after a result is fed back, and a reopened case
(a new round) gets a new one when its new result is fed back. The rows are written only by
``handlers/survey.py``. `PerformanceRecord` rows are what the statistics count per handler and department:
a 5★ praise, a note against the handler for a low score, a notice to management (通报) for a very low one.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, str_enum, utcnow


class SurveyStatus(enum.StrEnum):
    SENT = "sent"  # asked, waiting for the stars (reminded_at says whether the one reminder went out)
    ANSWERED = "answered"  # the first answer stands; later ones are kept in ``later_answers``
    EXPIRED = "expired"  # no answer within the window: the case closed as 未评价 (never counted as satisfied)
    CANCELLED = "cancelled"  # the case left 回访中 by another way (staff closed or reopened it) before an answer


class Survey(Base):
    """满意度评价: one survey of one complaint's result (one per round), and its answer."""

    __tablename__ = "survey"
    __table_args__ = (
        sa.UniqueConstraint("complaint_id", "round"),
        sa.Index("ix_survey_status", "status"),
        sa.Index("ix_survey_answered_at", "answered_at"),  # 绩效/KPIs: the answers given in a period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(default=0)  # the complaint's reopen_count when the survey was sent
    status: Mapped[SurveyStatus] = mapped_column(str_enum(SurveyStatus, 16), default=SurveyStatus.SENT)
    sent_at: Mapped[dt.datetime] = mapped_column()
    remind_at: Mapped[dt.datetime] = mapped_column()  # when the one reminder is due if still unanswered
    expires_at: Mapped[dt.datetime] = mapped_column()  # end of the window: closed as 未评价 after this
    reminded_at: Mapped[dt.datetime | None] = mapped_column()
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    stars: Mapped[int | None] = mapped_column()  # 1–5
    score: Mapped[int | None] = mapped_column()  # 0–100 (stars × score_per_star)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    channel: Mapped[str | None] = mapped_column(sa.String(16))  # wechat (the chat) or page (the case page)
    later_answers: Mapped[list[Any]] = mapped_column(default=list)  # [{at, channel, stars, text}] after the first
    consequences: Mapped[list[Any]] = mapped_column(default=list)  # what the answer set off: close, reopen…
    closed_at: Mapped[dt.datetime | None] = mapped_column()  # expired or cancelled
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PerformanceKind(enum.StrEnum):
    PRAISE = "praise"  # 表扬: a 5★ answer (seed 004)
    CRITICISM = "criticism"  # 批评教育: below 3★, a note against the handler (seed 004)
    NOTICE = "notice"  # 通报批评: 2★ or fewer, reported to management, performance record (seed 004)


class PerformanceRecord(Base):
    """A mark against (or for) the handler and the handling department, left by a survey answer."""

    __tablename__ = "performance_record"
    __table_args__ = (
        sa.UniqueConstraint("survey_id", "kind"),
        sa.Index("ix_performance_record_department", "department_id", "kind", "at"),
        sa.Index("ix_performance_record_at", "at"),  # 绩效: every department's records of a period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PerformanceKind] = mapped_column(str_enum(PerformanceKind, 16))
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    survey_id: Mapped[int | None] = mapped_column(sa.ForeignKey("survey.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id", ondelete="SET NULL"))
    stars: Mapped[int | None] = mapped_column()
    at: Mapped[dt.datetime] = mapped_column()
    note: Mapped[str] = mapped_column(sa.Text, default="")
