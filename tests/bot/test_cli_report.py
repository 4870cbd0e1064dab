"""`tousu report monthly|quarterly|yearly` through click, against the test database and the hand-made October."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main
from bot.config import PACKAGED_EXAMPLE
from storage.db import Database
from storage.models import Department, OutboxMessage, StatsReport
from tests.conftest import count_rows
from tests.handlers.stats.dataset import build
from tests.handlers.test_workflow_support import make_world


@pytest.fixture
def run(db: Database, database_url: str, company_config: dict[str, Any]) -> Any:
    with db.transaction() as s:
        make_world(s, company_config)
        build(s, {d.code: d for d in s.scalars(sa.select(Department))})
    runner = CliRunner()
    env = {"TOUSU_DEV": "1", "DATABASE_URL": database_url, "TOUSU_CONFIG": str(PACKAGED_EXAMPLE)}

    def invoke(*args: str) -> Any:
        return runner.invoke(main, ["report", *args], env=env, catch_exceptions=False)

    return invoke


def test_monthly_by_hand_once(run: Any, db: Database, tmp_path: Path) -> None:
    book = tmp_path / "october.xlsx"
    first = run("monthly", "2026-10", "--notify", "--xlsx", str(book))
    assert first.exit_code == 0, first.output
    assert "month 2026-10: built now" in first.output
    assert "received=7" in first.output and "closed=4" in first.output  # as tests/handlers/stats computes
    assert "card: queued for 2 people" in first.output  # chen.gang and wu.fang (management)
    assert "/console/stats/reports/month/2026-10" in first.output
    assert load_workbook(book)["概览"]["A1"].value.endswith("投诉统计月度报表")

    again = run("monthly", "2026-10", "--notify")
    assert "already built" in again.output and "already queued" in again.output
    assert count_rows(db, StatsReport) == 1
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.dedupe_key == "report:month:2026-10")) == 1


def test_quarterly_and_yearly(run: Any, db: Database) -> None:
    assert "quarter 2026-Q4: built now" in run("quarterly", "2026-Q4").output
    assert "year 2026: built now" in run("yearly", "2026").output
    assert count_rows(db, StatsReport) == 2


@pytest.mark.parametrize("args", [("monthly", "2026-13"), ("monthly", "2026-Q4"), ("quarterly", "2026-10"),
                                  ("yearly", "twenty")])
def test_a_wrong_period_is_refused(run: Any, args: tuple[str, str]) -> None:
    result = run(*args)
    assert result.exit_code == 2 and "PERIOD" in result.output


def test_refresh_facts(run: Any, db: Database) -> None:
    result = run("refresh-facts")
    assert result.exit_code == 0 and "KPI facts rebuilt for 10 complaints" in result.output
