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
