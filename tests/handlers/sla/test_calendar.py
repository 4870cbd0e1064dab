"""The working-day calendar against the State Council's published arrangements, and its arithmetic."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from holidays.constants import PUBLIC
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.sla.calendar import SHANGHAI, WorkCalendar, local_day, to_shanghai


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# 国务院办公厅关于2025年部分节假日安排的通知
WORKING_WEEKENDS_2025 = [
    date(2025, 1, 26),
    date(2025, 2, 8),
    date(2025, 4, 27),
    date(2025, 9, 28),
    date(2025, 10, 11),
]
DAYS_OFF_2025 = [
    date(2025, 1, 1),
    *_days(date(2025, 1, 28), date(2025, 2, 4)),  # 春节
    *_days(date(2025, 4, 4), date(2025, 4, 6)),  # 清明节
    *_days(date(2025, 5, 1), date(2025, 5, 5)),  # 劳动节
    *_days(date(2025, 5, 31), date(2025, 6, 2)),  # 端午节
    *_days(date(2025, 10, 1), date(2025, 10, 8)),  # 国庆节、中秋节
]
# 国务院办公厅关于2026年部分节假日安排的通知
WORKING_WEEKENDS_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]
DAYS_OFF_2026 = [
    *_days(date(2026, 1, 1), date(2026, 1, 3)),  # 元旦
    *_days(date(2026, 2, 15), date(2026, 2, 23)),  # 春节
    *_days(date(2026, 4, 4), date(2026, 4, 6)),  # 清明节
    *_days(date(2026, 5, 1), date(2026, 5, 5)),  # 劳动节
    *_days(date(2026, 6, 19), date(2026, 6, 21)),  # 端午节
    *_days(date(2026, 9, 25), date(2026, 9, 27)),  # 中秋节
    *_days(date(2026, 10, 1), date(2026, 10, 7)),  # 国庆节
]

CAL = WorkCalendar()


def at(text: str) -> datetime:
    """An aware datetime from ISO text with its offset, e.g. ``at("2026-02-13T10:00+08:00")``."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def eod(day: str) -> datetime:
    """The end (23:59:59, Asia/Shanghai) of ``day``."""
    return datetime.combine(date.fromisoformat(day), time(23, 59, 59), tzinfo=SHANGHAI)


# -- the official calendar ----------------------------------------------------------------------


@pytest.mark.parametrize("day", WORKING_WEEKENDS_2025 + WORKING_WEEKENDS_2026, ids=str)
def test_published_weekend_working_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5  # they really are Saturdays/Sundays
    assert CAL.is_working_day(day) is True
    assert CAL.day_info(day).reason == "调休上班"


@pytest.mark.parametrize("day", DAYS_OFF_2025 + DAYS_OFF_2026, ids=str)
def test_published_days_off_are_not_working_days(day: date) -> None:
    assert CAL.is_working_day(day) is False


@pytest.mark.parametrize("year", [2025, 2026])
def test_whole_year_matches_the_state_council_notice(year: int) -> None:
    """Every other day of the year follows the plain Monday–Friday rule."""
    working_weekends = set(WORKING_WEEKENDS_2025 + WORKING_WEEKENDS_2026)
    days_off = set(DAYS_OFF_2025 + DAYS_OFF_2026)
    mismatches = []
    for day in _days(date(year, 1, 1), date(year, 12, 31)):
        expected = day in working_weekends or (day.weekday() < 5 and day not in days_off)
        if CAL.is_working_day(day) != expected:
            mismatches.append(day)
    assert mismatches == []


def test_working_day_counts_per_year_by_hand() -> None:
    # 2025 has 261 weekdays. Weekday days off: 1/1; 1/28–1/31, 2/3–2/4; 4/4; 5/1–5/2, 5/5; 6/2;
    # 10/1–10/3, 10/6–10/8 → 1 + 6 + 1 + 3 + 1 + 6 = 18. Working weekends: 5. 261 − 18 + 5 = 248.
    assert CAL.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == 248
    # 2026 has 261 weekdays. Weekday days off: 1/1–1/2; 2/16–2/20, 2/23; 4/6; 5/1, 5/4–5/5; 6/19;
    # 9/25; 10/1–10/2, 10/5–10/7 → 2 + 6 + 1 + 3 + 1 + 1 + 5 = 19. Working weekends: 6 → 248.
    assert CAL.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 248


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 8, 1),  # 建军节 (Fri) — only soldiers have the half day
        date(2026, 6, 1),  # 六一儿童节 (Mon)
        date(2027, 3, 8),  # 国际妇女节 (Mon)
        date(2028, 5, 4),  # 五四青年节 (Thu)
    ],
    ids=str,
)
def test_half_day_group_holidays_are_working_days(day: date) -> None:
    assert CAL.is_working_day(day) is True
    assert CAL.day_info(day).reason == "工作日"


def test_library_lists_half_day_holidays_only_in_their_own_category() -> None:
    """Why the calendar asks for the public category: the half-day category does list 6/1."""
    assert date(2026, 6, 1) in holidays.China(years=2026, categories=("half_day",))
    assert date(2026, 6, 1) not in holidays.China(years=2026, categories=(PUBLIC,))


def test_published_years_are_confirmed_and_far_years_are_estimates() -> None:
    assert CAL.is_confirmed(2025) is True
    assert CAL.is_confirmed(2026) is True
    assert all(CAL.is_confirmed(year) for year in range(2001, 2027))
    assert CAL.is_confirmed(2035) is False
    assert CAL.is_confirmed(1990) is False
    assert CAL.day_info(date(2035, 10, 1)).confirmed is False


def test_company_can_confirm_a_year_it_entered_itself() -> None:
    assert WorkCalendar(confirmed_years={2035}).is_confirmed(2035) is True


def test_estimated_year_still_has_the_statutory_days_off() -> None:
    # 2035-10-01 is a Monday; National Day is a statutory holiday whatever the arrangement.
    assert CAL.is_working_day(date(2035, 10, 1)) is False


# -- display ------------------------------------------------------------------------------------


def test_month_view_of_the_2026_spring_festival() -> None:
    days = CAL.month(2026, 2)
    assert len(days) == 28
    by_day = {info.day.day: info for info in days}
    assert (by_day[2].is_working_day, by_day[2].reason) == (True, "工作日")
    assert (by_day[7].is_working_day, by_day[7].reason) == (False, "周末")
    assert (by_day[14].is_working_day, by_day[14].reason) == (True, "调休上班")
    assert (by_day[15].is_working_day, by_day[15].reason) == (False, "春节假期 · 周末")
    assert (by_day[16].is_working_day, by_day[16].reason) == (False, "农历除夕")
    assert (by_day[17].is_working_day, by_day[17].reason) == (False, "春节")
    assert by_day[20].reason == "春节假期 · 休息日（由 2026-02-14 调休）"
    assert by_day[23].reason == "春节假期 · 休息日（由 2026-02-28 调休）"
    assert (by_day[28].is_working_day, by_day[28].reason) == (True, "调休上班")
    assert all(info.confirmed for info in days)
    assert [info.day.day for info in days if not info.is_working_day] == [
        1,
        7,
        8,
        15,
        16,
        17,
        18,
        19,
        20,
        21,
        22,
        23,
    ]


def test_month_view_names_a_joint_holiday_block() -> None:
    by_day = {info.day.day: info for info in CAL.month(2025, 10)}
    assert by_day[1].reason == "国庆节"
    assert by_day[6].reason == "中秋节"
    assert by_day[4].reason == "国庆节、中秋节假期 · 周末"
    assert by_day[8].reason == "国庆节、中秋节假期 · 休息日（由 2025-10-11 调休）"


def test_month_view_shows_company_exceptions_with_their_note() -> None:
    cal = WorkCalendar.from_rows([(date(2026, 2, 2), False, "年终盘点"), (date(2026, 2, 7), True, None)])
    by_day = {info.day.day: info for info in cal.month(2026, 2)}
    assert (by_day[2].is_working_day, by_day[2].reason) == (False, "公司例外：年终盘点")
    assert (by_day[7].is_working_day, by_day[7].reason) == (True, "公司例外：上班")


# -- arithmetic ---------------------------------------------------------------------------------


def test_one_working_day_before_spring_festival_is_the_working_saturday() -> None:
    # Fri 2/13 10:00: the start day is not counted; 2/14 (调休 Saturday) is working day 1.
    assert CAL.add_working_days(at("2026-02-13T10:00+08:00"), 1) == eod("2026-02-14")
    # working day 2: 2/15–2/23 are off, so Tue 2/24.
    assert CAL.add_working_days(at("2026-02-13T10:00+08:00"), 2) == eod("2026-02-24")


def test_start_day_is_not_counted_even_late_at_night_or_on_a_holiday() -> None:
    assert CAL.add_working_days(at("2026-03-02T23:59:00+08:00"), 1) == eod("2026-03-03")
    assert CAL.add_working_days(at("2026-02-17T09:00+08:00"), 1) == eod("2026-02-24")  # 春节 day
    assert CAL.add_working_days(at("2026-02-15T09:00+08:00"), 1) == eod("2026-02-24")


def test_start_day_is_taken_in_shanghai_whatever_the_input_zone() -> None:
    # 2026-02-13 18:00 UTC is 2026-02-14 02:00 in Shanghai: the start day is the 14th.
    due = CAL.add_working_days(datetime(2026, 2, 13, 18, 0, tzinfo=UTC), 1)
    assert due == eod("2026-02-24")
    assert due.tzinfo is SHANGHAI
    # New York 2026-09-30 05:00 EDT = 17:00 Shanghai, still the 30th → 10/8 is working day 1.
    ny = datetime(2026, 9, 30, 5, 0, tzinfo=ZoneInfo("America/New_York"))
    assert CAL.add_working_days(ny, 1) == eod("2026-10-08")


def test_naive_datetimes_and_non_positive_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_days(datetime(2026, 2, 13, 10, 0), 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_hours(datetime(2026, 2, 13, 10, 0), 1)
    with pytest.raises(ValueError, match="at least 1"):
        CAL.add_working_days(at("2026-02-13T10:00+08:00"), 0)


def test_end_of_day_is_configurable() -> None:
    cal = WorkCalendar(end_of_day=time(17, 30))
    assert cal.add_working_days(at("2026-02-13T10:00+08:00"), 1) == datetime(2026, 2, 14, 17, 30, tzinfo=SHANGHAI)
    assert CAL.add_working_days(at("2026-02-13T10:00+08:00"), 1, end_of_day=time(18, 0)) == datetime(
        2026, 2, 14, 18, 0, tzinfo=SHANGHAI
    )


def test_add_hours_is_clock_time_through_holidays() -> None:
    assert CAL.add_hours(at("2026-02-16T22:30+08:00"), 4) == datetime(2026, 2, 17, 2, 30, tzinfo=SHANGHAI)
    assert CAL.add_hours(datetime(2026, 2, 16, 14, 30, tzinfo=UTC), 0.5) == datetime(
        2026, 2, 16, 23, 0, tzinfo=SHANGHAI
    )


def test_next_working_day_across_blocks_and_years() -> None:
    assert CAL.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)  # 国庆节 10/1–10/7
    assert CAL.next_working_day(date(2025, 12, 31)) == date(2026, 1, 4)  # 元旦, then 调休 Sunday
    assert CAL.next_working_day(date(2026, 2, 13)) == date(2026, 2, 14)


def test_long_spans_cross_years() -> None:
    # 248 working days in 2025 after 2024-12-31; the 249th is the first of 2026: Sun 2026-01-04.
    assert CAL.working_day_after(date(2024, 12, 31), 248) == date(2025, 12, 31)
    assert CAL.working_day_after(date(2024, 12, 31), 249) == date(2026, 1, 4)
    assert CAL.working_days_between(date(2024, 12, 31), date(2026, 12, 31)) == 248 + 248


def test_working_days_between_excludes_start_and_includes_end() -> None:
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2  # 2/14, 2/24
    assert CAL.working_days_between(date(2026, 2, 24), date(2026, 2, 13)) == -2
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    assert CAL.working_days_between(date(2025, 12, 31), date(2026, 1, 5)) == 2  # 1/4 (Sun), 1/5


def test_company_exceptions_override_the_official_calendar() -> None:
    cal = WorkCalendar({date(2026, 2, 14): False, date(2026, 2, 21): True})
    assert cal.is_working_day(date(2026, 2, 14)) is False  # 调休 Saturday given off by the company
    assert cal.is_working_day(date(2026, 2, 21)) is True  # a holiday Saturday worked
    assert cal.add_working_days(at("2026-02-13T10:00+08:00"), 1) == eod("2026-02-21")
    assert CAL.is_working_day(date(2026, 2, 14)) is True  # other calendars are not affected


def test_exception_keys_must_be_dates() -> None:
    with pytest.raises(TypeError):
        WorkCalendar({datetime(2026, 2, 14, tzinfo=SHANGHAI): False})


def test_local_day_and_to_shanghai() -> None:
    assert local_day(datetime(2026, 2, 13, 18, 0, tzinfo=UTC)) == date(2026, 2, 14)
    assert local_day(date(2026, 2, 13)) == date(2026, 2, 13)
    assert to_shanghai(datetime(2026, 2, 13, 18, 0, tzinfo=UTC)).hour == 2


def test_concurrent_first_use_builds_consistent_years() -> None:
    cal = WorkCalendar()
    starts = [datetime(2025, 1, 1, 9, tzinfo=SHANGHAI) + timedelta(days=i) for i in range(0, 700, 7)]
    barrier = threading.Barrier(8)

    def work(offset: int) -> list[datetime]:
        barrier.wait()
        return [cal.add_working_days(s, 1 + (i + offset) % 30) for i, s in enumerate(starts)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, [0] * 8))
    assert all(r == results[0] for r in results)
    assert results[0] == [CAL.add_working_days(s, 1 + i % 30) for i, s in enumerate(starts)]


# -- properties ---------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")])
MOMENTS = st.datetimes(min_value=datetime(2024, 12, 20), max_value=datetime(2026, 12, 31, 23, 59), timezones=ZONES)
_LIBRARY = holidays.China(years=range(2024, 2029), categories=(PUBLIC,))


def _naive_due_day(start_day: date, n: int) -> date:
    """Reference: walk day by day with the library's own working-day test."""
    day, counted = start_day, 0
    while counted < n:
        day += timedelta(days=1)
        if _LIBRARY.is_working_day(day):
            counted += 1
    return day


@given(start=MOMENTS, n=st.integers(min_value=1, max_value=60))
def test_due_day_is_a_working_day_and_matches_a_day_by_day_walk(start: datetime, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert due.tzinfo is SHANGHAI and due.time() == time(23, 59, 59)
    assert CAL.is_working_day(due.date())
    start_day = start.astimezone(SHANGHAI).date()
    assert due.date() == _naive_due_day(start_day, n)
    assert CAL.working_days_between(start_day, due.date()) == n


@given(start=MOMENTS, n=st.integers(min_value=1, max_value=40), extra=st.integers(min_value=0, max_value=40))
def test_more_working_days_never_end_earlier(start: datetime, n: int, extra: int) -> None:
    earlier = CAL.add_working_days(start, n)
    later = CAL.add_working_days(start, n + extra)
    assert later >= earlier
    assert (later > earlier) == (extra > 0)


@given(a=st.dates(date(2024, 6, 1), date(2027, 6, 1)), b=st.dates(date(2024, 6, 1), date(2027, 6, 1)))
def test_working_days_between_counts_the_half_open_interval(a: date, b: date) -> None:
    lo, hi = min(a, b), max(a, b)
    expected = sum(CAL.is_working_day(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert CAL.working_days_between(lo, hi) == expected
    assert CAL.working_days_between(hi, lo) == -expected


@settings(max_examples=60)
@given(
    overrides=st.dictionaries(st.dates(date(2025, 1, 1), date(2026, 12, 31)), st.booleans(), max_size=12),
    start=MOMENTS,
    n=st.integers(min_value=1, max_value=20),
)
def test_company_exceptions_always_win(overrides: dict[date, bool], start: datetime, n: int) -> None:
    cal = WorkCalendar(overrides)
    for day, working in overrides.items():
        assert cal.is_working_day(day) is working
        assert cal.day_info(day).reason.startswith("公司例外")
    due = cal.add_working_days(start, n)
    assert cal.is_working_day(due.date())
    assert cal.working_days_between(start.astimezone(SHANGHAI).date(), due.date()) == n
