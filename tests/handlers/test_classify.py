"""Classification and routing from configuration: routes, severity suggestions, who is told."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from handlers.classify import (
    category_route,
    head_userids,
    management_userids,
    stated_amounts,
    suggest_severity,
)
from handlers.config import PolicyError, load_policy
from storage.db import Database
from storage.models import Severity, Staff
from tests.handlers.test_intake_chat import add_org


@pytest.mark.parametrize(("category", "lead", "handling", "preset"), [
    ("product_quality", "quality_office", "quality_office", "nonferrous-quality"),
    ("service_attitude", "general_office", "sales", "general"),
    ("delivery", "general_office", "logistics", "general"),
    ("management", "general_office", "general_office", "general"),
    ("other", "general_office", "general_office", "general"),
])
def test_default_routes(category: str, lead: str, handling: str, preset: str) -> None:
    route = category_route(category, load_policy({}))
    assert (route.lead_office, route.handling_department, route.sla_preset) == (lead, handling, preset)


def test_routes_come_from_configuration() -> None:
    company = {
        "routing": {"default_lead_office": "sales", "categories": {"product_quality": {"lead_office": "sales"},
                                                                   "other": {"handling_department": "logistics"}}},
        "sla": {"default_preset": "gas-utility", "categories": {"product_quality": "nonferrous-quality"}},
    }
    policy = load_policy(company)
    quality = category_route("product_quality", policy)
    assert (quality.lead_office, quality.handling_department, quality.sla_preset) == (
        "sales", "quality_office", "nonferrous-quality")
    other = category_route("other", policy)
    assert (other.lead_office, other.handling_department, other.sla_preset) == ("sales", "logistics", "gas-utility")


@pytest.mark.parametrize(("routing", "message"), [
    ({"categories": {"other": {"lead": "x"}}}, "routing.categories.other.lead: unknown setting"),
    ({"default_office": "x"}, "routing.default_office: unknown setting"),
    ({"categories": {"other": "sales"}}, "routing.categories.other: a table"),
])
def test_routing_mistakes_are_named(routing: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy({"routing": routing})


# -- severity --------------------------------------------------------------------------------------

def _suggest(*, batches: tuple[str, ...] = (), text: str = "", loss: str | None = None,
             company: dict[str, Any] | None = None) -> tuple[Severity, tuple[str, ...]]:
    s = suggest_severity(load_policy(company or {}).severity, batches=batches, texts=[text], loss=loss)
    return s.severity, s.reasons


def test_an_ordinary_complaint_is_general() -> None:
    assert _suggest(batches=("2311-08",), text="表面有几道划痕", loss="无") == (Severity.GENERAL, ())


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"batches": ("A1", "A2")}, "涉及多个批次（A1、A2）"),
    ({"text": "整批板材开裂"}, "描述提到严重缺陷（整批）"),
    ({"text": "车间差点起火"}, "涉及安全（起火）"),
    ({"text": "搬运工被割伤了手"}, "涉及人身伤害（割伤、被割）"),
    ({"text": "再不处理我就找记者曝光"}, "可能影响品牌声誉（记者、曝光）"),
    ({"loss": "停产两天，损失约6万元"}, "客户说明了经济损失（停产两天，损失约6万元），约6万元，超过5万元，金额较大"),
])
def test_each_rule_suggests_major_with_its_reason(kwargs: dict[str, Any], reason: str) -> None:
    severity, reasons = _suggest(**kwargs)
    assert severity == Severity.MAJOR and reasons == (reason,)


def test_negated_words_do_not_count() -> None:
    assert _suggest(text="还好没有人受伤，也没有安全事故") == (Severity.GENERAL, ())


def test_any_stated_loss_suggests_major_and_the_amount_decides_how_strongly() -> None:
    """Seed 001 第六条: economic loss to the customer is 重大; the configured amount only marks a large one."""
    severity, reasons = _suggest(loss="5万元")
    assert severity == Severity.MAJOR and "金额较大" not in reasons[0] and "核实" in reasons[0]
    severity, reasons = _suggest(loss="损失3000元", company={"severity": {"major_loss_amount": 2000}})
    assert severity == Severity.MAJOR and "金额较大" in reasons[0]
    assert _suggest(loss="无") == (Severity.GENERAL, ())


def test_word_lists_and_batch_count_are_configurable() -> None:
    company = {"severity": {"media_words": ["投诉到总部"], "several_batches": 3}}
    assert _suggest(text="找记者曝光", company=company)[0] == Severity.GENERAL
    assert _suggest(text="我要投诉到总部", company=company)[1] == ("可能影响品牌声誉（投诉到总部）",)
    assert _suggest(batches=("A1", "A2"), company=company)[0] == Severity.GENERAL


def test_unknown_severity_settings_are_named() -> None:
    with pytest.raises(PolicyError, match=r"severity\.loss_amount: unknown setting"):
        _suggest(company={"severity": {"loss_amount": 1}})


@pytest.mark.parametrize(("text", "amounts"), [
    ("损失约5万元", [Decimal(50000)]),
    ("5万", [Decimal(50000)]),
    ("赔了50000元", [Decimal(50000)]),
    ("三千块", [Decimal(3000)]),
    ("1.2w", [Decimal("12000.0")]),
    ("12,000元和两万元", [Decimal(12000), Decimal(20000)]),
    ("3吨货", []),
    ("无", []),
])
def test_stated_amounts(text: str, amounts: list[Decimal]) -> None:
    assert stated_amounts(text) == amounts


# -- who is told ------------------------------------------------------------------------------------

def test_heads_come_from_the_database_then_the_configuration(
    db: Database, company_config: dict[str, Any]
) -> None:
    with db.sessions() as s:
        assert head_userids(s, "quality_office", load_policy(company_config)) == ["li.na"]
        assert head_userids(s, "nowhere", load_policy(company_config)) == []
    add_org(db)
    with db.sessions() as s:
        assert head_userids(s, "quality_office", load_policy(company_config)) == ["db.li.na"]


def test_an_inactive_head_is_not_told(db: Database, company_config: dict[str, Any]) -> None:
    add_org(db)
    with db.transaction() as s:
        head = s.query(Staff).filter_by(wecom_userid="db.li.na").one()
        head.active = False
    with db.sessions() as s:
        policy = load_policy(company_config)
        assert head_userids(s, "quality_office", policy) == ["li.na"], "falls back to the org chart"


def test_management(db: Database, company_config: dict[str, Any]) -> None:
    with db.sessions() as s:
        assert management_userids(s, load_policy(company_config)) == ["chen.gang"]
    add_org(db)
    with db.sessions() as s:
        assert management_userids(s, load_policy(company_config)) == ["db.chen.gang"]
