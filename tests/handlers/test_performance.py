"""绩效 figures on the hand-made November of `performance_support` (answers worked out below from its table),
the period parser, and who sees which departments."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from handlers.performance import Figures, Period, PeriodError, performance, performance_scope
from storage.models import Staff
from tests.bot.console.support import in_transaction
from tests.handlers.performance_support import NOW, make_november
from tests.handlers.test_workflow_support import World, make_world

NOVEMBER = Period.parse("2026-11", today=dt.date(2026, 12, 10))
SATISFIED = 85


@pytest.fixture
def world(db, app_config) -> World:
    with db.transaction() as s:
        w = make_world(s, app_config["COMPANY"])
    make_november(db, w)
    return w


def _report(db, world, userid: str):
    with in_transaction(db, world) as w:
        staff = w.session.scalars(sa.select(Staff).where(Staff.wecom_userid == userid)).one()
        scope = performance_scope(w.session, staff)
        assert scope is not None
        return performance(w.session, scope, NOVEMBER, now=NOW, satisfied_score=SATISFIED)


def _row(rows: list[Figures], name: str) -> Figures:
    (row,) = [r for r in rows if r.name == name]
    return row


def _numbers(f: Figures) -> tuple:
    return (f.handled, f.closed, f.on_time, f.late, f.overdue_cases, f.answered, f.satisfied, f.score_sum,
            f.praise, f.criticism, f.notices)


def test_department_figures_worked_out_by_hand(db, world) -> None:
    report = _report(db, world, "wu.fang")  # management: everything
    production = _row(report.departments, "生产部")
    # handled: P1 (received 11-01 00:30 Shanghai, though 10-31 in UTC) and P3; not P2 (October)
    # closed: P1, P2 · deadlines: d1 on time; d2, d3, d5 late; d4 not due in November; d6 cancelled
    # overdue: P1, P2, P3 · answers: 100 and 40 → 1 satisfied, sum 140 · praise 1, criticism 1, notice 1
    assert _numbers(production) == (2, 2, 1, 3, 3, 2, 1, 140, 1, 1, 1)
    assert production.on_time_rate == pytest.approx(1 / 4)
    assert production.satisfaction_rate == pytest.approx(1 / 2) and production.average_score == pytest.approx(70)
    sales = _row(report.departments, "销售部")
    # S1: received in November, closed 12-01 00:10 Shanghai (December); d7 met exactly on time; 80 < 85;
    # its praise is dated December
    assert _numbers(sales) == (1, 0, 1, 0, 0, 1, 0, 80, 0, 0, 0)
    assert sales.on_time_rate == 1 and sales.satisfaction_rate == 0 and sales.average_score == 80
    unassigned = [r for r in report.departments if r.key is None]
    assert [(_numbers(r)) for r in unassigned] == [(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]  # U1
    assert [r.name for r in report.departments] == [*sorted(["生产部", "销售部"]), ""]  # unassigned last
    assert _numbers(report.total) == (4, 2, 2, 3, 3, 3, 1, 220, 1, 1, 1)


def test_person_figures_worked_out_by_hand(db, world) -> None:
    report = _report(db, world, "wu.fang")
    zhao = _row(report.people, "赵磊")  # P1, P3: d1 on time; d2, d5 late; P1's 100
    assert _numbers(zhao) == (2, 1, 1, 2, 2, 1, 1, 100, 1, 0, 0) and zhao.department == "生产部"
    assert zhao.on_time_rate == pytest.approx(1 / 3)
    qian = _row(report.people, "钱浩")  # P2 only: received in October, closed in November
    assert _numbers(qian) == (0, 1, 0, 1, 1, 1, 0, 40, 0, 1, 1) and qian.on_time_rate == 0
    wang = _row(report.people, "王强")
    assert _numbers(wang) == (1, 0, 1, 0, 0, 1, 0, 80, 0, 0, 0)


def test_december_counts_what_falls_in_december(db, world) -> None:
    with in_transaction(db, world) as w:
        staff = w.session.scalars(sa.select(Staff).where(Staff.wecom_userid == "wu.fang")).one()
        scope = performance_scope(w.session, staff)
        assert scope is not None
        december = performance(w.session, scope, Period.parse("2026-12", today=dt.date(2026, 12, 10)), now=NOW,
                               satisfied_score=SATISFIED)
    # S1 closed 12-01 00:10 Shanghai; 王强's praise is dated 12-01 00:05
    assert _numbers(_row(december.departments, "销售部")) == (0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0)
    # d4 (due 12-01 10:00, still open on 12-10): late, P3 overdue
    assert _numbers(_row(december.departments, "生产部")) == (0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(("userid", "departments"), [
    ("wu.fang", {"生产部", "销售部", ""}),  # management
    ("li.na", {"生产部"}),  # the quality office: P1–P3 of its ledger
    ("zhang.wei", {"销售部", ""}),  # the general office: S1 and U1
    ("liu.yang", {"销售部", ""}),  # a general office member who is not its head
    ("zhao.lei", {"生产部"}),  # head of 生产部
    ("wang.qiang", {"销售部"}),  # head of 销售部
])
def test_scope(db, world, userid, departments) -> None:
    report = _report(db, world, userid)
    assert {r.name for r in report.departments} == departments


def test_no_scope_for_a_plain_handler_or_a_viewer(db, world) -> None:
    with in_transaction(db, world) as w:
        for userid in ("qian.hao", "zheng.kai", "zhou.min"):
            staff = w.session.scalars(sa.select(Staff).where(Staff.wecom_userid == userid)).one()
            expected_none = userid != "zhou.min"  # 周敏 is a member of the quality office: its ledger
            assert (performance_scope(w.session, staff) is None) is expected_none
        viewer = Staff(name="只读", wecom_userid="viewer.x", roles=["viewer"],
                       department_id=w.dept("production").id)
        w.session.add(viewer)
        w.session.flush()
        assert performance_scope(w.session, viewer) is None


def test_periods() -> None:
    today = dt.date(2026, 12, 10)
    assert Period.parse("", today=today) == Period(dt.date(2026, 12, 1), dt.date(2027, 1, 1), "2026-12")
    assert Period.parse("2026-Q4", today=today) == Period(dt.date(2026, 10, 1), dt.date(2027, 1, 1), "2026-Q4")
    assert Period.parse("2026-q1", today=today).end == dt.date(2026, 4, 1)
    assert Period.parse("2026", today=today) == Period(dt.date(2026, 1, 1), dt.date(2027, 1, 1), "2026")
    custom = Period.parse(None, today=today, start="2026-11-05", end="2026-11-05")
    assert (custom.start, custom.end) == (dt.date(2026, 11, 5), dt.date(2026, 11, 6))
    # the month starts at 00:00 Asia/Shanghai = 16:00 UTC the day before
    assert NOVEMBER.start_at == dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC)
    for bad in ("2026-13", "26-11", "2026-Q5", "x", "1999"):
        with pytest.raises(PeriodError):
            Period.parse(bad, today=today)
    with pytest.raises(PeriodError):
        Period.parse(None, today=today, start="2026-11-05", end="2026-11-01")
    with pytest.raises(PeriodError):
        Period.parse(None, today=today, start="2026-11-05", end="")
