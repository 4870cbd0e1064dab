"""Department performance (绩效): per handling department and per responsible person, for a period.

The figures feed the performance review (seed 004: 5★ → praise, ≤ 2★ → 通报批评 and a performance record;
seed 001/002: figures of each department). Every figure is defined here once, so the console page, its
Excel export and the README say the same thing; a period is Asia/Shanghai days ``[start, end)``:

==================  =================================================================================
figure              definition (a case counts for its handling department / responsible person)
==================  =================================================================================
承办件数 handled      cases received in the period
办结件数 closed       cases closed (已办结) in the period
按时 / 超时 milestones deadline rows due in the period and already due (due ≤ now), not cancelled: *on time*
                    when met at or before the due time, *late* otherwise (breached, met late, or still open)
按时率 on-time rate   on time ÷ (on time + late); none without a due deadline
超时件数 overdue       cases with at least one late deadline among those rows
评价数 answered       survey answers given in the period (first answer of each survey; 未评价 never counts)
满意率 satisfaction   answers scoring ≥ [workflow].satisfied_score ÷ answers; 平均分 the mean score
表扬 / 批评 / 通报      performance records left by survey answers in the period (handlers/survey.py), counted
                    for the handler and department recorded *when the answer came*
==================  =================================================================================

Who sees what (`performance_scope`): admin and management every case; a lead office (归口部门) the cases of
its ledger; the head of a handling department the cases of that department; anyone else nothing (the page
answers 403).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.workflow.permissions import ADMIN, has_role, is_head_of, is_management, is_read_only
from storage.base import SHANGHAI
from storage.models import (
    Complaint,
    ComplaintStatus,
    Deadline,
    DeadlineStatus,
    Department,
    DepartmentKind,
    PerformanceKind,
    PerformanceRecord,
    Staff,
    Survey,
    SurveyStatus,
)

EXPORT_PERFORMANCE: Final = "export.performance"
FIRST_YEAR, LAST_YEAR = 2000, 2100


class PeriodError(ValueError):
    """A period the page cannot read; the message is for staff (Chinese)."""


@dataclass(frozen=True)
class Period:
    """Asia/Shanghai days ``start`` (inclusive) to ``end`` (exclusive), and how staff wrote it."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)

    @classmethod
    def parse(cls, text: str | None, *, today: dt.date, start: str | None = None,
              end: str | None = None) -> Period:
        """``2026-11`` (a month), ``2026-Q4``, ``2026`` (a year), or ``start``/``end`` days (both inclusive);
        nothing: the current month."""
        if start or end:
            try:
                first = dt.date.fromisoformat((start or "").strip())
                last = dt.date.fromisoformat((end or "").strip())
            except ValueError:
                raise PeriodError("起止日期格式应为 2026-11-01") from None
            if last < first:
                raise PeriodError("结束日期早于开始日期")
            if first.year < FIRST_YEAR or last.year > LAST_YEAR:
                raise PeriodError("日期超出范围")
            return cls(first, last + dt.timedelta(days=1), f"{first.isoformat()}~{last.isoformat()}")
        value = (text or "").strip() or f"{today.year}-{today.month:02d}"
        if match := re.fullmatch(r"(\d{4})-(\d{1,2})", value):
            year, month = int(match[1]), int(match[2])
            if 1 <= month <= 12 and FIRST_YEAR <= year <= LAST_YEAR:
                following = dt.date(year + (month == 12), month % 12 + 1, 1)
                return cls(dt.date(year, month, 1), following, f"{year}-{month:02d}")
        if match := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value):
            year, quarter = int(match[1]), int(match[2])
            if FIRST_YEAR <= year <= LAST_YEAR:
                first = dt.date(year, 3 * quarter - 2, 1)
                following = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
                return cls(first, following, f"{year}-Q{quarter}")
        if re.fullmatch(r"\d{4}", value) and FIRST_YEAR <= int(value) <= LAST_YEAR:
            return cls(dt.date(int(value), 1, 1), dt.date(int(value) + 1, 1, 1), value)
        raise PeriodError("期间格式应为 2026-11（月）、2026-Q4（季度）或 2026（年）")


# -- who sees which cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The cases whose figures a person may see: ``clause`` on `Complaint`, ``label`` for the page."""

    clause: sa.ColumnElement[bool]
    kind: str  # all, office, department
    department: str | None = None


def performance_scope(session: Session, staff: Staff) -> Scope | None:
    """Admin/management: all; a lead office member: its ledger; a handling department's head: its
    department; anyone else: None."""
    if not staff.active:
        return None
    if has_role(staff, ADMIN) or is_management(session, staff):
        return Scope(sa.true(), "all")
    department = session.get(Department, staff.department_id) if staff.department_id else None
    if department is None or not department.active or is_read_only(staff):
        return None
    if department.kind is DepartmentKind.LEAD_OFFICE:
        return Scope(Complaint.lead_office_id == department.id, "office", department.name)
    if department.kind is DepartmentKind.DEPARTMENT and is_head_of(session, staff, department.id):
        return Scope(Complaint.handling_department_id == department.id, "department", department.name)
    return None


# -- the figures --------------------------------------------------------------------------------------


@dataclass
class Figures:
    """One department's or one person's figures (definitions: the module docstring)."""

    key: int | None
    name: str
    department: str | None = None  # for a person: their department
    handled: int = 0
    closed: int = 0
    on_time: int = 0
    late: int = 0
    overdue_cases: int = 0
    answered: int = 0
    satisfied: int = 0
    score_sum: int = 0
    praise: int = 0
    criticism: int = 0
    notices: int = 0

    @property
    def on_time_rate(self) -> float | None:
        decided = self.on_time + self.late
        return self.on_time / decided if decided else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None

    @property
    def average_score(self) -> float | None:
        return self.score_sum / self.answered if self.answered else None

    def add(self, other: Figures) -> None:
        for name in ("handled", "closed", "on_time", "late", "overdue_cases", "answered", "satisfied", "score_sum",
                     "praise", "criticism", "notices"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    period: Period
    departments: list[Figures]
    people: list[Figures]
    total: Figures = field(default_factory=lambda: Figures(None, ""))  # the departments summed


def _in(column: Any, period: Period) -> sa.ColumnElement[bool]:
    return sa.and_(column >= period.start_at, column < period.end_at)


Pair = tuple[int | None, int | None]  # (handling department id, responsible staff id)


def _count_by(session: Session, *where: sa.ColumnElement[bool]) -> dict[Pair, int]:
    groups = (Complaint.handling_department_id, Complaint.responsible_staff_id)
    query = sa.select(*groups, sa.func.count()).select_from(Complaint).where(*where).group_by(*groups)
    return {(department, person): int(n) for department, person, n in session.execute(query)}


def _figures(session: Session, scope: Scope, period: Period, *, now: dt.datetime,
             satisfied_score: int) -> dict[Pair, Figures]:
    """Every figure per (department, person) pair, one query per kind of row; `performance` folds the pairs
    into departments and people (a case has one pair, so distinct counts add up)."""
    found: dict[Pair, Figures] = {}
    groups = (Complaint.handling_department_id, Complaint.responsible_staff_id)

    def of(key: Pair) -> Figures:
        return found.setdefault(key, Figures(None, ""))

    for key, n in _count_by(session, scope.clause, _in(Complaint.received_at, period)).items():
        of(key).handled = n
    closed = _count_by(session, scope.clause, Complaint.status == ComplaintStatus.CLOSED,
                       _in(Complaint.closed_at, period))
    for key, n in closed.items():
        of(key).closed = n
    on_time = sa.and_(Deadline.status == DeadlineStatus.MET, Deadline.met_at <= Deadline.due_at)
    is_late = sa.or_(Deadline.status != DeadlineStatus.MET, Deadline.met_at.is_(None),
                     Deadline.met_at > Deadline.due_at)
    due = (scope.clause, _in(Deadline.due_at, period), Deadline.due_at <= now,
           Deadline.status != DeadlineStatus.CANCELLED)
    rows = session.execute(
        sa.select(*groups, sa.func.sum(sa.case((on_time, 1), else_=0)), sa.func.sum(sa.case((on_time, 0), else_=1)))
        .select_from(Deadline).join(Complaint, Complaint.id == Deadline.complaint_id)
        .where(*due).group_by(*groups)
    )
    for department, person, met, late in rows:
        figures = of((department, person))
        figures.on_time, figures.late = int(met or 0), int(late or 0)
    # The distinct count over the few late rows alone: over every row it made PostgreSQL sort all of them
    # (a year of 1,000,000 cases: 1.7 s as one query, 0.7 s + 0.3 s as two).
    rows = session.execute(
        sa.select(*groups, sa.func.count(sa.distinct(Deadline.complaint_id)))
        .select_from(Deadline).join(Complaint, Complaint.id == Deadline.complaint_id)
        .where(*due, is_late).group_by(*groups)
    )
    for department, person, overdue in rows:
        of((department, person)).overdue_cases = int(overdue)
    rows = session.execute(
        sa.select(*groups, sa.func.count(), sa.func.sum(sa.case((Survey.score >= satisfied_score, 1), else_=0)),
                  sa.func.sum(Survey.score))
        .select_from(Survey).join(Complaint, Complaint.id == Survey.complaint_id)
        .where(scope.clause, Survey.status == SurveyStatus.ANSWERED, Survey.score.is_not(None),
               _in(Survey.answered_at, period))
        .group_by(*groups)
    )
    for department, person, answered, satisfied, score_sum in rows:
        figures = of((department, person))
        figures.answered, figures.satisfied, figures.score_sum = int(answered), int(satisfied or 0), int(score_sum or 0)
    # Records count for the department and handler written on the record (as they were when the answer came).
    record_groups = (PerformanceRecord.department_id, PerformanceRecord.staff_id)
    rows = session.execute(
        sa.select(*record_groups, PerformanceRecord.kind, sa.func.count())
        .select_from(PerformanceRecord).join(Complaint, Complaint.id == PerformanceRecord.complaint_id)
        .where(scope.clause, _in(PerformanceRecord.at, period))
        .group_by(*record_groups, PerformanceRecord.kind)
    )
    attribute = {PerformanceKind.PRAISE: "praise", PerformanceKind.CRITICISM: "criticism",
                 PerformanceKind.NOTICE: "notices"}
    for department, person, kind, n in rows:
        setattr(of((department, person)), attribute[PerformanceKind(kind)], int(n))
    return found


def _fold(pairs: dict[Pair, Figures], index: int) -> dict[int | None, Figures]:
    folded: dict[int | None, Figures] = {}
    for pair, figures in pairs.items():
        key = pair[index]
        folded.setdefault(key, Figures(key, "")).add(figures)
    return folded


def performance(session: Session, scope: Scope, period: Period, *, now: dt.datetime,
                satisfied_score: int) -> Report:
    """The period's figures per handling department and per responsible person, within ``scope``."""
    pairs = _figures(session, scope, period, now=now, satisfied_score=satisfied_score)
    by_department, by_person = _fold(pairs, 0), _fold(pairs, 1)
    departments = {d.id: d.name for d in session.scalars(
        sa.select(Department).where(Department.id.in_([k for k in by_department if k is not None])))}
    people = {p.id: p for p in session.scalars(
        sa.select(Staff).where(Staff.id.in_([k for k in by_person if k is not None])))}
    person_departments = {d.id: d.name for d in session.scalars(
        sa.select(Department).where(Department.id.in_({p.department_id for p in people.values()})))}
    report = Report(period=period, departments=[], people=[])
    for key, figures in by_department.items():
        figures.name = departments.get(key, "") if key is not None else ""
        report.departments.append(figures)
        report.total.add(figures)
    for key, figures in by_person.items():
        person = people.get(key) if key is not None else None
        figures.name = person.name if person else ""
        figures.department = person_departments.get(person.department_id) if person and person.department_id else None
        report.people.append(figures)
    order = lambda f: (f.key is None, f.name)  # noqa: E731 (unassigned last, then by name)
    report.departments.sort(key=order)
    report.people.sort(key=order)
    return report


def period_args(period: Period) -> Mapping[str, str]:
    """The period as request arguments (for links and the audit row)."""
    return {"period": period.label} if "~" not in period.label else {
        "start": period.start.isoformat(), "end": (period.end - dt.timedelta(days=1)).isoformat()}


__all__ = [
    "EXPORT_PERFORMANCE",
    "Figures",
    "Period",
    "PeriodError",
    "Report",
    "Scope",
    "performance",
    "performance_scope",
    "period_args",
]
