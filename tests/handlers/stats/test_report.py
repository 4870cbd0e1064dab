"""The monthly report: built by the worker at 08:00 on the 1st, stored once, management's card queued once and
delivered; its figures checked against the hand computation of `dataset` and of a generated month.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from bot.channels.sink import build_channels
from bot.console.stats_workbook import report_workbook
from handlers.sla.calendar import WorkCalendar
from handlers.stats.periods import parse_period
from handlers.stats.report import ensure_report
from scheduler.jobs import run_monthly_report_job
from scheduler.outbox import dispatch_due
from storage.base import SHANGHAI
from storage.db import Database
from storage.models import (
    Complaint,
    ComplaintStatus,
    Deadline,
    DeadlineStatus,
    Department,
    OutboxMessage,
    Severity,
    Source,
    StatsReport,
)
from tests.conftest import count_rows
from tests.fakes.fake_wechat import (  # noqa: F401 (pytest fixture)
    WECOM_SEND,
    FakeWeChat,
    fake_settings,
    fake_wechat_fixture,
)
from tests.handlers.stats.dataset import AS_OF, Dataset, build
from tests.handlers.test_workflow_support import World, make_world

MANAGEMENT = ["chen.gang", "wu.fang"]  # the example org chart's management, plus the support's second manager


@pytest.fixture
def world(db: Database, company_config: dict[str, Any]) -> World:
    with db.transaction() as s:
        return make_world(s, company_config)


@pytest.fixture
def data(db: Database, world: World) -> Dataset:
    with db.transaction() as s:
        return build(s, {d.code: d for d in s.scalars(sa.select(Department))})


@pytest.fixture
def settings(world: World, fake_wechat: FakeWeChat) -> Any:
    base = fake_settings(fake_wechat, PUBLIC_BASE_URL="https://tousu.example.com")
    return type(base)(**{**base.__dict__, "policy": world.policy})


def figures(result: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in result["figures"]}


def report_cards(db: Database) -> list[OutboxMessage]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like("report:%"))))


def test_the_1st_at_8_builds_last_months_report_and_queues_the_card_once(
        db: Database, world: World, data: Dataset, settings: Any) -> None:
    run = run_monthly_report_job(db, settings, now=AS_OF)  # 2026-11-01 08:00 Asia/Shanghai
    assert (run.period, run.built, run.notified) == ("2026-10", True, len(MANAGEMENT))
    cards = report_cards(db)
    assert len(cards) == 1
    card = cards[0]
    assert sorted(card.recipient.split("|")) == sorted(MANAGEMENT)
    assert card.payload["title"] == "2026年10月投诉统计月报"
    assert card.payload["url"] == "/console/wecom/login?next=/console/stats/reports/month/2026-10"
    assert "受理 7 件（上期 1 件），办结率 66.7%（目标 100%）" in card.payload["text"]
    assert len(card.payload["text"].encode()) <= 512  # a text card's description

    # Every later run that day and the next days: nothing new (one report, one card).
    for later in (AS_OF + dt.timedelta(hours=1), AS_OF + dt.timedelta(days=1), AS_OF + dt.timedelta(days=4)):
        again = run_monthly_report_job(db, settings, now=later)
        assert (again.built, again.notified) == (False, 0)
    assert len(report_cards(db)) == 1
    assert count_rows(db, StatsReport) == 1


def test_a_failed_1st_is_made_up_on_a_later_day(db: Database, world: World, data: Dataset, settings: Any) -> None:
    third = AS_OF + dt.timedelta(days=2)
    run = run_monthly_report_job(db, settings, now=third)
    assert (run.period, run.built, run.notified) == ("2026-10", True, len(MANAGEMENT))


def test_management_receives_the_card(db: Database, world: World, data: Dataset, settings: Any,
                                      fake_wechat: FakeWeChat) -> None:
    run_monthly_report_job(db, settings, now=AS_OF)
    stats = dispatch_due(db, build_channels(settings, db), now=AS_OF)
    assert stats.sent == 1 and stats.failed == 0
    (body,) = [c.body for c in fake_wechat.deliveries if c.path == WECOM_SEND]
    assert body["msgtype"] == "textcard" and sorted(body["touser"].split("|")) == sorted(MANAGEMENT)
    assert body["textcard"]["url"].startswith("https://tousu.example.com/console/wecom/login")


def test_the_report_holds_the_hand_computed_figures(db: Database, world: World, data: Dataset) -> None:
    with db.transaction() as s:
        row, built = ensure_report(s, parse_period("2026-10"), policy=world.policy, now=AS_OF)
        report = dict(row.data)
    assert built
    got = figures(report["current"])
    assert (got["received"], got["closed"], got["closure_rate"], got["overdue"], got["unrated"]) == (
        7, 4, 66.67, 3, 1)
    assert figures(report["previous"])["received"] == 1  # September: H
    assert figures(report["last_year"])["received"] == 0  # October 2025
    c = data.cases
    # Overdue, by date received: I (10-05, whole case late), B (10-08, response late), D (10-15, unmet).
    assert [x["number"] for x in report["overdue_cases"]] == [c["I"].number, c["B"].number, c["D"].number]
    assert report["overdue_cases"][0]["due"] == "2026-10-10 23:59"
    assert [x["number"] for x in report["low_score_cases"]] == [c["I"].number]  # 2 stars; B's 4 is not low
    per_department = {g["key"]: figures(g)["received"] for g in report["current"]["groups"]}
    assert per_department == {str(data.production.id): 4, str(data.logistics.id): 3}
    # Two each for delivery (D, E) and quality/surface (A, B), by category at a tie; then one each.
    assert report["top_problems"][:2] == [{"category": "delivery", "problem_type": None, "count": 2},
                                          {"category": "product_quality", "problem_type": "surface", "count": 2}]
    assert [(g["key"], figures(g)["received"]) for g in report["trend"]][-2:] == [("2026-09", 1), ("2026-10", 7)]

    book = load_workbook(io.BytesIO(report_workbook(report, company="测试公司", category_label=str)))
    overview = {row[0]: row for row in book["概览"].iter_rows(min_row=4, values_only=True)}
    assert overview["办结率"][2] == 66.67 and overview["办结率"][5] == "≥100"
    assert len(book["趋势"]._charts) == 2  # received, and the two rates
    assert [r[0] for r in book["超时案件"].iter_rows(min_row=2, values_only=True)] == [
        c["I"].number, c["B"].number, c["D"].number]


def test_rebuilding_replaces_the_figures_but_not_the_row(db: Database, world: World, data: Dataset) -> None:
    period = parse_period("2026-10")
    with db.transaction() as s:
        first, _ = ensure_report(s, period, policy=world.policy, now=AS_OF)
        first_id = first.id
    with db.transaction() as s:
        s.get(Complaint, data.cases["D"].id).status = ComplaintStatus.CLOSED  # type: ignore[union-attr]
    with db.transaction() as s:
        kept, built = ensure_report(s, period, policy=world.policy, now=AS_OF + dt.timedelta(days=1))
        assert not built and figures(kept.data["current"])["closed"] == 4
        again, built = ensure_report(s, period, policy=world.policy, now=AS_OF + dt.timedelta(days=1),
                                     rebuild=True)
        assert built and again.id == first_id and figures(again.data["current"])["closed"] == 5


# -- a generated month ---------------------------------------------------------------------------------------


@dataclass
class Spec:
    received: dt.datetime
    category: str
    status: ComplaintStatus
    closed: dt.datetime | None
    stars: int | None
    response_due: dt.datetime
    response_met: dt.datetime | None  # None: not met by the time the report is counted
    whole_case_due: dt.datetime


AS_OF_DEC = dt.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)


def generate(world: World, db: Database, seed: int = 7, n: int = 150) -> list[Spec]:
    """``n`` complaints spread over November 2026 (and a few just outside it), with random outcomes."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 10, 31, 20, 0, tzinfo=SHANGHAI)  # the first few fall in October
    specs: list[Spec] = []
    with db.transaction() as s:
        production = s.scalar(sa.select(Department).where(Department.code == "production"))
        assert production is not None
        for i in range(n):
            received = (start + dt.timedelta(minutes=rng.randrange(0, 31 * 24 * 60))).astimezone(dt.UTC)
            status = rng.choice([ComplaintStatus.CLOSED] * 5 + [ComplaintStatus.INVALID,
                                                                 ComplaintStatus.INVESTIGATING])
            closed = received + dt.timedelta(hours=rng.randrange(2, 24 * 25)) if status is ComplaintStatus.CLOSED \
                else None
            if closed is not None and closed > AS_OF_DEC:  # nothing is closed after the report is counted
                status, closed = ComplaintStatus.INVESTIGATING, None
            stars = rng.choice([None, 1, 2, 3, 4, 5, 5, 5]) if closed else None
            reg_due = received + dt.timedelta(hours=24)
            reg_met: dt.datetime | None = reg_due + dt.timedelta(hours=1) if rng.random() < 0.2 else received
            if reg_met is not None and reg_met > AS_OF_DEC:
                reg_met = None
            spec = Spec(received=received, category=rng.choice(["delivery", "management", "other"]), status=status,
                        closed=closed, stars=stars, response_due=reg_due, response_met=reg_met,
                        whole_case_due=received + dt.timedelta(days=rng.randrange(3, 20)))
            specs.append(spec)
            c = Complaint(number=f"G{i:04d}", source=Source.PHONE, received_at=received, registered_at=received,
                          status=status, complainant_name="客户", phone=f"+861380000{i:04d}", category=spec.category,
                          description="生成", severity=Severity.GENERAL, sla_preset="general",
                          handling_department_id=production.id, closed_at=closed, satisfaction_stars=stars,
                          satisfaction_score=None if stars is None else stars * 20)
            s.add(c)
            s.flush()
            s.add(Deadline(complaint_id=c.id, preset="general", milestone="registration", label="登记",
                           anchor_event="received", anchor_at=received, met_by="registered", severity=c.severity,
                           due_at=reg_due, status=DeadlineStatus.MET if reg_met else DeadlineStatus.OPEN,
                           met_at=reg_met))
            if closed is not None:
                s.add(Deadline(complaint_id=c.id, preset="general", milestone="whole_case", label="处理完毕",
                               anchor_event="received", anchor_at=received, met_by="result_fed_back",
                               severity=c.severity, due_at=spec.whole_case_due, status=DeadlineStatus.MET,
                               met_at=closed))
    return specs


def expected(specs: list[Spec], calendar: WorkCalendar, as_of: dt.datetime) -> dict[str, Any]:
    """The figures worked out case by case, straight from the definitions."""
    lo = dt.datetime(2026, 11, 1, tzinfo=SHANGHAI)
    hi = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    month = [x for x in specs if lo <= x.received < hi]
    valid = [x for x in month if x.status is not ComplaintStatus.INVALID]
    closed = [x for x in month if x.status is ComplaintStatus.CLOSED]
    days = sorted(calendar.working_days_between(x.received.astimezone(SHANGHAI).date(),
                                                x.closed.astimezone(SHANGHAI).date()) for x in closed if x.closed)
    scored = [x for x in month if x.stars is not None]
    p90 = days[-(-9 * len(days) // 10) - 1] if days else None  # nearest rank: ceil(0.9 n)-th smallest
    def late(x: Spec) -> bool:  # the response deadline met late, or unmet and past due
        return (x.response_met > x.response_due) if x.response_met else x.response_due < as_of

    decided = [x for x in month if x.response_met is not None or x.response_due <= as_of]
    on_time = [x for x in decided if x.response_met is not None and x.response_met <= x.response_due]
    overdue = [x for x in month if late(x) or (x.closed and x.closed > x.whole_case_due)]
    return {
        "received": len(month),
        "closed": len(closed),
        "closure_rate": round(100 * len(closed) / len(valid), 2),
        "avg_handling_days": round(sum(days) / len(days), 2),
        "p90_handling_days": p90,
        "response_rate": round(100 * len(on_time) / len(decided), 2),
        "on_time_rate": round(100 * sum(x.closed <= x.whole_case_due for x in closed if x.closed) / len(closed), 2),
        "satisfaction_rate": round(100 * sum(x.stars >= 5 for x in scored if x.stars) / len(scored), 2),
        "average_score": round(sum(x.stars * 20 for x in scored if x.stars) / len(scored), 2),
        "overdue": len(overdue),
    }


def test_management_gets_a_correct_report_of_a_generated_month(db: Database, world: World, settings: Any,
                                                               fake_wechat: FakeWeChat) -> None:
    """Done when (issue 12): the report of a generated month reaches management, its figures as computed by hand."""
    specs = generate(world, db)
    as_of = AS_OF_DEC
    run = run_monthly_report_job(db, settings, now=as_of)
    assert (run.period, run.built, run.notified) == ("2026-11", True, len(MANAGEMENT))
    assert dispatch_due(db, build_channels(settings, db), now=as_of).sent == 1
    assert [c.body["msgtype"] for c in fake_wechat.deliveries if c.path == WECOM_SEND] == ["textcard"]
    with db.read_sessions() as s:
        row = s.scalar(sa.select(StatsReport).where(StatsReport.period == "2026-11"))
        assert row is not None and row.notified_at is not None
        got = figures(row.data["current"])
    want = expected(specs, WorkCalendar(), as_of)
    assert want["received"] > 100  # most of the 150; a few fell on 31 October or in December
    assert {k: got[k] for k in want} == want
