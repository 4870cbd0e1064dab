"""Each KPI on the hand-made October of `dataset`, with its answer worked out here (not by the code under test).

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL (the date arithmetic is SQL written per dialect).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.config import load_policy
from handlers.stats.kpi import KpiResult, Slice, SliceError, compute_kpis, percentile
from handlers.stats.periods import PeriodError, parse_period
from handlers.workflow.scope import scope_clause
from storage.db import Database
from storage.models import Department
from tests.handlers.stats.dataset import AS_OF, Dataset, build
from tests.handlers.test_workflow_support import World, make_world


@pytest.fixture
def world(db: Database, company_config: dict[str, Any]) -> World:
    with db.transaction() as s:
        return make_world(s, company_config)


@pytest.fixture
def data(db: Database, world: World) -> Dataset:
    with db.transaction() as s:
        departments = {d.code: d for d in s.scalars(sa.select(Department))}
        return build(s, departments)


def kpis(db: Database, world: World, period: str = "2026-10", **kwargs: Any) -> KpiResult:
    with db.read_sessions() as s:
        return compute_kpis(s, parse_period(period), policy=world.policy, as_of=AS_OF, **kwargs)


def values(result: KpiResult | Any) -> dict[str, Any]:
    return {f.key: f.value for f in result.figures}


def test_october_figures_match_the_hand_computation(db: Database, world: World, data: Dataset) -> None:
    got = values(kpis(db, world))
    # Received in October (Asia/Shanghai): A (10-01 00:30, still September in UTC), B, C, D, E, I, and F
    # (10-31 23:30); not G (11-01 00:10, October in UTC), H (09-30) or K (June).
    assert got["received"] == 7
    assert got["invalid"] == 1  # E
    assert got["valid"] == 6
    assert got["closed"] == 4  # A, B, C, I
    assert got["open"] == 2  # D, F
    assert got["closure_rate"] == round(100 * 4 / 6, 2)  # 66.67
    # Working days, the day received not counted (国庆 1–7 October off, Saturday 10 October worked):
    # A 10-01 → 10-09: 8 and 9 October = 2; B 10-08 → 10-20: 9, 10, 12–16, 19, 20 = 9;
    # C 10-12 → 10-13: 1; I 10-05 → 10-12: 8, 9, 10, 12 = 4.  Mean 16/4 = 4; P90 (nearest rank 4 of 4) = 9.
    assert got["avg_handling_days"] == 4.0
    assert got["p90_handling_days"] == 9
    # Response deadlines, all met: B's an hour late, the other six on time.
    assert got["response_rate"] == round(100 * 6 / 7, 2)
    # Closed with the whole-case deadline met: A, B, C on time, I two days late.
    assert got["on_time_rate"] == 75.0
    # Scores (stars × 20): A 100, B 80, I 40; satisfied at 85 or more: A only.
    assert got["answered"] == 3
    assert got["satisfaction_rate"] == round(100 / 3, 2)
    assert got["average_score"] == round(220 / 3, 2)
    assert got["unrated"] == 1  # C: its survey expired
    # Repeats within 90 days: B (A's product and problem), C (A's openid), D (H's openid, in September).
    # Not F: K had its openid, but 152 days before.
    assert got["repeats"] == 3
    assert got["repeat_rate"] == round(100 * 3 / 7, 2)
    assert got["reopened"] == 2 and got["reopens"] == 3  # B once, I twice
    # Overdue: B (response late), I (whole case late), D (whole case due 10-22, unmet on 11-01).
    assert got["overdue"] == 3


def test_stars_histogram_and_targets(db: Database, world: World, data: Dataset) -> None:
    result = kpis(db, world)
    assert result.stars == {2: 1, 4: 1, 5: 1}
    assert result.handling_days == {1: 1, 2: 1, 4: 1, 9: 1}
    assert result.targets_preset == "general"  # [sla].default_preset of the example policy
    closure = result.figure("closure_rate")
    assert (closure.numerator, closure.denominator, closure.target, closure.met) == (4, 6, 100.0, False)
    repeat = result.figure("repeat_rate")
    assert (repeat.direction, repeat.target, repeat.met) == ("max", 5.0, False)
    json.dumps(dataclasses.asdict(result))  # plain data, ready for the API


def test_a_preset_target_from_the_policy(db: Database, world: World, data: Dataset) -> None:
    world.config.setdefault("sla", {}).setdefault("presets", {})["nonferrous-quality"] = {
        "targets": {"closure_rate": 60}}
    result = kpis(db, world, slice_=Slice(category="product_quality"))
    # Quality cases: A, B (closed), F (open) → 2 of 3 valid; the quality preset's own target, 60 %.
    assert result.targets_preset == "nonferrous-quality"
    closure = result.figure("closure_rate")
    assert (closure.value, closure.target, closure.met) == (round(200 / 3, 2), 60.0, True)


def test_slices(db: Database, world: World, data: Dataset) -> None:
    assert values(kpis(db, world, slice_=Slice(department_id=data.logistics.id)))["received"] == 3  # C, D, E
    by_severity = values(kpis(db, world, slice_=Slice(severity="major")))
    assert (by_severity["received"], by_severity["overdue"]) == (1, 1)  # D
    phone = values(kpis(db, world, slice_=Slice(channel="phone")))
    assert (phone["received"], phone["invalid"]) == (2, 1)  # B, E
    product = values(kpis(db, world, slice_=Slice(product="铝板")))
    assert (product["received"], product["repeats"]) == (2, 1)  # A, B (B repeats A)
    with pytest.raises(SliceError):
        Slice(severity="huge")


def test_groups_by_department_and_month(db: Database, world: World, data: Dataset) -> None:
    result = kpis(db, world, group_by="department")
    received = {g.key: g.figure("received").value for g in result.groups}
    assert received == {str(data.production.id): 4, str(data.logistics.id): 3}  # A B F I / C D E
    production = next(g for g in result.groups if g.key == str(data.production.id))
    assert production.figure("avg_handling_days").value == 5.0  # A 2, B 9, I 4 → 15/3
    quarter = kpis(db, world, "2026-Q4", group_by="month")
    assert [(g.key, g.figure("received").value) for g in quarter.groups] == [("2026-10", 7), ("2026-11", 1)]
    # G (November) repeats A and C (same openid o1, within 90 days).
    assert quarter.groups[1].figure("repeats").value == 1


def test_month_boundaries_are_shanghai_days(db: Database, world: World, data: Dataset) -> None:
    assert values(kpis(db, world, "2026-11"))["received"] == 1  # G alone
    assert values(kpis(db, world, "2026-09"))["received"] == 1  # H alone; A is October's
    assert values(kpis(db, world, "2026-10-31..2026-10-31"))["received"] == 1  # F
    assert values(kpis(db, world, "2026-10-01..2026-10-01"))["received"] == 1  # A


def test_the_readers_scope(db: Database, world: World, data: Dataset) -> None:
    """The quality office (李娜) counts its own ledger only: A, B, F in October."""
    with db.read_sessions() as s:
        li_na = s.merge(world["li.na"], load=False)
        result = compute_kpis(s, parse_period("2026-10"), policy=world.policy, as_of=AS_OF,
                              scope=scope_clause(s, li_na))
    assert values(result)["received"] == 3


def test_empty_period_has_no_rates(db: Database, world: World) -> None:
    got = values(kpis(db, world, "2025-01"))
    assert got["received"] == 0 and got["closure_rate"] is None and got["p90_handling_days"] is None


def test_percentile_nearest_rank() -> None:
    assert percentile({d: 1 for d in range(1, 11)}, 0.9) == 9
    assert percentile({d: 1 for d in range(1, 12)}, 0.9) == 10
    assert percentile({3: 5}, 0.9) == 3
    assert percentile({}, 0.9) is None


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
    ("2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 10, 1)),
    ("2026", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ("2026-02-03..2026-02-05", dt.date(2026, 2, 3), dt.date(2026, 2, 6)),
])
def test_periods(text: str, start: dt.date, end: dt.date) -> None:
    period = parse_period(text)
    assert (period.start, period.end, period.key) == (start, end, text)


def test_period_comparisons_and_errors() -> None:
    november = parse_period("2026-11")
    assert november.previous().key == "2026-10" and november.year_before().key == "2025-11"
    assert parse_period("2026-01").previous().key == "2025-12"
    assert parse_period("2026-Q1").previous().key == "2025-Q4"
    assert november.start_utc == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)
    for bad in ("2026-13", "2026-Q5", "yesterday", "2026-02-05..2026-02-03", ""):
        with pytest.raises(PeriodError):
            parse_period(bad)
    with pytest.raises(PeriodError):
        parse_period("2026", kind="month")


def test_policy_rejects_bad_stats_settings() -> None:
    from handlers.config import PolicyError

    with pytest.raises(PolicyError, match=r"stats\.repeat_window_days"):
        load_policy({"stats": {"repeat_window_days": 0}})
    with pytest.raises(PolicyError, match=r"stats\.nope"):
        load_policy({"stats": {"nope": 1}})
    with pytest.raises(PolicyError, match="targets"):
        load_policy({"sla": {"presets": {"general": {"targets": {"closure_rate": 120}}}}})
    assert load_policy({"stats": {"repeat_window_days": 30}}).stats.repeat_window_days == 30


