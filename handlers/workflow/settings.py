"""The workflow's configuration, read once from ``tousu.toml`` ([sla], [workflow], [calendar]).

Everything has a documented default, so a file without these sections (or tests with an empty mapping)
gets the behaviour of DOMAIN.md: quality objections on the ``nonferrous-quality`` preset, everything
else on ``general``, "N 个工作日" ending at 23:59:59, reminders at 50 % and 80 % of each window,
supervision (督办) one working day after a breach, approval for 重大 plans and for any money, and the
handling department not shown who complained.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.config import PolicyError
from handlers.sla.calendar import SHANGHAI
from handlers.sla.calendar_store import CalendarRules
from handlers.sla.presets import PRESET_DATA, SlaError, SlaPreset, get_preset, load_presets
from handlers.text import DEFAULT_QUALITY_CATEGORIES

DEFAULT_CATEGORY_PRESETS: Mapping[str, str] = {code: "nonferrous-quality" for code in DEFAULT_QUALITY_CATEGORIES}
#: WeChat retries a delivery within seconds and the dedupe needs only those rows; a day is the floor.
MIN_MESSAGE_LOG_DAYS = 1
DEFAULT_MONEY_MEASURES = frozenset({"compensation", "price_reduction", "refund"})
_WORKFLOW_KEYS = frozenset({
    "handling_department_sees_complainant", "approval_for_money", "money_approval_threshold", "money_measures",
    "quality_categories", "satisfied_score", "retention_years", "office_hours", "message_log_days",
})


@dataclass(frozen=True)
class WorkflowSettings:
    """Parsed configuration; built once by `parse_settings` (from ``handlers.config.load_policy``)."""

    presets: Mapping[str, SlaPreset]
    preset_by_category: Mapping[str, str]
    default_preset: str
    calendar: CalendarRules
    handling_department_sees_complainant: bool
    approval_for_money: bool
    money_threshold: decimal.Decimal  # a plan whose amount exceeds this needs approval
    money_measures: frozenset[str]
    quality_categories: frozenset[str]
    satisfied_score: int  # 满意 at or above this score (seed 001: 85/100)
    retention_years: int
    office_hours: tuple[dt.time, dt.time] | None = None  # deliver SLA alerts to staff only within (Asia/Shanghai)
    #: Days the message logs (inbound deliveries, sent outbox texts, dev sink) keep followers' texts
    #: (`handlers.records.purge_message_log`); at least 1, since retry dedupe needs the last minutes' rows.
    message_log_days: int = 90

    def deliver_from(self, now: dt.datetime) -> dt.datetime | None:
        """When a scheduled alert queued at ``now`` may reach staff: now within office hours, else the next
        opening. A reminder that falls due at 00:00 waits for the morning instead of waking someone."""
        if self.office_hours is None:
            return None
        opens, closes = self.office_hours
        local = now.astimezone(SHANGHAI)
        if opens <= local.time() < closes:
            return None
        day = local.date() if local.time() < opens else local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, opens, tzinfo=SHANGHAI).astimezone(dt.UTC)

    def preset_key_for(self, category: str | None) -> str:
        """The SLA preset configured for ``category`` (``[sla.categories]``), else the default one."""
        return self.preset_by_category.get(category or "", self.default_preset)

    def preset(self, key: str | None, category: str | None = None) -> SlaPreset:
        """The preset called ``key``; an unknown or empty key falls back to the category's preset."""
        if key and key in self.presets:
            return self.presets[key]
        return get_preset(self.preset_key_for(category), self.presets)

    def conditions_for(self, category: str | None) -> frozenset[str]:
        """Case properties that switch on conditional milestones (``quality_objection``)."""
        return frozenset({"quality_objection"}) if category in self.quality_categories else frozenset()


def _table(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name) or {}
    if not isinstance(value, Mapping):
        raise PolicyError(f"[{name}]: expected a table")
    return value


def _time(where: str, value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", str(value).strip())
    if match is None:
        raise PolicyError(f"{where}: expected a time such as \"23:59:59\", got {value!r}")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        raise PolicyError(f"{where}: not a time of day: {value!r}") from None


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{where}: expected true or false, got {value!r}")
    return value


def _strings(where: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{where}: expected a list of codes, got {value!r}")
    return frozenset(value)


def _int(where: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PolicyError(f"{where}: expected a whole number ≥ {minimum}, got {value!r}")
    return value


def parse_settings(config: Mapping[str, Any] | None) -> WorkflowSettings:
    """Read [sla], [workflow] and [calendar] from the company configuration (the whole tousu.toml)."""
    config = config or {}
    unknown_workflow = set(_table(config, "workflow")) - _WORKFLOW_KEYS
    if unknown_workflow:
        raise PolicyError(f"workflow.{sorted(unknown_workflow)[0]}: unknown setting")
    unknown_calendar = set(_table(config, "calendar")) - {"confirmed_years"}
    if unknown_calendar:
        raise PolicyError(f"calendar.{sorted(unknown_calendar)[0]}: unknown setting")
    sla = _table(config, "sla")
    workflow = _table(config, "workflow")
    calendar = _table(config, "calendar")

    known_sla = {"default_preset", "categories", "end_of_day", "reminder_fractions", "escalation_delay", "presets"}
    unknown = set(sla) - known_sla
    if unknown:
        raise PolicyError(f"sla.{sorted(unknown)[0]}: unknown setting")

    # Company-wide reminder fractions and escalation delay apply to every preset that does not set its own.
    overrides: dict[str, Any] = {key: dict(value) for key, value in (sla.get("presets") or {}).items()}
    for key in {*PRESET_DATA, *overrides}:
        preset_override = overrides.setdefault(key, {})
        if "reminder_fractions" in sla:
            preset_override.setdefault("reminder_fractions", sla["reminder_fractions"])
        if "escalation_delay" in sla:
            escalation = dict(preset_override.get("escalation") or {})
            escalation.setdefault("supervise_after", sla["escalation_delay"])
            preset_override["escalation"] = escalation
    try:
        presets = load_presets({k: v for k, v in overrides.items() if v})
    except SlaError as exc:  # names the path already: sla.presets.<preset>.milestones.<milestone>...
        raise PolicyError(str(exc)) from None

    categories = sla.get("categories", DEFAULT_CATEGORY_PRESETS)
    if not isinstance(categories, Mapping):
        raise PolicyError("[sla].categories: expected a table of category = \"preset\"")
    default_preset = str(sla.get("default_preset", "general"))
    for where, key in [("[sla].default_preset", default_preset),
                       *((f"[sla].categories.{c}", str(p)) for c, p in categories.items())]:
        if key not in presets:
            raise PolicyError(f"{where}: no SLA preset {key!r}; known: {', '.join(sorted(presets))}")

    threshold = workflow.get("money_approval_threshold", 0)
    try:
        money_threshold = decimal.Decimal(str(threshold))
    except decimal.InvalidOperation:
        raise PolicyError(f"[workflow].money_approval_threshold: not a number: {threshold!r}") from None
    confirmed = calendar.get("confirmed_years", [])
    if not isinstance(confirmed, list) or not all(isinstance(y, int) for y in confirmed):
        raise PolicyError("[calendar].confirmed_years: expected a list of years such as [2027]")

    return WorkflowSettings(
        presets=presets,
        preset_by_category={str(c): str(p) for c, p in categories.items()},
        default_preset=default_preset,
        calendar=CalendarRules(
            end_of_day=_time("[sla].end_of_day", sla.get("end_of_day", "23:59:59")),
            confirmed_years=frozenset(confirmed),
        ),
        handling_department_sees_complainant=_bool(
            "[workflow].handling_department_sees_complainant",
            workflow.get("handling_department_sees_complainant", False),
        ),
        approval_for_money=_bool("[workflow].approval_for_money", workflow.get("approval_for_money", True)),
        money_threshold=money_threshold,
        money_measures=_strings(
            "[workflow].money_measures", workflow.get("money_measures", sorted(DEFAULT_MONEY_MEASURES))
        ),
        quality_categories=_strings(
            "[workflow].quality_categories", workflow.get("quality_categories", list(DEFAULT_QUALITY_CATEGORIES))
        ),
        satisfied_score=_int("[workflow].satisfied_score", workflow.get("satisfied_score", 85)),
        retention_years=_int("[workflow].retention_years", workflow.get("retention_years", 3), minimum=1),
        office_hours=_office_hours(workflow.get("office_hours", ["08:00", "20:00"])),
        message_log_days=_int("[workflow].message_log_days", workflow.get("message_log_days", 90),
                              minimum=MIN_MESSAGE_LOG_DAYS),
    )


def _office_hours(value: Any) -> tuple[dt.time, dt.time] | None:
    """``["08:00", "20:00"]``; an empty list sends SLA alerts the moment they are due."""
    if value in ([], (), None, ""):
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise PolicyError('[workflow].office_hours: expected ["HH:MM", "HH:MM"] or [] (always)')
    opens = _time("[workflow].office_hours[0]", value[0])
    closes = _time("[workflow].office_hours[1]", value[1])
    if not opens < closes:
        raise PolicyError("[workflow].office_hours: the opening time must come before the closing time")
    return opens, closes


__all__ = ["WorkflowSettings", "parse_settings"]
