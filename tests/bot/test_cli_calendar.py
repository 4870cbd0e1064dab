"""`tousu calendar` and `tousu org sync` through click, against the test database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import main
from bot.config import PACKAGED_EXAMPLE
from storage.models import CalendarException, Department, Staff
from tests.conftest import count_rows


@pytest.fixture
def run(db, database_url):
    """Invoke ``tousu …`` with the test database and the example configuration."""
    runner = CliRunner()
    env = {"TOUSU_DEV": "1", "DATABASE_URL": database_url, "TOUSU_CONFIG": str(PACKAGED_EXAMPLE)}

    def invoke(*args: str):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_due_prints_the_iso_moment_across_the_spring_festival(run) -> None:
    result = run("calendar", "due", "--from", "2026-02-13 10:00", "--workdays", "15")
    assert result.exit_code == 0
    assert result.stdout.strip() == "2026-03-12T23:59:59+08:00"


def test_due_in_clock_hours_and_from_utc(run) -> None:
    assert run("calendar", "due", "--from", "2026-02-13 10:00", "--hours", "4").stdout.strip() == (
        "2026-02-13T14:00:00+08:00")
    # 2026-09-30 08:00 UTC is 16:00 in Shanghai; 2 working days: 10/8, 10/9
    assert run("calendar", "due", "--from", "2026-09-30T08:00:00+00:00", "--workdays", "2").stdout.strip() == (
        "2026-10-09T23:59:59+08:00")


def test_due_needs_exactly_one_limit(run) -> None:
    result = CliRunner().invoke(main, ["calendar", "due", "--from", "2026-02-13 10:00"],
                                env={"TOUSU_DEV": "1"})
    assert result.exit_code == 2 and "exactly one of --workdays or --hours" in result.output


def test_show_lists_the_month_with_reasons(run) -> None:
    result = run("calendar", "show", "2026-02")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2026年2月 工作日历") and "已公布" in lines[0]
    assert "2026-02-14  周六  班  调休上班" in lines
    assert any(line.startswith("2026-02-17  周二  休  春节") for line in lines)
    assert "2026-02-28  周六  班  调休上班" in lines
    assert lines[-1] == "工作日 16 天，休息日 12 天"  # 20 weekdays − 6 in the block + 2 调休 Saturdays


def test_set_changes_the_calendar_and_the_due_moment(run, db) -> None:
    result = run("calendar", "set", "2026-03-02", "off", "--note", "公司年会")
    assert result.exit_code == 0 and "2026-03-02 设为休息（公司年会）：已添加" in result.stdout
    assert run("calendar", "set", "2026-03-02", "off", "--note", "公司年会").stdout.strip().endswith("无变化")
    assert "2026-03-02  周一  休  公司例外：公司年会" in run("calendar", "show", "2026-03").stdout.splitlines()
    # One working day fewer before 3/12: the 15th working day moves to 3/13.
    assert run("calendar", "due", "--from", "2026-02-13 10:00", "--workdays", "15").stdout.strip() == (
        "2026-03-13T23:59:59+08:00")
    assert run("calendar", "unset", "2026-03-02").stdout.strip() == "2026-03-02：已删除"
    assert count_rows(db, CalendarException) == 0


def test_set_refuses_a_bad_kind(run) -> None:
    result = CliRunner().invoke(main, ["calendar", "set", "2027-02-06", "maybe"], env={"TOUSU_DEV": "1"})
    assert result.exit_code == 2 and "expected work or off" in result.output


def test_import_a_csv_of_exceptions(run, db, tmp_path: Path) -> None:
    file = tmp_path / "exceptions.csv"
    file.write_text("date,kind,note\n2027-02-06,work,春节调休上班\n2027-02-08,off,春节\n# comment\n\n",
                    encoding="utf-8")
    result = run("calendar", "import", str(file))
    assert result.exit_code == 0 and "导入 2 行：新增 2，更新 0，无变化 0" in result.stdout
    assert run("calendar", "import", str(file)).stdout.strip() == "导入 2 行：新增 0，更新 0，无变化 2"
    with db.read_sessions() as s:
        rows = {r.date: (r.is_working_day, r.note) for r in s.scalars(sa.select(CalendarException))}
    assert rows == {dt.date(2027, 2, 6): (True, "春节调休上班"), dt.date(2027, 2, 8): (False, "春节")}


def test_import_refuses_a_bad_line_and_writes_nothing(run, db, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text("2027-02-06,work,ok\n2027-02-30,off,no such day\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["calendar", "import", str(file)],
                                env={"TOUSU_DEV": "1", "DATABASE_URL": str(db.url)})
    assert result.exit_code == 1 and "第 2 行" in result.output
    assert count_rows(db, CalendarException) == 0


def test_unconfirmed_years_are_flagged(run) -> None:
    result = run("calendar", "due", "--from", "2031-01-10 10:00", "--workdays", "3")
    assert result.exit_code == 0
    assert "2031 年的节假日安排尚未公布" in result.stderr
    assert "推定" in run("calendar", "show", "2031-01").stdout.splitlines()[0]


def test_org_sync_reports_then_is_idempotent(run, db) -> None:
    first = run("org", "sync")
    assert first.exit_code == 0 and "+ 部门 quality_office" in first.stdout and "+ 人员 li.na" in first.stdout
    assert count_rows(db, Staff) == 8 and count_rows(db, Department) == 6
    assert run("org", "sync").stdout.strip() == "组织架构无变化"


def test_org_sync_dry_run_writes_nothing(run, db) -> None:
    result = run("org", "sync", "--dry-run")
    assert "+ 人员 chen.gang" in result.stdout and "演练模式" in result.stdout
    assert count_rows(db, Staff) == 0
