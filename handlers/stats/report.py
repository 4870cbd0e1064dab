"""Period reports (统计报表): the monthly report management receives by the 5th, and quarterly/yearly on request.

What a report holds (`PeriodReport`, stored as JSON in ``stats_report``, one row per kind and period):

* the period's KPIs (`handlers.stats.kpi`, every case: a report is company-wide) with their targets, and the
  same per handling department (the per-department table) and per category;
* the comparison with the period before (环比) and the same period a year earlier (同比);
* the trend: the figures of each of the twelve months up to the period's end;
* the top problems (category and problem type, by count), the overdue cases (with the deadline each missed)
  and the low-score cases (fewer stars than ``[stats].low_score_below_stars``).

The worker's job (`run_monthly_report`, daily at 08:00 Asia/Shanghai and again each hour until 20:00) builds
last month's report when it does not exist and queues one WeCom text card to management linking to it, once:
the row's ``notified_at`` and the outbox dedupe key ``report:month:<period>`` both say it was queued. So the
1st's run does the work, a failed run is redone by the next, and every later run is one SELECT. Building by
hand (`tousu report monthly 2026-11`) uses the same `ensure_report`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.render import render_message
from handlers.stats.kpi import (
    GroupBy,
    KpiGroup,
    KpiResult,
    compute_kpis,
    count_kpis,
    figures,
    from_months,
    missed_deadline,
    period_clauses,
    targets_for,
)
from handlers.stats.periods import Period, last_month, month
from handlers.workflow.notify import management_staff
from storage.base import SHANGHAI
from storage.models import Complaint, Deadline, Department, StatsReport
from storage.outbox import queue_staff_text

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

REPORT_PATH = "/console/stats/reports/{kind}/{period}"
# A tapped card signs in through WeCom OAuth first (as every staff card does), then opens the report.
REPORT_LINK = "/console/wecom/login?next=" + REPORT_PATH
CASE_LIST_LIMIT = 50  # overdue and low-score cases listed in a report (the count is in the figures)
TREND_MONTHS = 12


@dataclass(frozen=True)
class CaseLine:
    """A case a report lists (no complainant data: a report goes to management as a whole)."""

    number: str
    category: str
    department_id: int | None
    status: str
    received: str  # local YYYY-MM-DD HH:MM
    stars: int | None = None
    score: int | None = None
    deadline: str | None = None  # the missed deadline's label
    due: str | None = None  # its due time, local


@dataclass(frozen=True)
class ProblemLine:
    category: str
    problem_type: str | None
    count: int


@dataclass(frozen=True)
class PeriodReport:
    kind: str
    period: str
    start: str
    end: str
    built_at: str
    current: KpiResult  # groups: per handling department
    previous: KpiResult
    last_year: KpiResult
    by_category: list[KpiGroup]
    trend: list[KpiGroup]  # per month, the twelve months up to the period's end
    top_problems: list[ProblemLine]
    overdue_cases: list[CaseLine]
    low_score_cases: list[CaseLine]
    departments: dict[str, str] = field(default_factory=dict)  # id → name, for the tables


def _local(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _line(c: Complaint, **extra: Any) -> CaseLine:
    return CaseLine(number=c.number, category=c.category, department_id=c.handling_department_id,
                    status=c.status.value, received=_local(c.received_at) or "", **extra)


def trend_period(period: Period, months: int = TREND_MONTHS) -> Period:
    """The ``months`` months up to the end of ``period`` (a custom period: up to the month it ends in)."""
    last = month(period.last_day)
    first = last.start
    for _ in range(months - 1):
        first = month(first - dt.timedelta(days=1)).start
    return Period("custom", first, last.end)


def build_report(session: Session, period: Period, *, policy: CompanyPolicy, now: dt.datetime) -> PeriodReport:
    """Every figure and list of the report of ``period``, counted at ``now``."""
    where = period_clauses(period)
    _, targets = targets_for(policy, None)
    # One count by month over thirteen months gives the trend, and for a month the month itself, the month
    # before (环比) and the same month a year before (同比): each figure is a sum, so a month is its group.
    counted = trend_period(period, TREND_MONTHS + 1)
    per_month = count_kpis(session, counted, policy=policy, as_of=now, group_by="month")
    trend_keys = {m.key for m in trend_period(period).months()}
    trend = [KpiGroup(key=k, figures=figures(c, targets), stars=dict(sorted(c.stars.items())))
             for k, c in sorted(per_month.items(), key=lambda kv: kv[0] or "") if k in trend_keys]

    def kpis(which: Period, group_by: GroupBy | None = None) -> KpiResult:
        return compute_kpis(session, which, policy=policy, as_of=now, group_by=group_by,
                            total=from_months(per_month, counted, which))

    current = kpis(period, "department")
    per_category = count_kpis(session, period, policy=policy, as_of=now, group_by="category")
    by_category = [KpiGroup(key=k, figures=figures(c, targets), stars=dict(sorted(c.stars.items())))
                   for k, c in sorted(per_category.items(), key=lambda kv: (-kv[1].received, kv[0] or ""))]

    problems = session.execute(
        sa.select(Complaint.category, Complaint.problem_type, sa.func.count().label("n"))
        .where(*where).group_by(Complaint.category, Complaint.problem_type)
        .order_by(sa.desc("n"), Complaint.category, Complaint.problem_type).limit(policy.stats.top_problems))
    top = [ProblemLine(category=c, problem_type=p, count=int(n)) for c, p, n in problems]

    late = session.execute(
        sa.select(Complaint, Deadline).join(Deadline, Deadline.complaint_id == Complaint.id)
        .where(*where, missed_deadline(now)).order_by(Complaint.received_at, Complaint.id, Deadline.due_at))
    overdue: dict[int, CaseLine] = {}
    for complaint, deadline in late:
        if complaint.id not in overdue and len(overdue) < CASE_LIST_LIMIT:
            overdue[complaint.id] = _line(complaint, deadline=deadline.label, due=_local(deadline.due_at))
    low = session.scalars(
        sa.select(Complaint).where(*where, Complaint.satisfaction_stars < policy.stats.low_score_below_stars)
        .order_by(Complaint.satisfaction_stars, Complaint.received_at).limit(CASE_LIST_LIMIT))
    low_score = [_line(c, stars=c.satisfaction_stars, score=c.satisfaction_score) for c in low]
    departments = {str(i): n for i, n in session.execute(sa.select(Department.id, Department.name))}
    return PeriodReport(
        kind=period.kind, period=period.key, start=period.start.isoformat(), end=period.last_day.isoformat(),
        built_at=now.astimezone(dt.UTC).isoformat(), current=current,
        previous=kpis(period.previous()), last_year=kpis(period.year_before()),
        by_category=by_category, trend=trend, top_problems=top, overdue_cases=list(overdue.values()),
        low_score_cases=low_score, departments=departments,
    )


def stored_report(session: Session, period: Period) -> StatsReport | None:
    return session.scalar(sa.select(StatsReport).where(StatsReport.kind == period.kind,
                                                       StatsReport.period == period.key))


def ensure_report(session: Session, period: Period, *, policy: CompanyPolicy, now: dt.datetime,
                  rebuild: bool = False) -> tuple[StatsReport, bool]:
    """The stored report of ``period`` (built now when missing, or when ``rebuild``); (row, built now?).

    Two workers building at once make one row: the unique (kind, period) refuses the second insert, which
    then reads the first's row. Flushes."""
    row = stored_report(session, period)
    if row is not None and not rebuild:
        return row, False
    data = dataclasses.asdict(build_report(session, period, policy=policy, now=now))
    if row is not None:
        row.data, row.built_at = data, now
        session.flush()
        return row, True
    try:
        with session.begin_nested():
            row = StatsReport(kind=period.kind, period=period.key, data=data, built_at=now)
            session.add(row)
    except IntegrityError:
        found = stored_report(session, period)
        assert found is not None
        return found, False
    return row, True


def notify_management(session: Session, row: StatsReport, *, now: dt.datetime) -> int:
    """Queue the report's WeCom card to management once; returns how many people it was queued for now."""
    if row.notified_at is not None:
        return 0
    people = [s for s in management_staff(session, None) if s.wecom_userid]
    row.notified_at = now
    if not people:
        return 0
    data = row.data
    text = render_message("stats/report_card", report=data, current=_figures(data["current"]),
                          previous=_figures(data["previous"]))
    title = render_message("stats/report_card_title", report=data)
    queued = queue_staff_text(session, [s.wecom_userid for s in people], text, now=now,
                              dedupe_key=f"report:{row.kind}:{row.period}", title=title,
                              url=REPORT_LINK.format(kind=row.kind, period=row.period))
    session.flush()
    return len(people) if queued is not None else 0


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f for f in result["figures"]}


@dataclass(frozen=True)
class MonthlyRun:
    period: str
    built: bool  # the report was built by this run
    notified: int  # people the card was queued for by this run


def run_monthly_report(session: Session, now: dt.datetime, *, policy: CompanyPolicy) -> MonthlyRun:
    """The worker's job: last month's report, built once, and management's card queued once (see the module
    docstring). Cheap when both are done: one SELECT."""
    period = last_month(now)
    row, built = ensure_report(session, period, policy=policy, now=now)
    notified = notify_management(session, row, now=now) if row.notified_at is None else 0
    return MonthlyRun(period=period.key, built=built, notified=notified)


__all__ = [
    "REPORT_LINK",
    "REPORT_PATH",
    "CaseLine",
    "MonthlyRun",
    "PeriodReport",
    "ProblemLine",
    "build_report",
    "ensure_report",
    "notify_management",
    "run_monthly_report",
    "stored_report",
    "trend_period",
]
