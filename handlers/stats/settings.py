"""``[stats]`` of tousu.toml: the settings of the statistics and the period reports (parsed once at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.config import PolicyError

_KEYS = frozenset({"repeat_window_days", "top_problems", "low_score_below_stars"})


@dataclass(frozen=True)
class StatsSettings:
    """What the KPIs and the reports need besides the SLA presets (whose ``targets`` the figures meet)."""

    repeat_window_days: int = 90  # 同类问题重复投诉: an earlier complaint within this many days
    top_problems: int = 10  # the monthly report's 主要问题 table: this many product/problem types and categories
    low_score_below_stars: int = 3  # the report's 低分案件: answers with fewer stars than this


def _int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{where}: expected a whole number from {low} to {high}, got {value!r}")
    return value


def parse_stats(raw: Mapping[str, Any]) -> StatsSettings:
    """``[stats]``: unknown keys and values out of range are errors naming the key."""
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(f"stats.{sorted(unknown)[0]}: unknown setting; known: {', '.join(sorted(_KEYS))}")
    default = StatsSettings()
    return StatsSettings(
        repeat_window_days=_int("stats.repeat_window_days", raw.get("repeat_window_days",
                                                                   default.repeat_window_days), 1, 3660),
        top_problems=_int("stats.top_problems", raw.get("top_problems", default.top_problems), 1, 100),
        low_score_below_stars=_int("stats.low_score_below_stars",
                                   raw.get("low_score_below_stars", default.low_score_below_stars), 1, 6),
    )
