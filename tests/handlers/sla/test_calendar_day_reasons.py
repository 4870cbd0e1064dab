"""What the calendar says about a day (``tousu calendar show``), and which years it calls confirmed.

Each test builds its own calendar, so the year is computed (holiday names, 调休, confirmation) by the
test that checks it.
"""

from __future__ import annotations

from datetime import date

import pytest

from handlers.sla.calendar import WorkCalendar

REASONS = [
    (date(2026, 2, 17), "春节"),  # the library's names, in Chinese
    (date(2026, 2, 16), "农历除夕"),
    (date(2025, 10, 1), "国庆节"),
    (date(2009, 10, 3), "中秋节、国庆节"),  # two holidays on one day: the library joins them with "; "
    (date(2028, 10, 3), "中秋节、国庆节"),
    # A weekend or substituted day off names the block it lies in, looking both ways:
    (date(2010, 4, 4), "清明节假期 · 周末"),  # Sun; 清明节 is Mon 4/5, two days later
    (date(2009, 10, 4), "国庆节、中秋节假期 · 周末"),  # the block has a day that is both
    (date(2003, 2, 6), "春节假期 · 休息日（由 2003-02-08 调休）"),  # a 春节（补假） day in the block
    (date(2026, 2, 21), "春节假期 · 周末"),
    (date(2026, 3, 7), "周末"),  # a plain weekend
    (date(2026, 3, 9), "工作日"),
    (date(2026, 2, 28), "调休上班"),
]


@pytest.mark.parametrize(("day", "reason"), REASONS, ids=[str(day) for day, _ in REASONS])
def test_reason_of_a_day(day: date, reason: str) -> None:
    assert WorkCalendar().day_info(day).reason == reason


def test_a_substituted_day_off_after_a_holiday_names_it() -> None:
    # 2002-01-02 lies one day after 元旦; a day further back (12-31) is a working day.
    assert WorkCalendar().day_info(date(2002, 1, 2)).reason == "元旦假期 · 休息日（由 2001-12-29 调休）"


def test_company_exceptions_without_a_note_say_work_or_rest() -> None:
    cal = WorkCalendar({date(2026, 3, 7): True, date(2026, 3, 9): False})
    assert cal.day_info(date(2026, 3, 7)).reason == "公司例外：上班"
    assert cal.day_info(date(2026, 3, 9)).reason == "公司例外：休息"


@pytest.mark.parametrize("year", [2001, 2018, 2020, 2025, 2026])
def test_published_years_are_confirmed(year: int) -> None:
    cal = WorkCalendar()
    assert cal.is_confirmed(year) is True
    assert cal.day_info(date(year, 6, 1)).confirmed is True


@pytest.mark.parametrize("year", [1995, 2030, 2035])
def test_years_without_a_notice_are_estimates(year: int) -> None:
    cal = WorkCalendar()
    assert cal.is_confirmed(year) is False
    assert cal.day_info(date(year, 6, 1)).confirmed is False
    assert WorkCalendar(confirmed_years=[year]).is_confirmed(year) is True
