"""The KPIs (考核指标) of any period and slice, each with its definition and its target.

Definitions (an auditor recomputes each from the ledger; the console shows them beside each figure and the
README repeats them). **The period's complaints** are those *received* (``received_at``) within the period in
Asia/Shanghai, narrowed by the slice (category, handling department, severity, channel = 投诉来源, product)
and, in the console, by the reader's scope. Everything is counted at ``as_of`` (when the figures are made;
a stored report keeps its ``as_of``).

=====================  ==========================================================================================
figure                 definition
=====================  ==========================================================================================
received 受理量        the period's complaints
invalid 无效           of them, status 无效
valid 有效             received − invalid
closed 已办结          of them, status 已办结
open 在办              valid − closed
closure_rate 办结率    closed ÷ valid
avg / P90 处理时长     over the closed ones: working days from the day received to the day closed (the day received
                       not counted, as the SLA counts; company calendar with 调休 and the company's exceptions);
                       P90 is the nearest rank: the least d with at least 90 % of the cases at d or less
response_rate 响应及时率  complaints whose response deadline was met by its due time ÷ complaints whose response
                       deadline is decided (met, or due, by ``as_of``; decided at the earlier of the two). The
                       response deadline is the complaint's deadline row of the first milestone of
                       `RESPONSE_MILESTONES` it has (首次响应, else 登记, else 交办)
on_time_rate 处理时限达标率  closed complaints whose whole-case deadline (整体处理时限, ``whole_case``) was met by its
                       due time (an agreed extension moves the due time) ÷ closed complaints with that deadline met
satisfaction_rate 满意率  complaints whose (latest) survey score is at least ``[workflow].satisfied_score`` ÷
                       complaints with a score (1–5 stars × ``score_per_star``)
average_score 平均满意度  mean of those scores (0–100); the stars' distribution is given beside it
unrated 未评价         complaints whose current survey expired unanswered (closed as 未评价, never counted satisfied)
repeat_rate 同类问题重复投诉率  complaints with an earlier complaint received within ``[stats].repeat_window_days``
                       before it from the same complainant (same openid, or same phone), or about the same product
                       and problem type ÷ received
reopened 重开          complaints reopened at least once (``reopen_count`` > 0); reopens: the sum of reopen_count
overdue 超时           complaints with at least one deadline missed by ``as_of``: met after its due time, or unmet
                       (open or breached) and due before ``as_of``; cancelled deadlines do not count
=====================  ==========================================================================================

Targets come from the SLA preset (``[sla.presets.<preset>.targets]``, `handlers.sla.presets.TARGET_KEYS`): the
preset of the slice's category when the slice names one, else ``[sla].default_preset``. A rate with a zero
denominator has no value (None, shown as —) and neither meets nor misses its target.

Computation: one grouped query over the period's complaints, reading the deadline, survey and earlier-complaint
facts from ``kpi_fact`` (`handlers.stats.facts`: one row per complaint, kept in the transaction of every
change), grouped also by (day received, day closed) of the closed ones, which are turned into working days in
Python (a year of cases costs a few thousand calendar lookups). Each figure is a sum, so groups (by month,
category, department…) come from the same query.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.sla.calendar_store import load_calendar
from handlers.stats.facts import RESPONSE_MILESTONES
from handlers.stats.periods import Period
from handlers.stats.sqlfuncs import as_date, days_before, local_date, local_month
from storage.models import Complaint, ComplaintStatus, Deadline, DeadlineStatus, KpiFact, Severity, Source

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

STARS = (1, 2, 3, 4, 5)
GroupBy = Literal["month", "category", "department", "severity", "channel", "product"]
GROUP_BYS: tuple[GroupBy, ...] = ("month", "category", "department", "severity", "channel", "product")
#: The figures, in the order pages show them; ``unit``: % (a rate), days, score (0–100) or count.
FIGURES: tuple[tuple[str, str], ...] = (
    ("received", "count"), ("invalid", "count"), ("valid", "count"), ("closed", "count"), ("open", "count"),
    ("closure_rate", "%"), ("avg_handling_days", "days"), ("p90_handling_days", "days"),
    ("response_rate", "%"), ("on_time_rate", "%"), ("satisfaction_rate", "%"), ("average_score", "score"),
    ("answered", "count"), ("unrated", "count"), ("repeat_rate", "%"), ("repeats", "count"),
    ("reopened", "count"), ("reopens", "count"), ("overdue", "count"),
)


class SliceError(ValueError):
    """A slice value that cannot be a filter (an unknown severity or channel)."""


@dataclass(frozen=True)
class Slice:
    """Which complaints of the period to count; None = all. ``department_id``: the handling department."""

    category: str | None = None
    department_id: int | None = None
    severity: str | None = None
    channel: str | None = None
    product: str | None = None

    def __post_init__(self) -> None:
        if self.severity is not None and self.severity not in {s.value for s in Severity}:
            raise SliceError(f"severity: unknown value {self.severity!r}")
        if self.channel is not None and self.channel not in {s.value for s in Source}:
            raise SliceError(f"channel: unknown value {self.channel!r}")

    def clauses(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.category is not None:
            found.append(Complaint.category == self.category)
        if self.department_id is not None:
            found.append(Complaint.handling_department_id == self.department_id)
        if self.severity is not None:
            found.append(Complaint.severity == Severity(self.severity))
        if self.channel is not None:
            found.append(Complaint.source == Source(self.channel))
        if self.product is not None:
            found.append(Complaint.product_name == self.product)
        return found

    def is_all(self) -> bool:
        return all(v is None for v in (self.category, self.department_id, self.severity, self.channel, self.product))


@dataclass
class Counts:
    """The sums every figure is made of (one group, or the whole slice). Adding two gives the union's."""

    received: int = 0
    invalid: int = 0
    closed: int = 0
    response_decided: int = 0
    response_on_time: int = 0
    whole_case_met: int = 0  # closed complaints whose whole-case deadline was met (on time or late)
    whole_case_on_time: int = 0
    answered: int = 0
    satisfied: int = 0
    score_sum: int = 0
    unrated: int = 0
    repeats: int = 0
    reopened: int = 0
    reopens: int = 0
    overdue: int = 0
    handling_days: dict[int, int] = field(default_factory=dict)  # working days → closed complaints
    stars: dict[int, int] = field(default_factory=dict)  # 1–5 → complaints answered with that many

    @property
    def valid(self) -> int:
        return self.received - self.invalid

    @property
    def open(self) -> int:
        return self.valid - self.closed

    def value(self, key: str) -> float | int | None:
        """The figure called ``key`` (see `FIGURES`)."""
        rates = {
            "closure_rate": (self.closed, self.valid),
            "response_rate": (self.response_on_time, self.response_decided),
            "on_time_rate": (self.whole_case_on_time, self.whole_case_met),
            "satisfaction_rate": (self.satisfied, self.answered),
            "repeat_rate": (self.repeats, self.received),
        }
        if key in rates:
            top, bottom = rates[key]
            return round(100.0 * top / bottom, 2) if bottom else None
        if key == "average_score":
            return round(self.score_sum / self.answered, 2) if self.answered else None
        if key == "avg_handling_days":
            total = sum(self.handling_days.values())
            return round(sum(d * n for d, n in self.handling_days.items()) / total, 2) if total else None
        if key == "p90_handling_days":
            return percentile(self.handling_days, 0.9)
        return int(getattr(self, key))

    def fraction(self, key: str) -> tuple[int, int] | None:
        """(numerator, denominator) of a rate, for showing the working beside the figure."""
        return {
            "closure_rate": (self.closed, self.valid),
            "response_rate": (self.response_on_time, self.response_decided),
            "on_time_rate": (self.whole_case_on_time, self.whole_case_met),
            "satisfaction_rate": (self.satisfied, self.answered),
            "repeat_rate": (self.repeats, self.received),
            "average_score": (self.score_sum, self.answered),
        }.get(key)


def percentile(histogram: Mapping[int, int], share: float) -> int | None:
    """Nearest-rank percentile of a histogram {value: count}: the least value with ≥ ``share`` of the counts at
    or below it (P90 of 1…10 is 9; of 1…11 is 10)."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = math.ceil(share * total)
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)  # pragma: no cover - the loop always reaches the rank


@dataclass(frozen=True)
class Figure:
    """One figure as pages, reports and the API show it."""

    key: str
    unit: str  # % | days | score | count
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    target: float | None = None
    direction: str | None = None  # min: reach the target; max: stay at or under it
    met: bool | None = None


@dataclass(frozen=True)
class KpiResult:
    """The KPIs of one period and slice (``groups``: the same per month/category/… when asked for)."""

    period: str
    period_kind: str
    start: str  # first local day
    end: str  # last local day (included)
    as_of: str  # ISO UTC
    slice: dict[str, Any]
    targets_preset: str
    figures: list[Figure]
    stars: dict[int, int]
    handling_days: dict[int, int]
    group_by: str | None = None
    groups: list[KpiGroup] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


@dataclass(frozen=True)
class KpiGroup:
    key: str | None  # the month (2026-11), category code, department id as text, … ; None: not set
    figures: list[Figure]
    stars: dict[int, int]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def figures(counts: Counts, targets: Mapping[str, float]) -> list[Figure]:
    """Every figure of `FIGURES` with its working (numerator, denominator) and target."""
    from handlers.sla.presets import TARGET_KEYS

    found = []
    for key, unit in FIGURES:
        value = counts.value(key)
        fraction = counts.fraction(key)
        target = targets.get(key)
        direction = TARGET_KEYS.get(key)
        met = None
        if target is not None and value is not None:
            met = value >= target if direction == "min" else value <= target
        found.append(Figure(key=key, unit=unit, value=value,
                            numerator=fraction[0] if fraction else None,
                            denominator=fraction[1] if fraction else None,
                            target=target, direction=direction, met=met))
    return found


# -- the queries ---------------------------------------------------------------------------------------------


def _group_column(group_by: GroupBy | None) -> sa.ColumnElement[Any]:
    if group_by is None:
        return sa.literal(None, sa.String).label("g")
    column: Any = {
        "month": local_month(Complaint.received_at),
        "category": Complaint.category,
        "department": Complaint.handling_department_id,
        "severity": Complaint.severity,
        "channel": Complaint.source,
        "product": Complaint.product_name,
    }[group_by]
    return column.label("g")


def _group_key(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def missed_deadline(as_of: dt.datetime) -> sa.ColumnElement[bool]:
    """The deadline rows `overdue_condition` looks for (to say which deadline a listed case missed)."""
    return sa.or_(
        sa.and_(Deadline.status == DeadlineStatus.MET, Deadline.met_at > Deadline.due_at),
        sa.and_(Deadline.status.in_([DeadlineStatus.OPEN, DeadlineStatus.BREACHED]), Deadline.due_at < as_of))


def period_clauses(period: Period, slice_: Slice | None = None,
                   scope: sa.ColumnElement[bool] | None = None) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of "the period's complaints" in a slice and scope."""
    where: list[sa.ColumnElement[bool]] = [Complaint.received_at >= period.start_utc,
                                           Complaint.received_at < period.end_utc, *(slice_ or Slice()).clauses()]
    if scope is not None:
        where.append(scope)
    return where


def count_kpis(session: Session, period: Period, *, policy: CompanyPolicy, as_of: dt.datetime,
               slice_: Slice | None = None, scope: sa.ColumnElement[bool] | None = None,
               group_by: GroupBy | None = None) -> dict[str | None, Counts]:
    """The `Counts` of the period's complaints in the slice (and ``scope``), per group (one group, None, when
    ``group_by`` is None)."""
    where = period_clauses(period, slice_, scope)
    g = _group_column(group_by)
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL would JIT-compile these aggregates (about a second on a year of cases, more than running
        # them): they are plain sums over one index range per table.
        session.execute(sa.text("SET LOCAL jit = off"))
        session.execute(sa.text("SET LOCAL work_mem = '32MB'"))  # a year's groups sorted in memory

    # Everything about deadlines, surveys and earlier complaints comes from the complaint's facts
    # (handlers/stats/facts.py: one row per complaint, kept in the transaction of every change).
    f = KpiFact
    closed = Complaint.status == ComplaintStatus.CLOSED
    response_decided = f.response_decided_at <= as_of
    response_on_time = f.response_on_time.is_(True)
    whole_met = f.whole_met.is_(True)
    whole_on_time = f.whole_on_time.is_(True)
    overdue = f.overdue_since < as_of
    unrated = f.unrated.is_(True)
    window = days_before(Complaint.received_at, sa.literal_column(str(int(policy.stats.repeat_window_days))))
    repeat = f.repeat_prev_at >= window
    satisfied_score = policy.workflow.satisfied_score
    # One pass over the period's rows: the sums per group and, for the closed, per (day received, day closed),
    # so the handling days come from the same rows (the pairs are turned into working days below).
    timed = sa.and_(closed, Complaint.closed_at.is_not(None))
    received_day = sa.case((timed, local_date(Complaint.received_at))).label("rd")
    closed_day = sa.case((timed, local_date(Complaint.closed_at))).label("cd")
    main = sa.select(
        g, received_day, closed_day, sa.func.count(),
        _count(Complaint.status == ComplaintStatus.INVALID),
        _count(closed),
        _count(response_decided), _count(response_on_time),
        _count(sa.and_(closed, whole_met)), _count(sa.and_(closed, whole_on_time)),
        _count(Complaint.satisfaction_score.is_not(None)),
        _count(Complaint.satisfaction_score >= satisfied_score),
        sa.func.coalesce(sa.func.sum(Complaint.satisfaction_score), 0),
        _count(unrated), _count(repeat),
        _count(Complaint.reopen_count > 0), sa.func.coalesce(sa.func.sum(Complaint.reopen_count), 0),
        _count(overdue),
        *(_count(Complaint.satisfaction_stars == n) for n in STARS),
    ).select_from(Complaint).outerjoin(f, sa.and_(
        # received_at repeated on the fact: both sides are one index range of the period
        f.complaint_id == Complaint.id, f.received_at >= period.start_utc, f.received_at < period.end_utc,
    )).where(*where).group_by(g, received_day, closed_day)
    groups: dict[str | None, Counts] = {}
    names = ("received", "invalid", "closed", "response_decided", "response_on_time", "whole_case_met",
             "whole_case_on_time", "answered", "satisfied", "score_sum", "unrated", "repeats", "reopened",
             "reopens", "overdue")
    calendar = None
    for row in session.execute(main):
        counts = groups.setdefault(_group_key(row[0]), Counts())
        for name, value in zip(names, row[3:len(names) + 3], strict=True):
            setattr(counts, name, getattr(counts, name) + int(value or 0))
        for n, value in zip(STARS, row[len(names) + 3:], strict=True):
            if value:
                counts.stars[n] = counts.stars.get(n, 0) + int(value)
        if row[1] is not None and row[2] is not None:
            calendar = calendar or load_calendar(session, policy.calendar)
            spent = max(calendar.working_days_between(as_date(row[1]), as_date(row[2])), 0)
            counts.handling_days[spent] = counts.handling_days.get(spent, 0) + int(row[3])
    if group_by is None and None not in groups:
        groups[None] = Counts()
    return groups


def targets_for(policy: CompanyPolicy, slice_: Slice | None) -> tuple[str, Mapping[str, float]]:
    """(preset key, targets): the slice's category's preset, else the default preset."""
    settings = policy.workflow
    key = settings.preset_key_for(slice_.category) if slice_ and slice_.category else settings.default_preset
    return key, settings.presets[key].targets


def compute_kpis(session: Session, period: Period, *, policy: CompanyPolicy, as_of: dt.datetime,
                 slice_: Slice | None = None, scope: sa.ColumnElement[bool] | None = None,
                 group_by: GroupBy | None = None, total: Counts | None = None) -> KpiResult:
    """The KPIs of ``period`` (and per ``group_by`` group), JSON-ready with ``dataclasses.asdict``.

    ``scope``: a WHERE clause on `Complaint` limiting what the reader may count
    (`handlers.workflow.scope.scope_clause`); None counts every case (the worker's reports). ``total``: the
    period's counts when the caller has them already (from a trend by month, `from_months`).
    """
    slice_ = slice_ or Slice()
    preset, targets = targets_for(policy, slice_)
    groups: list[KpiGroup] = []
    if group_by is not None:
        per = count_kpis(session, period, policy=policy, as_of=as_of, slice_=slice_, scope=scope,
                         group_by=group_by)
        order = sorted(per, key=lambda k: (k is None, k or "")) if group_by == "month" else \
            sorted(per, key=lambda k: (-per[k].received, k is None, k or ""))
        groups = [KpiGroup(key=k, figures=figures(per[k], targets), stars=dict(sorted(per[k].stars.items())))
                  for k in order]
        if total is None:
            total = merge(list(per.values()))  # every figure is a sum: the groups add up to the period
    if total is None:
        total = count_kpis(session, period, policy=policy, as_of=as_of, slice_=slice_, scope=scope)[None]
    return KpiResult(
        period=period.key, period_kind=period.kind, start=period.start.isoformat(),
        end=period.last_day.isoformat(), as_of=as_of.astimezone(dt.UTC).isoformat(),
        slice={k: v for k, v in vars(slice_).items() if v is not None}, targets_preset=preset,
        figures=figures(total, targets), stars=dict(sorted(total.stars.items())),
        handling_days=dict(sorted(total.handling_days.items())), group_by=group_by, groups=groups,
    )


def from_months(per_month: Mapping[str | None, Counts], counted: Period, period: Period) -> Counts | None:
    """The counts of ``period`` from ``per_month``, the counts by month of the range ``counted`` (same slice and
    scope), when ``period`` is whole months within it; None when it is not (count it on its own)."""
    months = period.months()
    if not months or any(m.kind != "month" for m in months) or not (
            counted.start <= period.start and period.end <= counted.end):
        return None
    return merge([per_month.get(m.key) or Counts() for m in months])


def merge(counts: Sequence[Counts]) -> Counts:
    """The sums of several groups (the figures of their union)."""
    out = Counts()
    for c in counts:
        for name in ("received", "invalid", "closed", "response_decided", "response_on_time", "whole_case_met",
                     "whole_case_on_time", "answered", "satisfied", "score_sum", "unrated", "repeats", "reopened",
                     "reopens", "overdue"):
            setattr(out, name, getattr(out, name) + getattr(c, name))
        for d, n in c.handling_days.items():
            out.handling_days[d] = out.handling_days.get(d, 0) + n
        for s, n in c.stars.items():
            out.stars[s] = out.stars.get(s, 0) + n
    return out


__all__ = [
    "FIGURES",
    "GROUP_BYS",
    "RESPONSE_MILESTONES",
    "Counts",
    "Figure",
    "GroupBy",
    "KpiGroup",
    "KpiResult",
    "Slice",
    "SliceError",
    "compute_kpis",
    "count_kpis",
    "figures",
    "from_months",
    "merge",
    "missed_deadline",
    "percentile",
    "period_clauses",
    "targets_for",
]
