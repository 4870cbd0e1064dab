"""Regression: a reminder at a fraction of a working-day window must land on a working day.

The reminder for fraction f of an N-working-day window is placed ``f × N`` working days in, each working
day a 24-hour block. ``0.58 × 50`` is 28.999999999999996 in floating point: 28 whole days and a part so
close to 1 that, rounded to microseconds, it became a whole day past midnight of the 29th working day,
i.e. 00:00 of the next calendar day, which can be a holiday (here the first day of the 2026 Spring
Festival block). The one reminder rule, `handlers.sla.presets.reminders_between`, serves a preset's window
and an extended one (found by the deadlines property test under the mutation run).
"""

from __future__ import annotations

import datetime as dt

from handlers.sla import presets as sla
from handlers.sla.calendar import SHANGHAI, WorkCalendar
from handlers.sla.presets import reminders_between

CAL = WorkCalendar()
# Tue 2026-01-06: its 29th working day is Sat 2026-02-14 (调休上班), the last before 2/15–2/23.
ANCHOR = dt.datetime(2026, 1, 6, 10, 0, tzinfo=SHANGHAI)


def test_the_fixture_dates() -> None:
    assert CAL.working_day_after(ANCHOR, 29) == dt.date(2026, 2, 14)
    assert CAL.working_day_after(ANCHOR, 30) == dt.date(2026, 2, 24)
    assert 0.58 * 50 < 29


def test_preset_reminder_at_a_whole_number_of_days_starts_the_next_working_day() -> None:
    presets = sla.load_presets(
        {"nonferrous-quality": {"reminder_fractions": [0.58], "milestones": {"whole_case": {"general": "50wd"}}}}
    )
    [reminder] = sla.reminder_times(presets["nonferrous-quality"], "whole_case", ANCHOR, "general", CAL)
    # 58 % of 50 working days = 29 of them done: the start of the 30th, not 00:00 of Sun 2/15 (春节假期).
    assert reminder == dt.datetime(2026, 2, 24, 0, 0, tzinfo=SHANGHAI)
    assert CAL.is_working_day(reminder.date())


def test_extended_window_reminder_lands_on_a_working_day() -> None:
    due = CAL.add_working_days(ANCHOR, 50)
    [reminder] = reminders_between(ANCHOR, due, [0.58], CAL, working_days=True)
    assert reminder == dt.datetime(2026, 2, 24, 0, 0, tzinfo=SHANGHAI)
    # The example the property test found: 95 % (as 0.9499999999999998) of 20 working days from 2025-01-01.
    start = dt.datetime(2025, 1, 1, 0, 0, tzinfo=SHANGHAI)
    [moment] = reminders_between(start, CAL.add_working_days(start, 20), [0.9499999999999998], CAL,
                                 working_days=True)
    assert CAL.is_working_day(moment.date()) and moment == dt.datetime(2025, 2, 5, 0, 0, tzinfo=SHANGHAI)
