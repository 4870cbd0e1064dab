"""The KPI facts (``kpi_fact``): one row per complaint with what the statistics need of its other rows, kept
right in the transaction of every change.

Why: the figures of a year of cases probed the deadline, survey and complaint tables once per complaint and
figure (seconds on a million cases); read from one row per complaint they are a join and a sum.

How it stays correct: a listener on every ORM session's flush (`_after_flush`) collects the complaints whose
row, deadline rows or survey rows the flush wrote, and recomputes their facts with one DELETE and one
INSERT … SELECT on the same connection, inside the same transaction: a change and its facts commit or roll back
together. A complaint that is new or whose received time, openid, phone, product or problem type changed also
refreshes the later complaints sharing one of those keys (their "latest earlier complaint" may now be it).
The code writes these tables only through the ORM (no bulk UPDATE of complaints, deadlines or surveys);
anything written around the ORM (a data load in SQL, a restore) is followed by `rebuild_all` (bench/gen_cases.py
does; `tousu report refresh-facts` does it by hand). Every column is timeless (see `storage.models.KpiFact`), so
nothing needs recomputing as time passes.

The facts, per complaint (definitions as in `handlers.stats.kpi`):

* ``response_decided_at``/``response_on_time`` — of its response deadline: the deadline row of the first of
  `RESPONSE_MILESTONES` it has (首次响应, else 登记, else 交办), not cancelled; decided at its met time or its
  due time, whichever is earlier; on time when met by the due time;
* ``whole_met``/``whole_on_time`` — its whole-case deadline (整体处理时限) was met; met by its due time;
* ``overdue_since`` — the earliest due time among its deadlines met late or not met (not cancelled);
* ``unrated`` — its current survey (round = reopen_count) expired unanswered (未评价);
* ``repeat_prev_at`` — the latest received time of an earlier complaint with the same openid, the same phone,
  or the same product and problem type.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from storage.models import Complaint, Deadline, DeadlineStatus, KpiFact, Survey, SurveyStatus

RESPONSE_MILESTONES = ("first_response", "registration", "hand_over")
WHOLE_CASE = "whole_case"
KEY_COLUMNS = ("received_at", "openid", "phone", "product_name", "problem_type")
CHUNK = 500  # ids per statement


class latest_of(FunctionElement[Any]):
    """The latest non-NULL of several moments (NULL when all are): GREATEST on PostgreSQL."""

    inherit_cache = True


@compiles(latest_of, "postgresql")
def _latest_pg(element: latest_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(latest_of)
def _latest_sqlite(element: latest_of, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's max(a, b, c) is NULL when one is: give each NULL another argument's value first.
    parts = [compiler.process(c, **kw) for c in element.clauses]
    rotated = [", ".join(parts[i:] + parts[:i]) for i in range(len(parts))]
    return "max(" + ", ".join(f"coalesce({r})" for r in rotated) + ")"


def _facts_select(ids: Iterable[int] | None) -> sa.Select[Any]:
    """SELECT complaint_id and the fact columns, for ``ids`` (None: every complaint)."""
    d = Deadline
    met = d.status == DeadlineStatus.MET
    live = d.status != DeadlineStatus.CANCELLED
    decided = sa.case((sa.and_(met, d.met_at < d.due_at), d.met_at), else_=d.due_at)
    columns: list[Any] = [d.complaint_id]
    for n, milestone in enumerate(RESPONSE_MILESTONES):
        row = sa.and_(d.milestone == milestone, live)
        columns += [sa.func.max(sa.case((row, 1), else_=0)).label(f"has{n}"),
                    sa.func.min(sa.case((row, decided))).label(f"decided{n}"),
                    sa.func.max(sa.case((sa.and_(row, met, d.met_at <= d.due_at), 1), else_=0)).label(f"ontime{n}")]
    whole = d.milestone == WHOLE_CASE
    columns += [
        sa.func.max(sa.case((sa.and_(whole, met), 1), else_=0)).label("whole_met"),
        sa.func.max(sa.case((sa.and_(whole, met, d.met_at <= d.due_at), 1), else_=0)).label("whole_on_time"),
        sa.func.min(sa.case((sa.and_(live, sa.or_(
            d.status.in_([DeadlineStatus.OPEN, DeadlineStatus.BREACHED]),
            sa.and_(met, d.met_at > d.due_at))), d.due_at))).label("overdue_since"),
    ]
    grouped = sa.select(*columns).group_by(d.complaint_id)
    if ids is not None:
        grouped = grouped.where(d.complaint_id.in_(list(ids)))
    g = grouped.subquery()

    def pick(kind: str) -> Any:
        return sa.case(*((g.c[f"has{n}"] == 1, g.c[f"{kind}{n}"]) for n in range(len(RESPONSE_MILESTONES))))

    c = Complaint
    e = aliased(Complaint)
    before = e.received_at < c.received_at
    previous = latest_of(
        sa.select(sa.func.max(e.received_at)).where(c.openid.is_not(None), e.openid == c.openid, before)
        .scalar_subquery(),
        sa.select(sa.func.max(e.received_at)).where(c.phone.is_not(None), e.phone == c.phone, before)
        .scalar_subquery(),
        sa.select(sa.func.max(e.received_at)).where(
            c.product_name.is_not(None), c.problem_type.is_not(None), e.product_name == c.product_name,
            e.problem_type == c.problem_type, before).scalar_subquery(),
    )
    unrated = sa.exists().where(Survey.complaint_id == c.id, Survey.round == c.reopen_count,
                                Survey.status == SurveyStatus.EXPIRED)
    query = sa.select(
        c.id, c.received_at, pick("decided"), sa.func.coalesce(pick("ontime"), 0) == 1,
        sa.func.coalesce(g.c.whole_met, 0) == 1, sa.func.coalesce(g.c.whole_on_time, 0) == 1,
        g.c.overdue_since, unrated, previous,
    ).select_from(c).outerjoin(g, g.c.complaint_id == c.id)
    if ids is not None:
        query = query.where(c.id.in_(list(ids)))
    return query


_FACT_COLUMNS = ["complaint_id", "received_at", "response_decided_at", "response_on_time", "whole_met", "whole_on_time",
                 "overdue_since", "unrated", "repeat_prev_at"]


def refresh(connection: sa.Connection, ids: Iterable[int]) -> None:
    """Recompute the facts of the complaints ``ids`` (in the caller's transaction)."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        connection.execute(sa.delete(KpiFact).where(KpiFact.complaint_id.in_(chunk)))
        connection.execute(sa.insert(KpiFact).from_select(_FACT_COLUMNS, _facts_select(chunk)))


def rebuild_all(connection: sa.Connection) -> None:
    """Every complaint's facts from scratch (after rows were written around the ORM)."""
    connection.execute(sa.delete(KpiFact))
    connection.execute(sa.insert(KpiFact).from_select(_FACT_COLUMNS, _facts_select(None)))


def _later_with_same_keys(connection: sa.Connection, ids: list[int]) -> set[int]:
    c, later = Complaint, aliased(Complaint)
    same = sa.or_(sa.and_(c.openid.is_not(None), later.openid == c.openid),
                  sa.and_(c.phone.is_not(None), later.phone == c.phone),
                  sa.and_(c.product_name.is_not(None), c.problem_type.is_not(None),
                          later.product_name == c.product_name, later.problem_type == c.problem_type))
    found = connection.execute(sa.select(later.id).join(c, sa.and_(same, later.received_at > c.received_at))
                               .where(c.id.in_(ids)))
    return {row[0] for row in found}


def _keys_changed(obj: Complaint) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in KEY_COLUMNS)


@sa.event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    """Refresh the facts of every complaint this flush wrote (see the module docstring)."""
    touched: set[int] = set()
    keyed: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Complaint) and obj.id is not None:
            touched.add(obj.id)
            if obj in session.new or _keys_changed(obj):
                keyed.add(obj.id)
        elif isinstance(obj, Deadline | Survey) and obj.complaint_id is not None:
            touched.add(obj.complaint_id)
    if not touched:
        return
    connection = session.connection()
    if keyed:
        touched |= _later_with_same_keys(connection, sorted(keyed))
    refresh(connection, touched)


__all__ = ["RESPONSE_MILESTONES", "WHOLE_CASE", "rebuild_all", "refresh"]
