"""Time limits (处理时限, SLA) as presets, and the arithmetic that turns them into deadlines.

Each company's complaint rules (制度) fix limits per step: "登记 within 2 hours", "调查分析报告 within
5 working days of starting the investigation", "整体处理时限 15 working days". A preset is one such
rule book, written as plain data (`PRESET_DATA`) and built into frozen dataclasses, so a site can
override any limit from ``tousu.toml`` without code (see `load_presets`).

Vocabulary:

* a **milestone** (节点) is a step with a limit — ``whole_case``, ``follow_up``…;
* its clock starts at an **anchor event** (``received``, ``registered``…, see `EVENTS`) and the
  milestone is met by another event (``met_by``);
* its **limit** depends on the severity (一般 ``general`` / 重大 ``major``); a preset whose rules
  say 一般/复杂 maps 复杂 to ``major``;
* a **duration** is clock hours (小时, 自然时间) or working days (工作日, counted on
  `handlers.sla.calendar.WorkCalendar`: the start day is not counted, the limit ends at the end of the
  N-th working day);
* **alerts**: reminders to the responsible person (责任人) at fractions of the window (default
  50 % and 80 %), a breach notice to the department head (部门负责人) when the limit passes, and a
  supervision notice (督办) to management a configurable delay after that.

Everything here is pure: no database, no clock. Datetimes in are aware (any zone); datetimes out
are aware Asia/Shanghai — the caller stores them as UTC.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Any, Final, NamedTuple, Protocol

from handlers.sla.calendar import SHANGHAI, to_shanghai
from storage.models import Severity

__all__ = [
    "DEFAULT_REMINDER_FRACTIONS",
    "DEFAULT_TARGETS",
    "ESCALATION_ROLES",
    "EVENTS",
    "PRESET_DATA",
    "TARGET_KEYS",
    "Alert",
    "AlertKind",
    "Deadline",
    "Duration",
    "Escalation",
    "Limit",
    "Milestone",
    "Severity",
    "SlaConfigError",
    "SlaError",
    "SlaPreset",
    "Unit",
    "WorkingDayCalendar",
    "add_duration",
    "alerts",
    "compute_due",
    "deadlines_for_anchor",
    "default_presets",
    "get_preset",
    "load_presets",
    "parse_severity",
    "reminder_times",
    "reminders_between",
]


class SlaError(ValueError):
    """A preset, milestone or severity that does not exist, or a limit that does not apply."""


class SlaConfigError(SlaError):
    """Preset data or a configuration override that cannot be understood; names the offending path."""


_SEVERITY_ALIASES: Final[Mapping[str, Severity]] = MappingProxyType(
    {"general": Severity.GENERAL, "一般": Severity.GENERAL, "major": Severity.MAJOR, "重大": Severity.MAJOR}
)
_SEVERITY_WORDS: Final[Mapping[Severity, str]] = MappingProxyType({Severity.GENERAL: "一般", Severity.MAJOR: "重大"})


def parse_severity(value: str) -> Severity:
    """``"general"``/``"major"`` (or a `storage.models.Severity`, or 一般/重大) → `Severity`.

    The storage enum is the one severity type: deadline rows store it by value, the presets key their
    limits by it."""
    found = _SEVERITY_ALIASES.get(str(value))
    if found is None:
        raise SlaError(f"unknown severity {value!r}; expected general/一般 or major/重大")
    return found


class Unit(StrEnum):
    """How a limit is counted."""

    HOURS = "hours"  # clock hours 小时
    WORKDAYS = "workdays"  # working days 工作日


EVENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "received": "收到投诉",  # the real time it reached us (a phone call, not its registration)
        "first_contacted": "首次联系投诉人",
        "registered": "登记建档",
        "assigned": "交办承办部门",
        "investigation_started": "开始调查",
        "site_visit_decided": "决定现场核查",
        "site_visited": "到达现场",
        "sample_received": "收到复检样品",
        "retest_reported": "出具复检报告",
        "report_submitted": "提交调查分析报告",
        "plan_approved": "处置方案审批通过",
        "plan_started": "处置方案启动实施",
        "implementation_done": "处置实施完成",
        "customer_replied": "答复客户",
        "result_fed_back": "处理结果反馈客户",
        "follow_up_done": "完成回访",
    }
)
"""Events that start (anchor) or meet a milestone, with their Chinese names.

The workflow records them on the timeline; `deadlines_for_anchor` says which deadlines an event
creates; a milestone's ``met_by`` names the event that meets it. Overrides may introduce new event keys.
"""


_DURATION_RE: Final = re.compile(
    r"^\s*(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>h|hours?|min|minutes?|wd|workdays?)\s*$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Duration:
    """A limit's length: ``amount`` clock hours or working days.

    ``non_working_day_amount`` is the first-response special case of seed 001 第五条: "工作日期间
    1小时内响应，非工作日期间4小时内响应" — the hours that apply when the clock starts on a day that is
    not a working day.
    """

    unit: Unit
    amount: float
    non_working_day_amount: float | None = None

    def __post_init__(self) -> None:
        if not self.amount > 0:
            raise SlaConfigError(f"a duration must be positive, got {self.amount}")
        if self.unit is Unit.WORKDAYS and self.amount != int(self.amount):
            raise SlaConfigError(f"working days are whole days, got {self.amount}")
        if self.non_working_day_amount is not None:
            if self.unit is not Unit.HOURS:
                raise SlaConfigError("a non-working-day amount only exists for limits in hours")
            if not self.non_working_day_amount > 0:
                raise SlaConfigError(f"a duration must be positive, got {self.non_working_day_amount}")

    @classmethod
    def parse(cls, spec: str | Mapping[str, Any]) -> Duration:
        """Read ``"2h"``, ``"30min"``, ``"3wd"`` or ``{unit, amount[, non_working_day_amount]}``."""
        if isinstance(spec, Duration):
            return spec
        if isinstance(spec, str):
            match = _DURATION_RE.match(spec)
            if match is None:
                raise SlaConfigError(f"cannot read duration {spec!r}; write e.g. '2h', '30min', '3wd'")
            amount = float(match["amount"])
            unit = match["unit"].lower()
            if unit.startswith("min"):
                return cls(Unit.HOURS, amount / 60)
            return cls(Unit.WORKDAYS if unit.startswith("w") else Unit.HOURS, amount)
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"unit", "amount", "non_working_day_amount"}
            if unknown or "unit" not in spec or "amount" not in spec:
                raise SlaConfigError(
                    f"a duration needs unit and amount (and only non_working_day_amount besides), got {dict(spec)!r}"
                )
            unit_name = str(spec["unit"])
            scale = 1 / 60 if unit_name in {"min", "minutes"} else 1
            try:
                unit_value = Unit.HOURS if scale != 1 else Unit(unit_name)
            except ValueError:
                raise SlaConfigError(f"unknown unit {unit_name!r}; use hours, minutes or workdays") from None
            off = spec.get("non_working_day_amount")
            return cls(unit_value, float(spec["amount"]) * scale, None if off is None else float(off) * scale)
        raise SlaConfigError(f"cannot read duration {spec!r}")

    def amount_for(self, starts_on_working_day: bool) -> float:
        """The amount that applies, given whether the clock starts on a working day."""
        if self.non_working_day_amount is not None and not starts_on_working_day:
            return self.non_working_day_amount
        return self.amount

    def label(self) -> str:
        """Chinese wording: 30分钟, 2小时, 3个工作日, 1小时（非工作日4小时）."""
        text = _amount_label(self.unit, self.amount)
        if self.non_working_day_amount is not None:
            text += f"（非工作日{_amount_label(self.unit, self.non_working_day_amount)}）"
        return text


def _amount_label(unit: Unit, amount: float) -> str:
    if unit is Unit.WORKDAYS:
        return f"{int(amount)}个工作日"
    if amount == int(amount):
        return f"{int(amount)}小时"
    return f"{round(amount * 60):d}分钟"


@dataclass(frozen=True, slots=True)
class Limit:
    """The limit of one milestone for one severity.

    ``anchor`` may differ by severity (a major complaint's plan starts after management approval,
    seed 001 第九条). ``ceiling`` is the longest the limit may be stretched to (seed 003 第六条:
    特殊投诉最长不超过10个工作日); ``note`` is what the rules add in words (e.g. 立即上报管理层).
    """

    duration: Duration
    anchor: str
    ceiling: Duration | None = None
    note: str = ""


@dataclass(frozen=True)
class Milestone:
    """A step with a time limit (处理节点), e.g. ``whole_case`` 整体处理时限.

    ``limits`` holds one `Limit` per severity it applies to (a gas-utility hand-over applies to
    complex cases only). ``condition`` names a case property the milestone needs (e.g.
    ``quality_objection``); ``promise`` is the customer-facing sentence with ``{limit}`` in it.
    """

    key: str
    label: str
    anchor: str
    met_by: str
    limits: Mapping[Severity, Limit]
    condition: str | None = None
    promise: str | None = None
    reminder_fractions: tuple[float, ...] | None = None

    def __hash__(self) -> int:
        # Kept explicitly: the generated hash would choke on the read-only ``limits`` mapping.
        return hash((self.key, self.label, self.anchor, self.met_by, tuple(self.limits.items())))

    def applies_to(self, severity: Severity | str) -> bool:
        """True if this milestone has a limit for ``severity``."""
        return parse_severity(severity) in self.limits

    def limit(self, severity: Severity | str) -> Limit:
        """The limit for ``severity``; `SlaError` if the milestone does not apply to it."""
        sev = parse_severity(severity)
        found = self.limits.get(sev)
        if found is None:
            raise SlaError(f"milestone {self.key!r} ({self.label}) has no limit for {_SEVERITY_WORDS[sev]} complaints")
        return found


@dataclass(frozen=True, slots=True)
class Escalation:
    """Who hears about a milestone and when (催办 → 超时通报 → 督办).

    Recipients are roles the scheduler resolves through the org chart: ``responsible`` 责任人,
    ``department_head`` 部门负责人, ``management`` 公司管理层/分管领导.
    """

    reminder_to: str = "responsible"
    breach_to: str = "department_head"
    supervise_to: str = "management"
    supervise_after: Duration = field(default_factory=lambda: Duration(Unit.WORKDAYS, 1))


@dataclass(frozen=True)
class SlaPreset:
    """One company's rule book of time limits (时限预设)."""

    key: str
    label: str
    source: str
    milestones: tuple[Milestone, ...]
    reminder_fractions: tuple[float, ...]
    escalation: Escalation
    severity_labels: Mapping[Severity, str]
    # The statistics' targets (考核目标) for this rule book: KPI key → percent (or score); see `TARGET_KEYS`.
    targets: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(dict(DEFAULT_TARGETS)))
    _by_key: Mapping[str, Milestone] = field(init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        return hash((self.key, self.milestones))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", MappingProxyType({m.key: m for m in self.milestones}))

    def milestone(self, key: str) -> Milestone:
        """The milestone called ``key``; `SlaError` naming the preset if there is none."""
        found = self._by_key.get(key)
        if found is None:
            raise SlaError(f"preset {self.key!r} has no milestone {key!r}; it has {', '.join(self._by_key)}")
        return found


class Deadline(NamedTuple):
    """A milestone and when it falls due (aware, Asia/Shanghai); unpacks as ``(milestone, due)``."""

    milestone: Milestone
    due: datetime


class AlertKind(StrEnum):
    """Kinds of SLA notices."""

    REMINDER = "reminder"  # 催办: the window is partly used
    BREACH = "breach"  # 超时: the limit has passed
    SUPERVISION = "supervision"  # 督办: still overdue after the further delay


@dataclass(frozen=True, slots=True)
class Alert:
    """One notice the SLA sweep should send at ``at`` if the milestone is still unmet then."""

    kind: AlertKind
    at: datetime
    recipient: str
    milestone_key: str


class WorkingDayCalendar(Protocol):
    """What deadline arithmetic needs from a calendar (`handlers.sla.calendar.WorkCalendar` has it)."""

    def is_working_day(self, day: date | datetime) -> bool: ...

    def working_day_after(self, day: date | datetime, n: int) -> date: ...

    def working_days_between(self, start_day: date | datetime, end_day: date | datetime) -> int: ...

    def add_working_days(self, start: datetime, n: int, *, end_of_day: time | None = None) -> datetime: ...

    def add_hours(self, start: datetime, hours: float) -> datetime: ...


# ---------------------------------------------------------------------------------------------
# The presets, as data.
#
# A milestone gives ``limit`` (and optionally ``note``/``ceiling``) for both severities, or a
# ``general``/``major`` entry per severity — a duration string, or a table with ``limit``,
# ``anchor``, ``ceiling``, ``note``. ``severities`` restricts a milestone to some severities.
# Durations: "2h", "30min", "3wd", or {unit, amount, non_working_day_amount}.
# ---------------------------------------------------------------------------------------------

DEFAULT_REMINDER_FRACTIONS: Final = (0.5, 0.8)
TARGET_KEYS: Final[Mapping[str, str]] = MappingProxyType({
    # KPI key (handlers/stats/kpi.py) → "min" (the figure must reach it) or "max" (must not exceed it)
    "response_rate": "min",  # 响应及时率, %
    "on_time_rate": "min",  # 处理时限达标率, %
    "closure_rate": "min",  # 办结率, %
    "satisfaction_rate": "min",  # 满意率, %
    "average_score": "min",  # 平均满意度评分, 0–100
    "repeat_rate": "max",  # 同类问题重复投诉率, %
})
"""The figures a preset may set a target for ([sla.presets.<preset>.targets]), and which way each one counts."""
DEFAULT_TARGETS: Final[Mapping[str, float]] = MappingProxyType({
    # seed 004: 办结率 100 %, 满意率 ≥ 90 %; the limits of every preset are rules, so 100 % of responses and of
    # cases within them is the target; an average at the satisfied score (85); at most 5 % repeats.
    "response_rate": 100.0, "on_time_rate": 100.0, "closure_rate": 100.0, "satisfaction_rate": 90.0,
    "average_score": 85.0, "repeat_rate": 5.0,
})
ESCALATION_ROLES: Final = ("responsible", "department_head", "management", "lead_office")
"""Who an alert may reach (``escalation.reminder_to``/``breach_to``/``supervise_to``); the workflow resolves
each name through the org chart (handlers/workflow/notify.py ``recipients``)."""
_DEFAULT_ESCALATION: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "reminder_to": "responsible",
        "breach_to": "department_head",
        "supervise_to": "management",
        "supervise_after": "1wd",
    }
)

PRESET_DATA: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        # Seed 001, 有色金属公司《客户质量投诉处理管理制度》第五条至第十一条 — the most precise table.
        "nonferrous-quality": {
            "label": "有色金属客户质量投诉",
            "source": "seed 001 《客户质量投诉处理管理制度》第五条至第十一条",
            "severity_labels": {"general": "一般投诉", "major": "重大投诉"},
            "milestones": {
                "first_response": {
                    "label": "首次响应",
                    "anchor": "received",
                    "met_by": "first_contacted",
                    # 第五条: 工作日期间接到投诉后1小时内响应，非工作日期间接到投诉后4小时内响应.
                    "limit": {"unit": "hours", "amount": 1, "non_working_day_amount": 4},
                    "promise": "{limit}内与您联系",
                },
                "registration": {
                    "label": "登记建档",
                    "anchor": "received",
                    "met_by": "registered",
                    "limit": "2h",  # 第六条
                    "major": {"note": "重大投诉需立即上报公司管理层"},
                },
                "investigation_organised": {
                    "label": "组织调查",
                    "anchor": "registered",
                    "met_by": "investigation_started",
                    "general": "2wd",  # 第七条: 销售部门牵头
                    "major": {"limit": "1wd", "note": "管理层指定专人牵头，成立专项调查小组"},
                },
                "site_visit": {
                    "label": "现场核查",
                    "anchor": "site_visit_decided",
                    "met_by": "site_visited",
                    "limit": "3wd",  # 第七条: 售后服务部门派员到达现场
                    "promise": "如需现场核查，{limit}内派员到达现场",
                },
                "retest": {
                    "label": "产品复检",
                    "anchor": "sample_received",
                    "met_by": "retest_reported",
                    "limit": "3wd",  # 第七条: 接到样品后完成复核检验
                    "promise": "收到样品后{limit}内完成复检",
                },
                "investigation_report": {
                    "label": "调查分析报告",
                    "anchor": "investigation_started",
                    "met_by": "report_submitted",
                    "general": "5wd",  # 第八条
                    "major": "3wd",
                },
                "plan_started": {
                    "label": "处置方案启动",
                    "anchor": "report_submitted",
                    "met_by": "plan_started",
                    "general": "2wd",  # 第九条: 调查分析完成后2个工作日内制定并启动实施
                    "major": {"limit": "1wd", "anchor": "plan_approved", "note": "方案须报公司管理层审批"},
                },
                "result_feedback": {
                    "label": "结果反馈",
                    "anchor": "implementation_done",
                    "met_by": "result_fed_back",
                    "limit": "2wd",  # 第十条
                },
                "whole_case": {
                    "label": "整体处理时限",
                    "anchor": "received",
                    "met_by": "result_fed_back",
                    "general": "15wd",  # 第十条
                    "major": "30wd",
                    "note": "特殊情况需延长的，须提前向客户说明原因并征得客户同意",
                    "promise": "{limit}内办结",
                },
                "follow_up": {
                    "label": "客户回访",
                    "anchor": "result_fed_back",
                    "met_by": "follow_up_done",
                    "limit": "5wd",  # 第十一条
                    "promise": "处理结果反馈后{limit}内回访",
                },
            },
        },
        # Seed 004, 阜阳国祯燃气《投诉处理和服务满意度闭环管理制度》四、工作流程. "较为复杂" → major.
        "gas-utility": {
            "label": "燃气服务投诉闭环",
            "source": "seed 004 《投诉处理和服务满意度闭环管理制度》四、工作流程",
            "severity_labels": {"general": "一般投诉", "major": "较大、复杂投诉"},
            "milestones": {
                "hand_over": {
                    "label": "交办综合管理部",
                    "anchor": "received",
                    "met_by": "assigned",
                    "severities": ["major"],  # 一般有效投诉由接诉部门及时处理, no hand-over
                    "limit": "30min",
                },
                "investigation_organised": {
                    "label": "开始调查",
                    "anchor": "assigned",  # 承办部门收到《投诉处理单》后
                    "met_by": "investigation_started",
                    "limit": "2h",
                },
                "whole_case": {
                    "label": "处理完成",
                    # The seed counts from the handling department's receipt of the form, normally
                    # within 30 minutes of receipt; counting from receipt can be promised to the
                    # customer at once and never ends later than the seed's limit.
                    "anchor": "received",
                    "met_by": "result_fed_back",
                    "general": "1wd",
                    "major": {"limit": "5wd", "note": "超过5个工作日须书面说明情况并上报综合管理部备案"},
                    "promise": "{limit}内处理完成",
                },
                "follow_up": {
                    "label": "回访",
                    "anchor": "result_fed_back",
                    "met_by": "follow_up_done",
                    "limit": "2h",  # 投诉负责人2小时内应对投诉人进行回访
                    "promise": "处理完成后{limit}内回访",
                },
            },
        },
        # Seeds 000 (万基铝加工), 002 (投诉室管理制度), 003 (汇编 第六条、第九条). 复杂 → major;
        # 特殊投诉 "最长不超过10个工作日" is the ceiling an extension may reach.
        "general": {
            "label": "通用投诉处理",
            "source": "seed 000 三(二)、seed 003 第六条、第九条",
            "severity_labels": {"general": "一般投诉", "major": "复杂投诉"},
            "milestones": {
                "registration": {
                    "label": "登记",
                    "anchor": "received",
                    "met_by": "registered",
                    "limit": "24h",  # seed 003 第九条: 接到投诉后24小时内完成投诉登记
                },
                "investigation_report": {
                    "label": "调查核实",
                    "anchor": "registered",
                    "met_by": "report_submitted",
                    "limit": "2wd",  # seed 000: 有效投诉 2 个工作日内进行调查核实，并依法作出处理决定
                },
                "quality_reply": {
                    "label": "质量异议答复",
                    "anchor": "received",
                    "met_by": "customer_replied",
                    "condition": "quality_objection",
                    "limit": "3wd",  # seed 000: 质量异议 3 个工作日内给予客户回复
                    "promise": "质量异议{limit}内给予答复",
                },
                "whole_case": {
                    "label": "处理完毕",
                    "anchor": "received",  # seed 003 第六条: 自收到投诉之日起
                    "met_by": "result_fed_back",
                    "general": "3wd",
                    "major": "5wd",
                    "ceiling": "10wd",
                    "note": "特殊投诉最长不超过10个工作日",
                    "promise": "{limit}内处理完毕",
                },
            },
        },
    }
)

_PRESET_KEYS: Final = frozenset(
    {"label", "source", "base", "severity_labels", "reminder_fractions", "escalation", "milestones", "targets"}
)
_MILESTONE_KEYS: Final = frozenset(
    {
        "label",
        "anchor",
        "met_by",
        "condition",
        "promise",
        "reminder_fractions",
        "severities",
        "enabled",
        "limit",
        "ceiling",
        "note",
        "general",
        "major",
    }
)
_SEVERITY_KEYS: Final = frozenset({"limit", "anchor", "ceiling", "note"})
_ESCALATION_KEYS: Final = frozenset({"reminder_to", "breach_to", "supervise_to", "supervise_after"})
_PUSHED_DOWN: Final = ("limit", "ceiling", "note")  # milestone-level defaults for both severities


def _check_keys(where: str, value: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise SlaConfigError(f"{where}: expected a table, got {value!r}")
    unknown = set(value) - allowed
    if unknown:
        raise SlaConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    return dict(value)


def _is_duration_spec(value: Any) -> bool:
    return isinstance(value, str | Duration) or (isinstance(value, Mapping) and "unit" in value)


def _canonical_milestone(where: str, raw: Any) -> dict[str, Any]:
    """Milestone data with its defaults pushed into ``general``/``major`` entries.

    Done to both the built-in data and an override before merging, so that an override's
    ``limit = "10wd"`` replaces both severities' limits while ``major = "20wd"`` replaces one,
    and neither loses a per-severity ``anchor``.
    """
    data = _check_keys(where, raw, _MILESTONE_KEYS)
    defaults = {key: data.pop(key) for key in _PUSHED_DOWN if key in data}
    for sev in Severity:
        entry = data.get(sev.value)
        if entry is None and not defaults:
            continue
        if entry is None:
            entry = {}
        elif _is_duration_spec(entry):
            entry = {"limit": entry}
        entry = _check_keys(f"{where}.{sev.value}", entry, _SEVERITY_KEYS)
        for key, value in defaults.items():
            entry.setdefault(key, value)
        data[sev.value] = entry
    return data


def _canonical_preset(where: str, raw: Any) -> dict[str, Any]:
    data = _check_keys(where, raw, _PRESET_KEYS)
    if "escalation" in data:
        data["escalation"] = _check_keys(f"{where}.escalation", data["escalation"], _ESCALATION_KEYS)
    if "targets" in data:
        data["targets"] = _check_keys(f"{where}.targets", data["targets"], frozenset(TARGET_KEYS))
    if "milestones" in data:
        milestones = _check_keys(f"{where}.milestones", data["milestones"], frozenset(data["milestones"]))
        data["milestones"] = {
            str(key): _canonical_milestone(f"{where}.milestones.{key}", value) for key, value in milestones.items()
        }
    return data


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge; tables merge key by key, anything else (lists, durations) is replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping) and not _is_duration_spec(value):
            merged[key] = _merge(dict(current), value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _fractions(where: str, value: Any) -> tuple[float, ...]:
    if not isinstance(value, list | tuple):
        raise SlaConfigError(f"{where}: expected a list of fractions such as [0.5, 0.8], got {value!r}")
    fractions = tuple(sorted(float(f) for f in value))
    if any(not 0 < f < 1 for f in fractions):
        raise SlaConfigError(f"{where}: reminder fractions must lie strictly between 0 and 1, got {value!r}")
    return fractions


def _duration(where: str, spec: Any) -> Duration:
    try:
        return Duration.parse(spec)
    except (TypeError, ValueError) as exc:  # SlaConfigError, or float("…") on a bad amount
        raise SlaConfigError(f"{where}: {exc}") from None


def _severity(where: str, value: Any) -> Severity:
    try:
        return parse_severity(value)
    except SlaError as exc:
        raise SlaConfigError(f"{where}: {exc}") from None


def _build_milestone(where: str, key: str, data: Mapping[str, Any]) -> Milestone:
    for required in ("label", "anchor", "met_by"):
        if not data.get(required):
            raise SlaConfigError(f"{where}: {required} is required")
    listed = data.get("severities", [s.value for s in Severity])
    if not isinstance(listed, list | tuple) or not listed:
        raise SlaConfigError(f"{where}.severities: expected a non-empty list such as ['major'], got {listed!r}")
    severities = [_severity(f"{where}.severities", s) for s in listed]
    limits: dict[Severity, Limit] = {}
    for sev in severities:
        entry = data.get(sev.value)
        if not entry or "limit" not in entry:
            raise SlaConfigError(f"{where}.{sev.value}: no limit for {_SEVERITY_WORDS[sev]} complaints")
        limits[sev] = Limit(
            duration=_duration(f"{where}.{sev.value}.limit", entry["limit"]),
            anchor=str(entry.get("anchor") or data["anchor"]),
            ceiling=(
                None if entry.get("ceiling") is None else _duration(f"{where}.{sev.value}.ceiling", entry["ceiling"])
            ),
            note=str(entry.get("note") or ""),
        )
    promise = data.get("promise")
    if promise is not None and "{limit}" not in promise:
        raise SlaConfigError(f"{where}.promise: must contain {{limit}}, got {promise!r}")
    fractions = data.get("reminder_fractions")
    return Milestone(
        key=key,
        label=str(data["label"]),
        anchor=str(data["anchor"]),
        met_by=str(data["met_by"]),
        limits=MappingProxyType(limits),
        condition=data.get("condition"),
        promise=promise,
        reminder_fractions=(None if fractions is None else _fractions(f"{where}.reminder_fractions", fractions)),
    )


def _build_preset(key: str, data: Mapping[str, Any]) -> SlaPreset:
    where = f"sla.presets.{key}"
    if not data.get("label"):
        raise SlaConfigError(f"{where}: label is required")
    milestones = tuple(
        _build_milestone(f"{where}.milestones.{mkey}", mkey, mdata)
        for mkey, mdata in (data.get("milestones") or {}).items()
        if mdata.get("enabled", True)
    )
    if not milestones:
        raise SlaConfigError(f"{where}: a preset needs at least one milestone")
    escalation = _merge(dict(_DEFAULT_ESCALATION), data.get("escalation") or {})
    for role in ("reminder_to", "breach_to", "supervise_to"):
        if escalation[role] not in ESCALATION_ROLES:
            known = ", ".join(ESCALATION_ROLES)
            raise SlaConfigError(f"{where}.escalation.{role}: {escalation[role]!r} is not a recipient; one of {known}")
    labels = {Severity.GENERAL: "一般投诉", Severity.MAJOR: "重大投诉"}
    for sev, text in (data.get("severity_labels") or {}).items():
        labels[_severity(f"{where}.severity_labels", sev)] = str(text)
    return SlaPreset(
        key=key,
        label=str(data["label"]),
        source=str(data.get("source", "")),
        milestones=milestones,
        reminder_fractions=_fractions(
            f"{where}.reminder_fractions", data.get("reminder_fractions", list(DEFAULT_REMINDER_FRACTIONS))
        ),
        escalation=Escalation(
            reminder_to=str(escalation["reminder_to"]),
            breach_to=str(escalation["breach_to"]),
            supervise_to=str(escalation["supervise_to"]),
            supervise_after=_duration(f"{where}.escalation.supervise_after", escalation["supervise_after"]),
        ),
        severity_labels=MappingProxyType(labels),
        targets=_targets(f"{where}.targets", data.get("targets") or {}),
    )


def _targets(where: str, raw: Mapping[str, Any]) -> Mapping[str, float]:
    """The defaults with the preset's own targets over them; each a number from 0 to 100."""
    targets = dict(DEFAULT_TARGETS)
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise SlaConfigError(f"{where}.{key}: expected a number from 0 to 100, got {value!r}")
        targets[key] = float(value)
    return MappingProxyType(targets)


def load_presets(overrides: Mapping[str, Any] | None = None) -> dict[str, SlaPreset]:
    """Build the presets from `PRESET_DATA`, with ``overrides`` from configuration merged in.

    ``overrides`` is the ``[sla.presets]`` table of ``tousu.toml``, keyed by preset::

        [sla.presets.nonferrous-quality]
        reminder_fractions = [0.5, 0.9]
        escalation = { supervise_after = "24h" }

        [sla.presets.nonferrous-quality.milestones.whole_case]
        general = "10wd"                      # one severity
        major = { limit = "20wd", note = "…" }

        [sla.presets.nonferrous-quality.milestones.site_visit]
        enabled = false                       # drop a milestone

        [sla.presets.my-plant]                # a new preset, starting from a built-in one
        base = "general"
        label = "本厂投诉处理"

    Tables merge key by key; lists and durations are replaced. Unknown keys are errors, so a typo
    in the configuration fails at start-up instead of silently keeping the default.
    """
    data: dict[str, dict[str, Any]] = {
        key: _canonical_preset(f"PRESET_DATA.{key}", raw) for key, raw in PRESET_DATA.items()
    }
    for key, raw in (overrides or {}).items():
        override = _canonical_preset(f"sla.presets.{key}", raw)
        base_key = override.pop("base", None)
        if base_key is not None:
            if base_key not in data:
                raise SlaConfigError(f"sla.presets.{key}.base: no preset {base_key!r}")
            base = copy.deepcopy(data[base_key])
        else:
            base = data.get(key, {})
        data[key] = _merge(base, override)
    return {key: _build_preset(key, value) for key, value in data.items()}


@cache
def default_presets() -> Mapping[str, SlaPreset]:
    """The built-in presets without overrides (built once, read-only)."""
    return MappingProxyType(load_presets())


def get_preset(key: str, presets: Mapping[str, SlaPreset] | None = None) -> SlaPreset:
    """The preset called ``key`` among ``presets`` (default: the built-in ones)."""
    source = default_presets() if presets is None else presets
    found = source.get(key)
    if found is None:
        raise SlaError(f"no SLA preset {key!r}; known: {', '.join(source)}")
    return found


# ---------------------------------------------------------------------------------------------
# Deadline arithmetic
# ---------------------------------------------------------------------------------------------


def add_duration(duration: Duration, start: datetime, calendar: WorkingDayCalendar) -> datetime:
    """``start`` plus ``duration`` (its non-working-day amount when the clock starts on a day off)."""
    if duration.unit is Unit.HOURS:
        hours = duration.amount
        if duration.non_working_day_amount is not None:
            hours = duration.amount_for(calendar.is_working_day(start))
        return calendar.add_hours(start, hours)
    return calendar.add_working_days(start, int(duration.amount))


def compute_due(
    preset: SlaPreset,
    milestone_key: str,
    anchor_at: datetime,
    severity: Severity | str,
    calendar: WorkingDayCalendar,
    *,
    ceiling: bool = False,
) -> datetime:
    """When milestone ``milestone_key`` falls due if its clock started at ``anchor_at``.

    Hours are clock hours from ``anchor_at``; working days end at the end of the N-th working day
    after ``anchor_at``'s day. ``ceiling=True`` gives the longest the limit may be extended to,
    where the rules set one (otherwise the ordinary limit). Returns aware Asia/Shanghai time;
    on time means met at or before it.
    """
    limit = preset.milestone(milestone_key).limit(severity)
    duration = limit.ceiling if ceiling and limit.ceiling is not None else limit.duration
    return add_duration(duration, anchor_at, calendar)


def reminder_times(
    preset: SlaPreset,
    milestone_key: str,
    anchor_at: datetime,
    severity: Severity | str,
    calendar: WorkingDayCalendar,
) -> list[datetime]:
    """When to remind the responsible person (催办) of a milestone's standard window: `reminders_between`
    its anchor and its limit, at the milestone's (else the preset's) fractions."""
    milestone = preset.milestone(milestone_key)
    limit = milestone.limit(severity)
    start = to_shanghai(anchor_at)
    return reminders_between(
        start, add_duration(limit.duration, start, calendar), milestone.reminder_fractions or preset.reminder_fractions,
        calendar, working_days=limit.duration.unit is Unit.WORKDAYS,
    )


def reminders_between(
    start: datetime, due: datetime, fractions: Sequence[float], calendar: WorkingDayCalendar, *, working_days: bool
) -> list[datetime]:
    """Reminder moments at ``fractions`` of the window from ``start`` to ``due`` (default 50 %, 80 %).

    The one reminder rule, for a preset's window and for a window no preset describes (an extended
    deadline). For a window in working days the fraction is of the *working* time, each working day
    counting as one 24-hour block: 50 % of 15 working days is noon of the 8th working day, so a reminder
    never falls inside a holiday block where nobody reads it. A clock-hour window, or one shorter than a
    working day, is split in clock time. (Delivery in quiet hours is the dispatcher's business.)
    """
    start, due = to_shanghai(start), to_shanghai(due)
    days = calendar.working_days_between(start.date(), due.date()) if working_days else 0
    times: list[datetime] = []
    for fraction in fractions:
        if days < 1:
            start_utc = start.astimezone(UTC)
            moment = (start_utc + (due.astimezone(UTC) - start_utc) * fraction).astimezone(SHANGHAI)
        else:
            # Rounded: float noise (0.58 × 50 = 28.999…96) would otherwise round, in microseconds, to
            # 00:00 of the next calendar day, which may be a holiday.
            elapsed = round(fraction * days, 9)
            whole = math.floor(elapsed)
            day = calendar.working_day_after(start.date(), whole + 1)
            moment = datetime.combine(day, time(0, 0), tzinfo=SHANGHAI) + timedelta(days=elapsed - whole)
        moment = min(moment, due)
        if moment not in times:
            times.append(moment)
    return sorted(times)


def alerts(
    preset: SlaPreset,
    milestone_key: str,
    anchor_at: datetime,
    severity: Severity | str,
    calendar: WorkingDayCalendar,
) -> list[Alert]:
    """The whole escalation chain for one milestone: reminders, breach notice, supervision (督办).

    The breach notice is due one second after the deadline (a milestone met at 23:59:59 is on
    time); supervision follows after the preset's ``escalation.supervise_after`` (default one
    working day: the end of the next working day). The sweep sends each one whose time has come
    while the milestone is still unmet.
    """
    escalation = preset.escalation
    due = compute_due(preset, milestone_key, anchor_at, severity, calendar)
    chain = [
        Alert(AlertKind.REMINDER, at, escalation.reminder_to, milestone_key)
        for at in reminder_times(preset, milestone_key, anchor_at, severity, calendar)
    ]
    chain.append(Alert(AlertKind.BREACH, due + timedelta(seconds=1), escalation.breach_to, milestone_key))
    chain.append(
        Alert(
            AlertKind.SUPERVISION,
            add_duration(escalation.supervise_after, due, calendar),
            escalation.supervise_to,
            milestone_key,
        )
    )
    return chain


def deadlines_for_anchor(
    preset: SlaPreset,
    event_key: str,
    at: datetime,
    severity: Severity | str,
    calendar: WorkingDayCalendar,
    *,
    conditions: Collection[str] = (),
) -> list[Deadline]:
    """The deadlines that event ``event_key`` at ``at`` starts, in preset order.

    Milestones with a ``condition`` are included only when it is in ``conditions`` (e.g.
    ``{"quality_objection"}``). An event that starts no clock gives an empty list, so the workflow
    can call this for every timeline event.
    """
    sev = parse_severity(severity)
    found: list[Deadline] = []
    for milestone in preset.milestones:
        limit = milestone.limits.get(sev)
        if limit is None or limit.anchor != event_key:
            continue
        if milestone.condition is not None and milestone.condition not in conditions:
            continue
        found.append(Deadline(milestone, add_duration(limit.duration, at, calendar)))
    return found
