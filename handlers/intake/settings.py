"""The ``[intake]`` table of tousu.toml: timings and the 人工 callback promise.

::

    [intake]
    idle_minutes = 30              # a draft untouched this long is offered 继续 / 重新开始
    purge_days = 7                 # drafts untouched this long are deleted (scheduler job)
    working_hours = ["08:30", "17:30"]   # on working days (official calendar, 调休 included)
    callback_minutes = 30          # 人工 within working hours: "工作人员将在30分钟内与您联系"
    callback_office = "general_office"   # who is told of a 人工 request before the category is known
    max_attachments = 30           # per draft; more are refused politely
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.config import PolicyError

_KEYS = frozenset(
    {"idle_minutes", "purge_days", "working_hours", "callback_minutes", "callback_office", "max_attachments"}
)


@dataclass(frozen=True)
class IntakeSettings:
    idle_after: dt.timedelta = dt.timedelta(minutes=30)
    purge_after: dt.timedelta = dt.timedelta(days=7)
    work_start: dt.time = dt.time(8, 30)
    work_end: dt.time = dt.time(17, 30)
    callback_minutes: int = 30
    callback_office: str = "general_office"
    max_attachments: int = 30


def _time(where: str, value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: a time such as \"08:30\" (got {value!r})") from None


def _positive(where: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PolicyError(f"{where}: a whole number of at least 1 (got {value!r})")
    return value


def intake_settings(raw: Mapping[str, Any]) -> IntakeSettings:
    """Read and check the ``[intake]`` table (once, in ``handlers.config.load_policy``); missing keys keep
    their defaults."""
    if not isinstance(raw, Mapping):
        raise PolicyError("intake: a table")
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(f"intake: unknown setting(s) {', '.join(sorted(unknown))}")
    defaults = IntakeSettings()
    start, end = defaults.work_start, defaults.work_end
    if "working_hours" in raw:
        hours = raw["working_hours"]
        if not isinstance(hours, list) or len(hours) != 2:
            raise PolicyError("intake.working_hours: [\"08:30\", \"17:30\"]")
        start, end = _time("intake.working_hours[0]", hours[0]), _time("intake.working_hours[1]", hours[1])
        if start >= end:
            raise PolicyError("intake.working_hours: the start must be before the end")
    return IntakeSettings(
        idle_after=dt.timedelta(minutes=_positive("intake.idle_minutes", raw.get("idle_minutes", 30))),
        purge_after=dt.timedelta(days=_positive("intake.purge_days", raw.get("purge_days", 7))),
        work_start=start,
        work_end=end,
        callback_minutes=_positive("intake.callback_minutes", raw.get("callback_minutes", 30)),
        callback_office=str(raw.get("callback_office", defaults.callback_office)),
        max_attachments=_positive("intake.max_attachments", raw.get("max_attachments", 30)),
    )
