"""Chinese names of the codes the record stores, and time formatting, for console templates.

The wording of the states and actions is the workflow's own (handlers/workflow); the option lists are
the intake form's. This module only looks them up, so a page never shows a bare code it could name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint

from bot.runtime import runtime
from handlers.intake.form import option_labels
from handlers.workflow import vocab
from handlers.workflow.transitions import ACTION_LABELS, STATUS_LABELS, Action
from storage.base import SHANGHAI
from storage.models import ComplaintStatus, DeadlineStatus, Severity, Source

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
# Timeline actions that are not workflow actions (written by intake and support steps).
EXTRA_ACTION_LABELS = {"registered": "登记", "destruction_approved": "批准销毁档案",
                       "records_destroyed": "档案已销毁（个人信息和佐证材料已删除）"}


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


def register(bp: Blueprint) -> None:
    """Make the lookups available to every template as filters."""
    bp.add_app_template_filter(local_dt, "local_dt")
    bp.add_app_template_filter(status_label, "status_label")
    bp.add_app_template_filter(action_label, "action_label")
    bp.add_app_template_filter(category_label, "category_label")
    bp.add_app_template_filter(lambda s: SOURCE_LABELS.get(Source(s), str(s)), "source_label")
    bp.add_app_template_filter(lambda s: SEVERITY_LABELS.get(Severity(s), str(s)), "severity_label")
    bp.add_app_template_filter(lambda s: DEADLINE_STATUS_LABELS.get(DeadlineStatus(s), str(s)),
                               "deadline_status_label")
    bp.add_app_template_filter(code_labels, "code_labels")
