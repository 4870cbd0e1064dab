"""The State Council corrections table: a day where the holidays library and a published notice disagree.

The table is empty today (the library matches the 2025 and 2026 notices day for day, see
test_calendar.py), so these tests fill it the way a maintainer would after a mid-year notice, and check
that it overrides the library in both directions, that its reason is what the calendar shows, that the
deadlines move with it, and that the company's own exceptions still win over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from types import MappingProxyType

import pytest

import handlers.sla.calendar as calendar_module
from handlers.sla.calendar import SHANGHAI, WorkCalendar

EXTENDED = "国庆节延长假期（国务院办公厅关于延长2026年国庆节假期的通知）"
WORKED = "调休上班（国务院办公厅关于调整2026年国庆节假期的通知）"

# A notice (made up for the test, shaped like 2020's 延长春节假期) that extends 2026's National Day block
# by Thu 10/8, which the library has as a working day, and moves work onto Wed 10/7, which it has off.
CORRECTIONS = {
    date(2026, 10, 8): (False, EXTENDED),
    date(2026, 10, 7): (True, WORKED),
}


@pytest.fixture
def corrected() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(calendar_module, "STATE_COUNCIL_CORRECTIONS", MappingProxyType(CORRECTIONS))
        yield


def _eod(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def test_without_a_correction_the_library_decides() -> None:
    cal = WorkCalendar()
    assert (cal.is_working_day(date(2026, 10, 7)), cal.is_working_day(date(2026, 10, 8))) == (False, True)
    assert cal.day_info(date(2026, 10, 8)).reason == "工作日"


def test_a_correction_gives_a_library_working_day_off(corrected: None) -> None:
    cal = WorkCalendar()
    info = cal.day_info(date(2026, 10, 8))
    assert (info.is_working_day, info.reason, info.confirmed) == (False, EXTENDED, True)
    assert cal.is_working_day(date(2026, 10, 8)) is False


def test_a_correction_makes_a_library_day_off_a_working_day(corrected: None) -> None:
    cal = WorkCalendar()
    info = cal.day_info(date(2026, 10, 7))
    assert (info.is_working_day, info.reason) == (True, WORKED)


def test_deadlines_follow_the_corrected_days(corrected: None) -> None:
    cal = WorkCalendar()
    start = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    # 10/1–10/6 off, Wed 10/7 worked (corrected), Thu 10/8 off (corrected), Fri 10/9, Sat 10/10 (调休).
    assert cal.add_working_days(start, 1) == _eod(date(2026, 10, 7))
    assert cal.add_working_days(start, 2) == _eod(date(2026, 10, 9))
    assert cal.add_working_days(start, 3) == _eod(date(2026, 10, 10))
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    # The 2026 total is unchanged: one day moved, not added or removed.
    assert cal.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 248


def test_company_exceptions_still_win_over_a_correction(corrected: None) -> None:
    cal = WorkCalendar.from_rows([(date(2026, 10, 8), True, "赶交付加班"), (date(2026, 10, 7), False, None)])
    assert cal.day_info(date(2026, 10, 8)).reason == "公司例外：赶交付加班"
    assert cal.is_working_day(date(2026, 10, 8)) is True
    assert (cal.is_working_day(date(2026, 10, 7)), cal.day_info(date(2026, 10, 7)).reason) == (False, "公司例外：休息")
