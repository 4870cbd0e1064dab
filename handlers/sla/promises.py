"""Every time promise a customer reads, from one source: the preset that applies, the company calendar and
the office hours.

The acknowledgement after submitting, the 人工 call-back promise and the FAQ's answer about time limits
all come from here, so at 18:15 on a working day they agree: the preset's clock-hour promises that start
at receipt ("1小时内与您联系") and the call-back both start from the next opening (下一个工作日上班后),
and the working-day limits are the applicable preset's. The Chinese wording around these values lives in
``templates/messages/intake/_expect.j2`` and the templates that use it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from handlers.sla.calendar import WorkCalendar, to_shanghai
from handlers.sla.presets import Duration, SlaPreset, Unit, parse_severity
from storage.models import Severity

__all__ = ["Opening", "Promise", "customer_promises", "next_opening"]


@dataclass(frozen=True)
class Opening:
    """When staff can act on what a customer asks at a given moment (working hours on working days).

    ``in_hours``: now; else ``day`` at ``start`` (``today`` when that is later today). ``minutes`` is the
    call-back promise within working hours (``[intake] callback_minutes``).
    """

    in_hours: bool
    minutes: int
    day: dt.date | None
    today: bool
    start: dt.time


def next_opening(
    now: dt.datetime, calendar: WorkCalendar, work_start: dt.time, work_end: dt.time, minutes: int
) -> Opening:
    """The next moment the office is open, counted on the company calendar (调休 and company exceptions)."""
    local = to_shanghai(now)
    if calendar.is_working_day(local.date()):
        if work_start <= local.time() < work_end:
            return Opening(True, minutes, None, True, work_start)
        if local.time() < work_start:
            return Opening(False, minutes, local.date(), True, work_start)
    return Opening(False, minutes, calendar.next_working_day(local.date()), False, work_start)


@dataclass(frozen=True)
class Promise:
    """One limit in plain Chinese (``text``). ``from_receipt_in_hours``: a clock-hour limit that starts when
    the complaint is received (首次响应), which outside office hours is promised from the next opening."""

    text: str
    from_receipt_in_hours: bool = False

    def __str__(self) -> str:
        return self.text


def customer_promises(
    preset: SlaPreset,
    severity: Severity | str,
    *,
    conditions: Collection[str] = (),
    received_on_working_day: bool | None = None,
) -> list[Promise]:
    """The limits of ``preset`` a complainant is promised, e.g. ``15个工作日内办结``.

    Only milestones with a ``promise`` sentence appear; internal steps (组织调查, 方案启动) are not promised
    to customers. When it is known whether the clock started on a working day, a limit with a non-working-
    day amount shows only the amount that applies ("1小时", not "1小时（非工作日4小时）").
    """
    sev = parse_severity(severity)
    promises: list[Promise] = []
    for milestone in preset.milestones:
        limit = milestone.limits.get(sev)
        if limit is None or milestone.promise is None:
            continue
        if milestone.condition is not None and milestone.condition not in conditions:
            continue
        duration = limit.duration
        label = duration.label()
        if received_on_working_day is not None and duration.non_working_day_amount is not None:
            label = Duration(duration.unit, duration.amount_for(received_on_working_day)).label()
        promises.append(Promise(
            milestone.promise.format(limit=label),
            from_receipt_in_hours=duration.unit is Unit.HOURS and limit.anchor == "received",
        ))
    return promises
