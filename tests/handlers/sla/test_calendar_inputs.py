"""What the calendar refuses, and what it keeps from the rows the database gives it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pytest

from handlers.sla.calendar import SHANGHAI, WorkCalendar, to_shanghai


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: the datetime is naive in all but name (Python's own rule)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_datetime_whose_zone_has_no_offset_is_refused_as_naive() -> None:
    moment = datetime(2026, 2, 13, 10, 0, tzinfo=_NoOffset())
    with pytest.raises(ValueError, match=r"^naive datetime 2026-02-13T10:00:00 — give a timezone"):
        to_shanghai(moment)
    with pytest.raises(ValueError, match=r"^naive datetime"):
        WorkCalendar().add_working_days(moment, 1)


def test_a_plain_date_is_refused_naming_its_type() -> None:
    with pytest.raises(TypeError, match=r"^expected a datetime, got date$"):
        to_shanghai(date(2026, 2, 13))  # type: ignore[arg-type]


def test_exception_keys_must_be_plain_dates_naming_the_bad_key() -> None:
    moment = datetime(2026, 2, 14, tzinfo=UTC)
    with pytest.raises(TypeError, match=r"^calendar exception keys must be dates, got datetime\.datetime\(2026, 2, 14"):
        WorkCalendar({moment: False})
    with pytest.raises(TypeError, match="got '2026-02-14'"):
        WorkCalendar({"2026-02-14": False})  # type: ignore[dict-item]


def test_end_of_day_must_be_a_wall_clock_time() -> None:
    with pytest.raises(ValueError, match=r"^end_of_day is a local \(Asia/Shanghai\) wall-clock time; give it without"):
        WorkCalendar(end_of_day=time(18, 0, tzinfo=UTC))


def test_rows_keep_the_end_of_day_and_the_confirmed_years() -> None:
    cal = WorkCalendar.from_rows(
        [(date(2035, 10, 8), True, "补班")], end_of_day=time(17, 30), confirmed_years=[2035]
    )
    assert cal.end_of_day == time(17, 30)
    assert cal.add_working_days(datetime(2035, 10, 5, 9, tzinfo=SHANGHAI), 1) == datetime(
        2035, 10, 8, 17, 30, tzinfo=SHANGHAI
    )
    assert cal.is_confirmed(2035) is True
    assert cal.day_info(date(2035, 10, 8)).reason == "公司例外：补班"
