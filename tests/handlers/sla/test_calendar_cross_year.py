"""Working days around New Year: the 调休 days that one year's State Council notice puts into the other.

A notice for year Y can make a late-December weekend of Y−1 a working day and give a Monday of Y−1 off
in exchange (2019's notice: Sat 2018-12-29 worked, Mon 2018-12-31 off), or give early-January days off
in exchange for late-December working weekends (2002's notice: Sat/Sun 2001-12-29/30 worked, 2002-01-02
and 01-03 off). Time limits started in late December run through these days and into the next year's
元旦 block. Every test builds its own calendar, so the years are computed by the test itself, not taken
from a calendar some earlier test warmed up.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from handlers.sla.calendar import SHANGHAI, WorkCalendar


def _eod(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)


def _morning(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)


# Days of year Y−1 that year Y's notice changed (国务院办公厅关于Y年部分节假日安排的通知).
DECEMBER_DAYS_FROM_NEXT_YEARS_NOTICE = [
    # day, working?, reason
    (date(2001, 12, 29), True, "调休上班"),  # Sat, 2002 元旦
    (date(2001, 12, 30), True, "调休上班"),  # Sun, 2002 元旦
    (date(2005, 12, 31), True, "调休上班"),  # Sat, 2006 元旦
    (date(2006, 12, 30), True, "调休上班"),  # Sat, 2007 元旦
    (date(2006, 12, 31), True, "调休上班"),  # Sun, 2007 元旦
    (date(2007, 12, 29), True, "调休上班"),  # Sat, 2008 元旦
    (date(2007, 12, 31), False, "元旦假期 · 休息日（由 2007-12-29 调休）"),  # Mon, 2008 元旦
    (date(2011, 12, 31), True, "调休上班"),  # Sat, 2012 元旦
    (date(2018, 12, 29), True, "调休上班"),  # Sat, 2019 元旦
    (date(2018, 12, 31), False, "元旦假期 · 休息日（由 2018-12-29 调休）"),  # Mon, 2019 元旦
]


@pytest.mark.parametrize(
    ("day", "working", "reason"),
    DECEMBER_DAYS_FROM_NEXT_YEARS_NOTICE,
    ids=[str(day) for day, _, _ in DECEMBER_DAYS_FROM_NEXT_YEARS_NOTICE],
)
def test_december_days_set_by_the_next_years_notice(day: date, working: bool, reason: str) -> None:
    cal = WorkCalendar()
    assert cal.is_working_day(day) is working
    info = cal.day_info(day)
    assert (info.is_working_day, info.reason, info.confirmed) == (working, reason, True)


def test_january_days_off_given_for_december_working_weekends() -> None:
    cal = WorkCalendar()
    january = {info.day.day: info for info in cal.month(2002, 1)}
    assert [d for d in range(1, 8) if not january[d].is_working_day] == [1, 2, 3, 5, 6]
    assert january[1].reason == "元旦"
    # The substituted days off read as part of the 元旦 block, naming the December day they repay.
    assert january[2].reason == "元旦假期 · 休息日（由 2001-12-29 调休）"
    assert january[3].reason == "元旦假期 · 休息日（由 2001-12-30 调休）"
    assert (january[4].is_working_day, january[4].reason) == (True, "工作日")


@pytest.mark.parametrize(
    "day",
    [date(2016, 12, 31), date(2018, 12, 30), date(2023, 12, 30), date(2023, 12, 31)],
    ids=str,
)
def test_december_weekends_of_a_new_year_block_name_it(day: date) -> None:
    """Regression: the block was searched within the day's own year only, so the December days of a
    元旦 block (2023: 12/30–1/1 放假) read as a plain 周末, unlike the January ones."""
    assert WorkCalendar().day_info(day).reason == "元旦假期 · 周末"


def test_first_working_day_of_2026_is_the_sunday_after_new_year() -> None:
    cal = WorkCalendar()
    assert [cal.is_working_day(date(2026, 1, d)) for d in (1, 2, 3, 4, 5)] == [False, False, False, True, True]
    assert cal.day_info(date(2026, 1, 4)).reason == "调休上班"
    assert cal.day_info(date(2026, 1, 3)).reason == "元旦假期 · 周末"
    assert cal.next_working_day(date(2025, 12, 31)) == date(2026, 1, 4)


LATE_DECEMBER_STARTS = [
    # 2025-12-23..26, 29..31 (7); 2026-01-01..03 元旦; Sun 01-04 调休 (8), 01-05 (9), 01-06 (10).
    (date(2025, 12, 22), date(2026, 1, 6), [23, 24, 25, 26, 29, 30, 31, 4, 5, 6]),
    # 2018-12-25..28 (4), Sat 12-29 调休 (5); 12-30, Mon 12-31 and 01-01 off; 2019-01-02..04, 07, 08.
    (date(2018, 12, 24), date(2019, 1, 8), [25, 26, 27, 28, 29, 2, 3, 4, 7, 8]),
    # 2001-12-25..28 (4), Sat/Sun 12-29/30 调休 (6), Mon 12-31 (7); 2002-01-01..03 off; 01-04, 07, 08.
    (date(2001, 12, 24), date(2002, 1, 8), [25, 26, 27, 28, 29, 30, 31, 4, 7, 8]),
]


@pytest.mark.parametrize(
    ("start", "due", "counted"), LATE_DECEMBER_STARTS, ids=[str(start) for start, _, _ in LATE_DECEMBER_STARTS]
)
def test_ten_working_days_from_late_december_run_into_the_new_year_block(
    start: date, due: date, counted: list[int]
) -> None:
    cal = WorkCalendar()
    assert cal.add_working_days(_morning(start), 10) == _eod(due)
    walked = [d for d in (start + timedelta(days=i) for i in range(1, (due - start).days + 1)) if cal.is_working_day(d)]
    assert [d.day for d in walked] == counted
    assert cal.working_days_between(start, due) == 10
    assert cal.working_days_between(due, start) == -10


def test_counting_from_the_last_day_of_a_year() -> None:
    cal = WorkCalendar()
    # 2018-12-31 is a day off (repaying 12-29), 2019-01-01 元旦: the first working day is 01-02.
    assert cal.working_day_after(date(2018, 12, 31), 1) == date(2019, 1, 2)
    assert cal.working_day_after(date(2018, 12, 28), 1) == date(2018, 12, 29)
    assert cal.working_day_after(date(2018, 12, 28), 2) == date(2019, 1, 2)
    # Several years at once: 2019 has 250 working days (2018-12-31 → 2019-12-31).
    assert cal.working_days_between(date(2018, 12, 31), date(2019, 12, 31)) == 250
    assert cal.working_days_between(date(2017, 12, 31), date(2020, 12, 31)) == (
        cal.working_days_between(date(2017, 12, 31), date(2018, 12, 31))
        + 250
        + cal.working_days_between(date(2019, 12, 31), date(2020, 12, 31))
    )


def test_new_years_day_of_a_fresh_calendar_is_a_holiday() -> None:
    # The first and last days of each year are where a year's precomputed table starts and ends.
    cal = WorkCalendar()
    assert cal.is_working_day(date(2026, 1, 1)) is False
    assert cal.day_info(date(2026, 1, 1)).reason == "元旦"
    assert cal.is_working_day(date(2025, 12, 31)) is True


@pytest.mark.parametrize("year", [2024, 2028])
def test_the_last_day_of_a_leap_year(year: int) -> None:
    cal = WorkCalendar()
    last = date(year, 12, 31)
    assert cal.is_working_day(last) is (last.weekday() < 5)
    assert len(cal.month(year, 12)) == 31 and len(cal.month(year, 2)) == 29


def test_a_company_working_new_years_day_counts_once() -> None:
    """A company that works on 元旦 (加班): the day belongs to the new year alone."""
    cal = WorkCalendar({date(2027, 1, 1): True})
    assert cal.is_working_day(date(2027, 1, 1)) is True
    assert cal.working_day_after(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert cal.working_days_between(date(2026, 12, 31), date(2027, 1, 1)) == 1
    # Thu 12-31, Fri 01-01 (company), Mon 01-04; 01-01 is not counted in both years.
    assert cal.working_days_between(date(2026, 12, 30), date(2027, 1, 4)) == 3
    assert cal.working_days_between(date(2026, 12, 31), date(2027, 1, 4)) == 2


def test_the_calendar_runs_to_the_last_representable_day() -> None:
    cal = WorkCalendar()
    assert cal.is_working_day(date(9999, 12, 31)) is True  # a Friday
    assert cal.day_info(date(9999, 12, 31)).confirmed is False
    assert cal.working_day_after(date(9999, 12, 27), 3) == date(9999, 12, 30)
