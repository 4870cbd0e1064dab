"""Stored statistics reports (统计报表): one row per period, built by the worker or by hand.

The monthly report is built once per month (``kind`` = ``month``, ``period`` = ``2026-11``) and kept, so
what management received can be shown again exactly as it was; building it again replaces the figures
(``tousu report monthly --rebuild``) but never queues a second card: ``notified_at`` says the card went
into the outbox, and the unique key (kind, period) makes two workers build one row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class StatsReport(Base):
    """One period's report: the figures as plain JSON (``handlers/stats/report.py`` ``MonthlyReport``)."""

    __tablename__ = "stats_report"
    __table_args__ = (sa.UniqueConstraint("kind", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # month | quarter | year
    period: Mapped[str] = mapped_column(sa.String(16))  # 2026-11 | 2026-Q3 | 2026
    built_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notified_at: Mapped[dt.datetime | None] = mapped_column()  # the management card was queued


class KpiFact(Base):
    """What the KPIs need of one complaint's deadline, survey and earlier-complaint rows, kept in one row.

    Maintained by ``handlers/stats/facts.py`` in the transaction of every change (a flush that touches the
    complaint, one of its deadlines or surveys), so the statistics read one row per complaint instead of
    probing three tables per complaint. Every column is a fact that does not age: "overdue at ``as_of``" is
    ``overdue_since < as_of``; "a repeat within N days" is ``repeat_prev_at >= received_at - N days``.
    """

    __tablename__ = "kpi_fact"

    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True)
    # The complaint's, repeated so a period's facts are one index range (the statistics join on both).
    received_at: Mapped[dt.datetime] = mapped_column(index=True)
    response_decided_at: Mapped[dt.datetime | None] = mapped_column()  # response deadline met or due (earlier)
    response_on_time: Mapped[bool] = mapped_column(default=False)
    whole_met: Mapped[bool] = mapped_column(default=False)  # the whole-case deadline was met (on time or late)
    whole_on_time: Mapped[bool] = mapped_column(default=False)
    overdue_since: Mapped[dt.datetime | None] = mapped_column()  # earliest due time of a missed or unmet deadline
    unrated: Mapped[bool] = mapped_column(default=False)  # the current survey expired unanswered (未评价)
    repeat_prev_at: Mapped[dt.datetime | None] = mapped_column()  # the latest earlier complaint with the same key
