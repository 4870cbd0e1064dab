"""Chinese names of the codes the record stores, and time formatting, for console templates.

The wording of the states and actions is the workflow's own (handlers/workflow); the option lists are
the intake form's. This module only looks them up, so a page never shows a bare code it could name;
`DetailWords` does it for the values of the timeline's details (their names are the field labels of
templates/pages/console/_fields.html).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from flask import Blueprint

from bot.runtime import runtime
from handlers.intake.form import option_labels
from handlers.sla.presets import SlaPreset
from handlers.workflow import vocab
from handlers.workflow.tasks import TASK_LABELS
from handlers.workflow.transitions import ACTION_LABELS, STATUS_LABELS, Action
from storage.base import SHANGHAI
from storage.models import ComplaintStatus, DeadlineStatus, ExtensionStatus, PlanStatus, Severity, Source

SOURCE_LABELS = {
    Source.WECHAT: "微信公众号", Source.PHONE: "电话/热线", Source.EMAIL: "邮件", Source.LETTER: "书面函件",
    Source.SUGGESTION_BOX: "意见箱", Source.WALK_IN: "现场来访", Source.OA: "OA", Source.GOVERNMENT: "政府平台",
    Source.SALES_REP: "销售代表", Source.WEBSITE: "网站",
}
SEVERITY_LABELS = {Severity.GENERAL: "一般", Severity.MAJOR: "重大"}
DEADLINE_STATUS_LABELS = {
    DeadlineStatus.OPEN: "计时中", DeadlineStatus.BREACHED: "已超时", DeadlineStatus.MET: "已完成",
    DeadlineStatus.CANCELLED: "已取消",
}
PLAN_STATUS_LABELS = {
    PlanStatus.PROPOSED: "待实施", PlanStatus.PENDING_APPROVAL: "待审批", PlanStatus.APPROVED: "已批准",
    PlanStatus.REJECTED: "已驳回", PlanStatus.IN_PROGRESS: "实施中", PlanStatus.COMPLETED: "已完成",
    PlanStatus.SUPERSEDED: "已被替换",
}
EXTENSION_STATUS_LABELS = {
    ExtensionStatus.PENDING: "待客户答复", ExtensionStatus.CONSENTED: "客户同意", ExtensionStatus.REFUSED: "客户不同意",
    ExtensionStatus.EXPIRED: "未答复",
}
# How a message reached the customer or the customer answered: the contact methods, and the case page.
CHANNEL_LABELS = {**vocab.CONTACT_METHODS, "page": "进度查询网页"}
# The website form's entries (``?from=``).
ENTRY_LABELS = {"site": "公司网站“投诉”栏目", "menu": "公众号菜单（跳转网页）",
                "qr": "二维码（海报、营业厅、产品标签）"}
DEADLINE_MET_LABELS = {"on_time": "按时完成", "late": "超时完成"}
YES_NO = {True: "是", False: "否"}
# Timeline actions that are not workflow actions (written by intake, the deadline and survey jobs, tasks…).
EXTRA_ACTION_LABELS = {
    "registered": "登记", "callback_requested": "客户要求人工回电", "deadlines_opened": "开始计时",
    "deadline_breached": "处理节点超时", "deadline_escalated": "超时督办", "extension_expired": "延期申请未获答复",
    "survey_sent": "发送满意度评价", "survey_reminded": "提醒客户评价", "survey_expired": "评价期内未评价",
    "survey_answered": "客户评价", "survey_comment": "客户补充评价", "survey_praise": "表扬记录",
    "survey_criticism": "批评教育记录", "survey_notice": "通报批评记录", "task_opened": "新建人工任务",
    "task_done": "完成人工任务", "destruction_approved": "批准销毁档案",
    "records_destroyed": "档案已销毁（个人信息和佐证材料已删除）",
}


def local_dt(moment: dt.datetime | None) -> str:
    """``2026-02-13 10:00`` in Asia/Shanghai (staff read local wall-clock time)."""
    return "—" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def status_label(status: ComplaintStatus | str) -> str:
    return STATUS_LABELS.get(ComplaintStatus(status), str(status))


def action_label(code: str) -> str:
    try:
        return ACTION_LABELS[Action(code)]
    except ValueError:
        return EXTRA_ACTION_LABELS.get(code, code)


def code_labels(codes: Any, kind: str) -> str:
    """``["repair"] | code_labels("measure")`` → 维修."""
    form = runtime().settings.policy.form  # the company's own option lists ([form.options])
    table = {"problem_type": option_labels(form.options_for("problem_type")),
             "demand": option_labels(form.options_for("demands")), "measure": vocab.MEASURES,
             "method": vocab.INVESTIGATION_METHODS, "cause": vocab.CAUSES,
             "responsibility": vocab.RESPONSIBILITY, "responsibility_type": vocab.RESPONSIBILITY_TYPES}[kind]
    if codes is None or codes == []:
        return "—"
    if isinstance(codes, str):
        return table.get(codes, codes)
    return vocab.labels(table, list(codes))


def category_label(code: str | None) -> str:
    return runtime().settings.policy.category_label(code)


def preset_label(code: str | None) -> str:
    """The time-limit preset's name (有色金属客户质量投诉); a code the policy no longer has, as stored."""
    preset = runtime().settings.policy.workflow.presets.get(code or "")
    return preset.label if preset is not None else (code or "—")


# -- timeline details --------------------------------------------------------------------------------

_ISO_MOMENT: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# Details whose value is a code of one of these tables.
_CODE_TABLES: Final[Mapping[str, Mapping[Any, str]]] = {
    "severity": SEVERITY_LABELS, "severity_suggested": SEVERITY_LABELS, "source": SOURCE_LABELS,
    "methods": vocab.INVESTIGATION_METHODS, "measures": vocab.MEASURES, "cause": vocab.CAUSES,
    "responsibility": vocab.RESPONSIBILITY, "responsibility_type": vocab.RESPONSIBILITY_TYPES,
    "method": CHANNEL_LABELS, "channel": CHANNEL_LABELS, "asked_via": CHANNEL_LABELS,
    "outcome": vocab.CLOSE_OUTCOMES, "kind": TASK_LABELS, "plan_status": PLAN_STATUS_LABELS,
    "extension_status": EXTENSION_STATUS_LABELS, "entry": ENTRY_LABELS, "status": STATUS_LABELS,
}
# Details naming a department (by id; by code or, in older rows, by name) or a member of staff (by id).
DEPARTMENT_IDS: Final = frozenset({"lead_office_id", "handling_department_id", "responsible_department_id",
                                   "department_id"})
_DEPARTMENT_NAMES: Final = frozenset({"lead_office", "handling_department", "responsible_department"})
STAFF_IDS: Final = frozenset({"responsible_staff_id", "complained_staff_id", "staff_id"})


@dataclass(frozen=True)
class DetailWords:
    """How a timeline detail's stored value reads to staff: a code by its Chinese name, a department or
    person by name, a moment in local time, a yes/no as 是/否. ``preset`` is the case's time-limit preset
    (its milestones' names); ``departments`` are keyed by id and by code, ``staff`` by id. A value no
    table knows is shown as stored."""

    preset: SlaPreset | None = None
    departments: Mapping[int | str, str] = field(default_factory=dict)
    staff: Mapping[int, str] = field(default_factory=dict)

    def milestone(self, code: Any) -> str:
        found = next((m for m in (self.preset.milestones if self.preset else ()) if m.key == code), None)
        return found.label if found is not None else str(code)

    def text(self, key: str, value: Any) -> str:
        """``text("severity", "general")`` → 一般; ``text("deadlines_cancelled", ["whole_case"])`` → 整体处理时限."""
        if value is None or value == [] or value == {}:
            return "—"
        if isinstance(value, bool):
            return YES_NO[value]
        if key in ("preset", "sla_preset"):
            return preset_label(str(value))
        if key == "category":
            return category_label(str(value))
        if key in ("problem_type", "demands"):
            return code_labels(value, "problem_type" if key == "problem_type" else "demand")
        if key in _CODE_TABLES:
            table = _CODE_TABLES[key]
            codes = value if isinstance(value, list) else [value]
            return "、".join(table.get(c, self.plain(c)) if isinstance(c, str) else self.plain(c) for c in codes)
        if key in DEPARTMENT_IDS or key in _DEPARTMENT_NAMES:
            return self.departments.get(value, self.plain(value))
        if key in STAFF_IDS:
            return self.staff.get(value, self.plain(value))
        if key in ("milestone", "deadlines_cancelled"):
            return "、".join(self.milestone(c) for c in (value if isinstance(value, list) else [value]))
        if key == "deadlines_created" and isinstance(value, dict):
            return "；".join(f"{self.milestone(k)} {self.plain(v)}" for k, v in value.items())
        if key == "deadlines_met" and isinstance(value, dict):
            return "；".join(f"{self.milestone(k)} {DEADLINE_MET_LABELS.get(v, self.plain(v))}"
                            for k, v in value.items())
        if key == "deadlines_changed" and isinstance(value, list):
            return "；".join(f"{self.milestone(c.get('milestone'))} {self.plain(c.get('before'))} → "
                            f"{self.plain(c.get('after'))}" for c in value if isinstance(c, dict))
        if key == "extra_fields" and isinstance(value, dict):
            form = runtime().settings.policy.form
            return "；".join(f"{form.step(k).label if form.has(k) else k}: {self.plain(v)}" for k, v in value.items())
        return self.plain(value)

    def plain(self, value: Any) -> str:
        """A value by its shape alone: lists joined with 、, yes/no, a stored moment in local time."""
        if value is None:
            return "—"
        if isinstance(value, bool):
            return YES_NO[value]
        if isinstance(value, list):
            return "、".join(self.plain(v) for v in value)
        if isinstance(value, dict):
            return "；".join(f"{k}: {self.plain(v)}" for k, v in value.items())
        if isinstance(value, str) and _ISO_MOMENT.match(value):
            try:
                return local_dt(dt.datetime.fromisoformat(value))
            except ValueError:
                return value
        return str(value)


def register(bp: Blueprint) -> None:
    """Make the lookups available to every template as filters."""
    bp.add_app_template_filter(local_dt, "local_dt")
    bp.add_app_template_filter(status_label, "status_label")
    bp.add_app_template_filter(action_label, "action_label")
    bp.add_app_template_filter(category_label, "category_label")
    bp.add_app_template_filter(preset_label, "preset_label")
    bp.add_app_template_filter(lambda s: SOURCE_LABELS.get(Source(s), str(s)), "source_label")
    bp.add_app_template_filter(lambda s: SEVERITY_LABELS.get(Severity(s), str(s)), "severity_label")
    bp.add_app_template_filter(lambda s: DEADLINE_STATUS_LABELS.get(DeadlineStatus(s), str(s)),
                               "deadline_status_label")
    bp.add_app_template_filter(code_labels, "code_labels")
    bp.add_app_template_filter(lambda s: PLAN_STATUS_LABELS.get(PlanStatus(s), str(s)), "plan_status_label")
    bp.add_app_template_filter(lambda s: EXTENSION_STATUS_LABELS.get(ExtensionStatus(s), str(s)),
                               "extension_status_label")
    bp.add_app_template_filter(lambda s: ENTRY_LABELS.get(s, s), "entry_label")
