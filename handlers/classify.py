"""Classification and routing of a new complaint (分类与交办), from configuration.

* **Routing**: category → lead office (归口部门, whose ledger 台账 holds the case) and default handling
  department (承办部门). Defaults (DOMAIN.md): 产品质量 → 品质保障处, everything else → 综合管理处::

      [routing]
      default_lead_office = "general_office"
      management_department = "management"

      [routing.categories.product_quality]
      lead_office = "quality_office"
      handling_department = "quality_office"

      [routing.categories.delivery]
      handling_department = "logistics"

  The SLA preset of a category is *not* configured here but where the workflow reads it, ``[sla]
  default_preset`` and ``[sla.categories]`` (default: 产品质量 → ``nonferrous-quality``, others →
  ``general``), so the acknowledgement promises exactly the limits the deadlines are computed with.

* **Severity** (一般/重大, seed 001 第六条): rules *suggest* 重大 — several batches, a serious defect,
  safety, injury, media/press (harm to the brand), a stated loss above an amount — and staff confirm
  (``severity_confirmed`` stays false). Every rule that fired is kept as a reason::

      [severity]
      major_loss_amount = 50000          # 元; a loss stated above this suggests 重大
      several_batches = 2                # this many batches or more
      safety_words = ["安全事故", "起火"]   # replace a word list (serious_words, injury_words, media_words too)

* **Notifications**: the lead office's head gets a new-case message (WeCom, through the outbox);
  a suggested 重大 case also goes to management at once. Phone numbers are masked in both.

Departments and heads come from the database (``tousu org sync``); before the org chart is synced, the
``[[org.departments]]`` of the configuration are used, so no notification is lost on a fresh install.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.privacy import mask_phone
from handlers.render import render_message
from handlers.sla import SlaPreset
from handlers.text import NUMBER_PATTERN, clean_text, to_number
from handlers.workflow.settings import workflow_settings
from storage.models import Complaint, Department, DepartmentKind, Severity, Staff
from storage.outbox import queue_staff_text

log = logging.getLogger("tousu.classify")

QUALITY_CATEGORY = "product_quality"
DEFAULT_LEAD_OFFICE = "general_office"
DEFAULT_MANAGEMENT = "management"

#: Built-in routes; ``[routing.categories.<code>]`` tables override them key by key.
DEFAULT_ROUTES: Mapping[str, Mapping[str, str]] = {
    QUALITY_CATEGORY: {"lead_office": "quality_office", "handling_department": "quality_office"},
    "delivery": {"handling_department": "logistics"},
    "service_attitude": {"handling_department": "sales"},
}


class ClassifyConfigError(ValueError):
    """``[routing]`` or ``[severity]`` cannot be understood; the message names the setting."""


@dataclass(frozen=True)
class Route:
    category: str
    lead_office: str  # department code
    handling_department: str  # department code
    sla_preset: str


def category_route(category: str, company: Mapping[str, Any]) -> Route:
    """Where a complaint of ``category`` goes, by configuration (codes, not rows)."""
    routing = company.get("routing", {}) or {}
    if not isinstance(routing, Mapping):
        raise ClassifyConfigError("routing: a table")
    unknown_keys = set(routing) - {"default_lead_office", "default_handling_department", "management_department",
                                   "categories"}
    if unknown_keys:
        raise ClassifyConfigError(f"routing: unknown setting(s) {', '.join(sorted(unknown_keys))}")
    default_lead = str(routing.get("default_lead_office", DEFAULT_LEAD_OFFICE))
    configured = (routing.get("categories", {}) or {}).get(category, {})
    if not isinstance(configured, Mapping):
        raise ClassifyConfigError(f"routing.categories.{category}: a table")
    unknown = set(configured) - {"lead_office", "handling_department"}
    if unknown:
        raise ClassifyConfigError(f"routing.categories.{category}: unknown setting(s) {', '.join(sorted(unknown))}")
    merged = {**DEFAULT_ROUTES.get(category, {}), **configured}
    lead = str(merged.get("lead_office", default_lead))
    handling = str(merged.get("handling_department", routing.get("default_handling_department", lead)))
    preset = workflow_settings(company).preset_key_for(category)
    return Route(category=category, lead_office=lead, handling_department=handling, sla_preset=preset)


def preset_for(route: Route, company: Mapping[str, Any]) -> SlaPreset:
    """The SLA preset of a route, with the ``[sla]`` overrides of the configuration."""
    return workflow_settings(company).preset(route.sla_preset, route.category)


def promise_conditions(category: str, company: Mapping[str, Any]) -> frozenset[str]:
    """Conditions of SLA milestones that apply to this category (质量异议 answered within N days)."""
    return workflow_settings(company).conditions_for(category)


# ---------------------------------------------------------------------------------------------
# Departments and who to tell
# ---------------------------------------------------------------------------------------------


def find_department(session: Session, code: str) -> Department | None:
    return session.scalar(sa.select(Department).where(Department.code == code, Department.active.is_(True)))


def _config_departments(company: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    org = company.get("org", {}) or {}
    return {str(d.get("code")): d for d in org.get("departments", []) or [] if isinstance(d, Mapping)}


def department_name(session: Session, code: str, company: Mapping[str, Any]) -> str:
    department = find_department(session, code)
    if department is not None:
        return department.name
    return str(_config_departments(company).get(code, {}).get("name") or code)


def head_userids(session: Session, code: str, company: Mapping[str, Any]) -> list[str]:
    """The WeCom userid of a department's head (database first, then the configured org chart)."""
    department = find_department(session, code)
    if department is not None and department.head_id is not None:
        head = session.get(Staff, department.head_id)
        if head is not None and head.active:
            return [head.wecom_userid]
    configured = _config_departments(company).get(code, {}).get("head")
    return [str(configured)] if configured else []


def management_userids(session: Session, company: Mapping[str, Any]) -> list[str]:
    """Management (公司管理层): the management department's head and every active staff with that role."""
    routing = company.get("routing", {}) or {}
    code = str(routing.get("management_department", DEFAULT_MANAGEMENT))
    found = head_userids(session, code, company)
    staff = session.scalars(sa.select(Staff).where(Staff.active.is_(True))).all()
    found += [s.wecom_userid for s in staff if "management" in (s.roles or [])]
    if not staff:
        org = company.get("org", {}) or {}
        found += [str(s["userid"]) for s in org.get("staff", []) or []
                  if isinstance(s, Mapping) and "management" in (s.get("roles") or []) and s.get("userid")]
    if not found:
        departments = session.scalars(
            sa.select(Department).where(Department.kind == DepartmentKind.MANAGEMENT, Department.active.is_(True))
        ).all()
        for department in departments:
            found += head_userids(session, department.code, company)
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------------------------------------
# Severity suggestion
# ---------------------------------------------------------------------------------------------

DEFAULT_WORDS: Mapping[str, tuple[str, ...]] = {
    "serious_words": ("严重", "大面积", "整批", "全部报废", "批量不合格", "全部不合格", "无法使用", "报废"),
    "safety_words": (
        "安全隐患", "安全事故", "安全问题", "事故", "爆炸", "起火", "着火", "火灾", "坍塌", "倒塌", "漏电",
        "泄漏", "中毒",
    ),
    "injury_words": (
        "受伤", "伤人", "砸伤", "割伤", "烫伤", "划伤手", "住院", "骨折", "死亡", "身亡", "人身伤害", "工伤",
    ),
    "media_words": (
        "媒体", "记者", "曝光", "电视台", "报社", "报纸", "网上", "微博", "抖音", "头条", "12315", "消协",
        "市场监管", "起诉", "律师", "法院", "仲裁",
    ),
}  # fmt: skip
_NEGATED = re.compile(r"(?:没有|没|无|未|不会|不存在)[\u4e00-\u9fff]{0,2}$")
_SEVERITY_KEYS = frozenset({"major_loss_amount", "several_batches", *DEFAULT_WORDS})


@dataclass(frozen=True)
class SeveritySuggestion:
    severity: Severity
    reasons: tuple[str, ...]  # one Chinese sentence per rule that fired, for staff


def _severity_config(company: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = company.get("severity", {}) or {}
    if not isinstance(raw, Mapping):
        raise ClassifyConfigError("severity: a table")
    unknown = set(raw) - _SEVERITY_KEYS
    if unknown:
        raise ClassifyConfigError(f"severity: unknown setting(s) {', '.join(sorted(unknown))}")
    return raw


def _found_words(text: str, words: Sequence[str]) -> list[str]:
    hits: list[str] = []
    for word in words:
        start = text.find(word)
        while start >= 0:
            if not _NEGATED.search(text[max(0, start - 5) : start]):
                hits.append(word)
                break
            start = text.find(word, start + 1)
    return hits


_MONEY = re.compile(
    rf"(?P<num>[0-9]{{1,3}}(?:,[0-9]{{3}})+(?:\.[0-9]+)?|{NUMBER_PATTERN})\s*"
    r"(?:(?P<mult>万|千|w|W|k|K)\s*(?:多|余)?\s*(?P<unit1>元|块|人民币)?|(?:多|余)?\s*(?P<unit2>元|块钱|块))"
)


def stated_amounts(text: str) -> list[Decimal]:
    """Amounts of money (元) written in ``text``: 5万, 5万元, 50000元, 三千块, 1.2w."""
    amounts: list[Decimal] = []
    for m in _MONEY.finditer(clean_text(text)):
        mult = m.group("mult")
        if not mult and not m.group("unit2"):
            continue
        number = to_number(m.group("num"))
        if number is None:
            continue
        factor = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "k": 1_000, "K": 1_000}.get(mult or "", 1)
        amounts.append(number * factor)
    return amounts


def suggest_severity(
    company: Mapping[str, Any], *, batches: Sequence[str], texts: Sequence[str], loss: str | None
) -> SeveritySuggestion:
    """Suggest 一般 or 重大 from the batches, the free texts and the stated loss (staff confirm)."""
    config = _severity_config(company)
    reasons: list[str] = []
    several = int(config.get("several_batches", 2))
    if len(batches) >= several:
        reasons.append(render_message("intake/severity_reason", rule="several_batches", items=list(batches)))
    text = clean_text(" ".join(t for t in (*texts, loss or "") if t))
    for rule in ("serious_words", "safety_words", "injury_words", "media_words"):
        words = config.get(rule, DEFAULT_WORDS[rule])
        if not isinstance(words, list | tuple):
            raise ClassifyConfigError(f"severity.{rule}: a list of words")
        hits = _found_words(text, [str(w) for w in words])
        if hits:
            reasons.append(render_message("intake/severity_reason", rule=rule, items=hits))
    threshold = Decimal(str(config.get("major_loss_amount", 50000)))
    amounts = stated_amounts(loss or "")
    if amounts and max(amounts) > threshold:
        reasons.append(render_message(
            "intake/severity_reason", rule="loss", items=[_yuan(max(amounts)), _yuan(threshold)]
        ))
    return SeveritySuggestion(Severity.MAJOR if reasons else Severity.GENERAL, tuple(reasons))


def _yuan(amount: Decimal) -> str:
    if amount >= 10_000 and amount % 100 == 0:
        return f"{format((amount / 10_000).normalize(), 'f')}万元"
    return f"{format(amount.normalize(), 'f')}元"


# ---------------------------------------------------------------------------------------------
# New-case notifications
# ---------------------------------------------------------------------------------------------


def major_notice_key(complaint: Complaint) -> str:
    """The outbox key of the 重大 notice to management, shared with the workflow's own notice
    (handlers/workflow/deadlines.py ``notify_management_of_major``), so management is told once."""
    return f"wf:{complaint.id}:major-notice"


def notify_new_case(
    session: Session, complaint: Complaint, route: Route, company: Mapping[str, Any], *,
    category_label: str, problem_label: str | None, demand_labels: Sequence[str], attachment_count: int,
    now: dt.datetime,
) -> list[str]:
    """Queue the new-case message to the lead office (and to management for a suggested 重大).

    Returns the userids told. A department without a head on record is logged, not an error: the case
    is in the ledger either way.
    """
    common = {
        "complaint": complaint,
        "category": category_label,
        "problem": problem_label,
        "demands": list(demand_labels),
        "phone": mask_phone(complaint.phone, missing="未留"),
        "attachments": attachment_count,
        "lead_office": department_name(session, route.lead_office, company),
        "handling": department_name(session, route.handling_department, company),
        "major": complaint.severity == Severity.MAJOR,
    }
    told: list[str] = []
    office = head_userids(session, route.lead_office, company)
    if office:
        queue_staff_text(session, office, render_message("intake/staff_new_case", **common), now=now,
                         dedupe_key=f"new-case:{complaint.number}", complaint_id=complaint.id)
        told += office
    else:
        log.warning("no head on record for %s: new case %s not announced", route.lead_office, complaint.number)
    if complaint.severity == Severity.MAJOR:
        management = management_userids(session, company)
        if management:
            queue_staff_text(session, management, render_message("intake/staff_major", **common), now=now,
                             dedupe_key=major_notice_key(complaint), complaint_id=complaint.id)
            told += management
        else:
            log.warning("no management on record: major case %s not escalated", complaint.number)
    return list(dict.fromkeys(told))
