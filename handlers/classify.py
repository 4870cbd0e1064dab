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
      major_loss_amount = 50000          # 元; any stated loss suggests 重大, above this "金额较大"
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
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.config import PolicyError
from handlers.privacy import mask_phone, mask_phones_in
from handlers.render import render_message
from handlers.sla.presets import SlaPreset
from handlers.text import NUMBER_PATTERN, clean_text, to_number
from handlers.workflow.notify import card_title, case_link
from handlers.workflow.settings import WorkflowSettings
from storage.models import Complaint, Department, DepartmentKind, Severity, Staff
from storage.outbox import queue_staff_text

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

log = logging.getLogger("tousu.classify")

DEFAULT_LEAD_OFFICE = "general_office"
DEFAULT_MANAGEMENT = "management"
#: Product-quality objections (the policy's quality categories) go to the quality office by default.
DEFAULT_QUALITY_ROUTE: Mapping[str, str] = {"lead_office": "quality_office", "handling_department": "quality_office"}
#: Built-in routes of other categories; ``[routing.categories.<code>]`` tables override them key by key.
DEFAULT_ROUTES: Mapping[str, Mapping[str, str]] = {
    "delivery": {"handling_department": "logistics"},
    "service_attitude": {"handling_department": "sales"},
}
_ROUTING_KEYS = frozenset({"default_lead_office", "default_handling_department", "management_department", "categories"})


@dataclass(frozen=True)
class Route:
    category: str
    lead_office: str  # department code
    handling_department: str  # department code
    sla_preset: str


@dataclass(frozen=True)
class Routing:
    """``[routing]`` as checked at start-up, with the SLA settings that name each category's preset."""

    default_lead_office: str
    default_handling_department: str | None
    management_department: str
    categories: Mapping[str, Mapping[str, str]]
    workflow: WorkflowSettings

    def route(self, category: str) -> Route:
        """Where a complaint of ``category`` goes (codes, not rows)."""
        merged = self.categories.get(category, {})
        lead = merged.get("lead_office", self.default_lead_office)
        handling = merged.get("handling_department", self.default_handling_department or lead)
        return Route(category, lead, handling, self.workflow.preset_key_for(category))


def parse_routing(raw: Mapping[str, Any], workflow: WorkflowSettings) -> Routing:
    """Read and check the ``[routing]`` table (once, in ``handlers.config.load_policy``)."""
    unknown = set(raw) - _ROUTING_KEYS
    if unknown:
        raise PolicyError(f"routing.{sorted(unknown)[0]}: unknown setting")
    configured = raw.get("categories", {}) or {}
    if not isinstance(configured, Mapping):
        raise PolicyError("routing.categories: a table of [routing.categories.<code>]")
    categories: dict[str, dict[str, str]] = {code: dict(DEFAULT_QUALITY_ROUTE) for code in workflow.quality_categories}
    for code, route in DEFAULT_ROUTES.items():
        categories.setdefault(code, {}).update(route)
    for code, table in configured.items():
        if not isinstance(table, Mapping):
            raise PolicyError(f"routing.categories.{code}: a table")
        unknown = set(table) - {"lead_office", "handling_department"}
        if unknown:
            raise PolicyError(f"routing.categories.{code}.{sorted(unknown)[0]}: unknown setting")
        categories.setdefault(str(code), {}).update({str(k): str(v) for k, v in table.items()})
    default_handling = raw.get("default_handling_department")
    return Routing(
        default_lead_office=str(raw.get("default_lead_office", DEFAULT_LEAD_OFFICE)),
        default_handling_department=None if default_handling is None else str(default_handling),
        management_department=str(raw.get("management_department", DEFAULT_MANAGEMENT)),
        categories=categories,
        workflow=workflow,
    )


def category_route(category: str, policy: CompanyPolicy) -> Route:
    """Where a complaint of ``category`` goes, by configuration (codes, not rows)."""
    return policy.routing.route(category)


def preset_for(route: Route, policy: CompanyPolicy) -> SlaPreset:
    """The SLA preset of a route, with the ``[sla]`` overrides of the configuration."""
    return policy.workflow.preset(route.sla_preset, route.category)


def promise_conditions(category: str, policy: CompanyPolicy) -> frozenset[str]:
    """Conditions of SLA milestones that apply to this category (质量异议 answered within N days)."""
    return policy.workflow.conditions_for(category)


# ---------------------------------------------------------------------------------------------
# Departments and who to tell
# ---------------------------------------------------------------------------------------------


def find_department(session: Session, code: str) -> Department | None:
    return session.scalar(sa.select(Department).where(Department.code == code, Department.active.is_(True)))


def department_name(session: Session, code: str, policy: CompanyPolicy) -> str:
    department = find_department(session, code)
    if department is not None:
        return department.name
    configured = policy.org.department(code)
    return configured.name if configured is not None else code


def head_userids(session: Session, code: str, policy: CompanyPolicy) -> list[str]:
    """The WeCom userid of a department's head (database first, then the configured org chart)."""
    department = find_department(session, code)
    if department is not None and department.head_id is not None:
        head = session.get(Staff, department.head_id)
        if head is not None and head.active:
            return [head.wecom_userid]
    configured = policy.org.department(code)
    return [configured.head] if configured is not None and configured.head else []


#: How people call a staff member by surname: 小王, 老周, 王经理, 周工, 李师傅.
_BY_SURNAME = r"(?:小|老|阿){s}|{s}(?:经理|工|师傅|总|主任|科长|处长|部长|主管|老师|会计|姐|哥)"


def named_staff_department(session: Session, text: str, policy: CompanyPolicy) -> str | None:
    """The department code of the one staff member ``text`` names (表扬一下小王, 感谢质检员周敏), else None.

    Praise goes to the praised person's department (issue 13). A full name counts first; a surname form (小王,
    周经理) only when exactly one person on the org chart has that surname. Active staff from the database, else
    the configured org chart."""
    s = clean_text(text)
    rows = session.execute(
        sa.select(Staff.name, Department.code).join(Department, Staff.department_id == Department.id, isouter=True)
        .where(Staff.active.is_(True))
    ).all()
    people: list[tuple[str, str | None]] = [(str(name), code) for name, code in rows]
    people = people or [(p.name, p.department) for p in policy.org.staff]
    by_full = {code for name, code in people if len(name) >= 2 and name in s}
    if by_full:
        return by_full.pop() if len(by_full) == 1 else None
    matched = {(name, code) for name, code in people
               if name and re.search(_BY_SURNAME.format(s=re.escape(name[0])), s)}
    return matched.pop()[1] if len(matched) == 1 else None


def management_userids(session: Session, policy: CompanyPolicy) -> list[str]:
    """Management (公司管理层): the management department's head and every active staff with that role."""
    found = head_userids(session, policy.routing.management_department, policy)
    staff = session.scalars(sa.select(Staff).where(Staff.active.is_(True))).all()
    found += [s.wecom_userid for s in staff if "management" in (s.roles or [])]
    if not staff:
        found += [s.userid for s in policy.org.staff if "management" in s.roles]
    if not found:
        departments = session.scalars(
            sa.select(Department).where(Department.kind == DepartmentKind.MANAGEMENT, Department.active.is_(True))
        ).all()
        for department in departments:
            found += head_userids(session, department.code, policy)
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------------------------------------
# Severity suggestion
# ---------------------------------------------------------------------------------------------

DEFAULT_WORDS: Mapping[str, tuple[str, ...]] = {
    "serious_words": ("严重", "大面积", "整批", "全部报废", "批量不合格", "全部不合格", "无法使用", "报废", "都不能用"),
    "safety_words": (
        "安全隐患", "安全事故", "安全问题", "事故", "爆炸", "起火", "着火", "火灾", "坍塌", "倒塌", "漏电",
        "泄漏", "中毒", "砸到", "砸着", "差点出事",
    ),
    # injury in plain words as well as the formal ones: 手被割了, 缝了六针, 去医院
    "injury_words": (
        "受伤", "伤人", "砸伤", "割伤", "烫伤", "划伤手", "住院", "骨折", "死亡", "身亡", "人身伤害", "工伤",
        "被割", "割了", "缝了", "缝针", "去医院", "进医院", "送医院", "医院", "摔伤", "摔下来", "流血", "拉肚子",
    ),
    # harm to the brand: the press, the web, and complaints to authorities (12345 市长热线, 12315)
    "media_words": (
        "媒体", "记者", "曝光", "电视台", "报社", "报纸", "发到网上", "网上曝光", "发网上", "微博", "抖音", "头条",
        "12345", "12315", "市长热线", "信访", "环保局", "消协", "市场监管", "起诉", "律师", "法院", "仲裁",
    ),
    # pollution of the surroundings (污水, 死鱼): harm to neighbours and to the brand
    "pollution_words": (
        "污水", "废水", "排污", "污染", "黑烟", "刺鼻", "死鱼", "鱼都死", "鱼死", "庄稼都死", "毒气",
    ),
}  # fmt: skip
_NEGATED = re.compile(r"(?:没有|没|无|未|不会|不存在)[\u4e00-\u9fff]{0,2}$")
_SEVERITY_KEYS = frozenset({"major_loss_amount", "several_batches", *DEFAULT_WORDS})


@dataclass(frozen=True)
class SeveritySuggestion:
    severity: Severity
    reasons: tuple[str, ...]  # one Chinese sentence per rule that fired, for staff


@dataclass(frozen=True)
class SeverityRules:
    """``[severity]`` as checked at start-up: the rules that suggest 重大."""

    several_batches: int = 2
    major_loss_amount: Decimal = Decimal(50000)
    words: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_WORDS))


def parse_severity_rules(raw: Mapping[str, Any]) -> SeverityRules:
    """Read and check the ``[severity]`` table (once, in ``handlers.config.load_policy``)."""
    unknown = set(raw) - _SEVERITY_KEYS
    if unknown:
        raise PolicyError(f"severity.{sorted(unknown)[0]}: unknown setting")
    words: dict[str, tuple[str, ...]] = {}
    for rule, default in DEFAULT_WORDS.items():
        value = raw.get(rule, default)
        if not isinstance(value, list | tuple) or not all(isinstance(w, str) and w for w in value):
            raise PolicyError(f"severity.{rule}: a list of words, got {value!r}")
        words[rule] = tuple(value)
    several = raw.get("several_batches", 2)
    if isinstance(several, bool) or not isinstance(several, int) or several < 1:
        raise PolicyError(f"severity.several_batches: a whole number of at least 1, got {several!r}")
    amount = raw.get("major_loss_amount", 50000)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        raise PolicyError(f"severity.major_loss_amount: an amount in 元, got {amount!r}")
    return SeverityRules(several_batches=several, major_loss_amount=Decimal(str(amount)), words=words)


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
    rules: SeverityRules, *, batches: Sequence[str], texts: Sequence[str], loss: str | None
) -> SeveritySuggestion:
    """Suggest 一般 or 重大 from the batches, the free texts and the stated loss (staff confirm)."""
    reasons: list[str] = []
    if len(batches) >= rules.several_batches:
        reasons.append(render_message("intake/severity_reason", rule="several_batches", items=list(batches)))
    text = clean_text(" ".join(t for t in (*texts, loss or "") if t))
    for rule in ("serious_words", "safety_words", "injury_words", "media_words", "pollution_words"):
        hits = _found_words(text, rules.words[rule])
        if hits:
            reasons.append(render_message("intake/severity_reason", rule=rule, items=hits))
    counted = stated_batch_count(text)
    if len(batches) < rules.several_batches and counted is not None and counted >= rules.several_batches:
        reasons.append(render_message("intake/severity_reason", rule="several_batches", items=[f"{counted}批"]))
    stated = stated_loss(loss, texts)
    if stated is not None:  # any economic loss the customer states (seed 001 第六条); its amount says how much
        amount = max(stated_amounts(stated), default=None)
        large = amount is not None and amount > rules.major_loss_amount
        reasons.append(render_message(
            "intake/severity_reason", rule="loss", items=[_yuan(amount) if amount is not None else "",
                                                          _yuan(rules.major_loss_amount)],
            large=large, stated=stated[:40],
        ))
    return SeveritySuggestion(Severity.MAJOR if reasons else Severity.GENERAL, tuple(reasons))


_BATCH_COUNT = re.compile(rf"(?P<n>{NUMBER_PATTERN}|几)\s*(?:个)?批(?!次号|号)(?:次)?")
_LOSS_IN_TEXT = re.compile(r"(?:损失|赔了|赔偿了|罚款|罚了|扣了|多收|多算|白花|停工)[^，。,.\s]{0,12}")


def stated_batch_count(text: str) -> int | None:
    """How many batches the text says are affected ("两批一共十六吨" → 2, "好几批" → 3), if it says so."""
    best: int | None = None
    for m in _BATCH_COUNT.finditer(clean_text(text)):
        number = Decimal(3) if m.group("n") == "几" else to_number(m.group("n"))
        if number is not None and number == number.to_integral_value() and 1 <= number <= 1000:
            best = max(best or 0, int(number))
    return best


def stated_loss(loss: str | None, texts: Sequence[str]) -> str | None:
    """The economic loss the customer states: the loss answer (anything but 无), else a loss with an amount in
    the description ("被客户罚款八千"). None when no loss is stated."""
    if loss and loss.strip() and loss.strip() not in ("无", "没有", "暂无"):
        return loss.strip()
    for text in texts:
        m = _LOSS_IN_TEXT.search(clean_text(text or ""))
        if m is not None and (stated_amounts(m.group(0)) or "万" in m.group(0) or "千" in m.group(0)):
            return m.group(0)
    return None


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
    session: Session, complaint: Complaint, route: Route, policy: CompanyPolicy, *,
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
        # the description quotes the customer, who often types the number there too: masked as well
        "description": mask_phones_in(complaint.description),
        "attachments": attachment_count,
        "lead_office": department_name(session, route.lead_office, policy),
        "handling": department_name(session, route.handling_department, policy),
        "major": complaint.severity == Severity.MAJOR,
    }
    told: list[str] = []
    office = head_userids(session, route.lead_office, policy)
    if office:
        queue_staff_text(session, office, render_message("intake/staff_new_case", **common), now=now,
                         dedupe_key=f"new-case:{complaint.number}", complaint_id=complaint.id,
                         title=card_title(complaint, "new_case"), url=case_link(complaint))
        told += office
    else:
        log.warning("no head on record for %s: new case %s not announced", route.lead_office, complaint.number)
    if complaint.severity == Severity.MAJOR:
        management = management_userids(session, policy)
        if management:
            queue_staff_text(session, management, render_message("intake/staff_major", **common), now=now,
                             dedupe_key=major_notice_key(complaint), complaint_id=complaint.id,
                             title=card_title(complaint, "major"), url=case_link(complaint))
            told += management
        else:
            log.warning("no management on record: major case %s not escalated", complaint.number)
    return list(dict.fromkeys(told))
