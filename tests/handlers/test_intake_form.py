"""The form is data: defaults per DOMAIN.md / seed 001 第五条, and every override from tousu.toml."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.config import PolicyError, load_policy
from handlers.intake import build_form
from handlers.intake.form import DEFAULT_STEPS
from storage.db import Database
from tests.handlers.test_intake_chat import Chat

QUALITY = {"category": ["product_quality"]}
SERVICE = {"category": ["service_attitude"]}


def keys(form: Any, answers: dict[str, Any]) -> list[str]:
    return [step.key for step in form.applicable(answers)]


def test_default_quality_path() -> None:
    assert keys(build_form(), QUALITY) == [
        "category", "complainant_name", "contact_person", "phone", "address", "product_name", "spec_model",
        "batch", "purchase_date", "quantity", "problem_type", "description", "usage_scenario", "loss", "demands",
        "evidence",
    ]


def test_default_other_paths_skip_the_product_steps() -> None:
    expected = ["category", "complainant_name", "contact_person", "phone", "address", "description", "loss",
                "demands", "evidence"]
    assert keys(build_form(), SERVICE) == expected
    assert keys(build_form(), {"category": ["other"]}) == expected


def test_required_and_optional_defaults() -> None:
    form = build_form()
    optional = {s.key for s in form.steps if not s.required}
    assert optional == {"contact_person", "address", "spec_model", "batch", "usage_scenario", "evidence"}
    assert form.step("demands").multi and form.step("loss").allow_none
    assert [o.label for o in form.step("category").options][:3] == ["产品质量", "服务态度", "交付物流"]


def test_next_step_and_missing() -> None:
    form = build_form()
    answers: dict[str, Any] = {"category": ["service_attitude"], "complainant_name": "张三", "contact_person": None}
    assert form.next_step(answers).key == "phone"  # type: ignore[union-attr]
    assert [s.key for s in form.missing_required(answers)] == ["phone", "description", "loss", "demands"]
    answers |= {"phone": {}, "address": None, "description": "x", "loss": None, "demands": ["other"],
                "evidence": None}
    assert form.next_step(answers) is None and form.missing_required(answers) == []


def test_steps_can_be_disabled_changed_and_added() -> None:
    form = build_form({"steps": [
        {"key": "usage_scenario", "enabled": False},
        {"key": "purchase_date", "required": False, "prompt": "大概什么时候买的？"},
        {"key": "order_no", "label": "订单号", "parser": "text", "required": False, "after": "phone",
         "max_length": 40},
        {"key": "site", "label": "现场", "parser": "yes_no", "before": "description", "when": QUALITY},
    ]})
    assert keys(form, QUALITY) == [
        "category", "complainant_name", "contact_person", "phone", "order_no", "address", "product_name",
        "spec_model", "batch", "purchase_date", "quantity", "problem_type", "site", "description", "loss",
        "demands", "evidence",
    ]
    assert "site" not in keys(form, SERVICE)
    assert form.step("purchase_date").required is False
    assert form.step("purchase_date").prompt == "大概什么时候买的？"
    assert form.step("order_no").max_length == 40 and not form.step("order_no").is_complaint_field


def test_an_existing_step_can_be_moved() -> None:
    form = build_form({"steps": [{"key": "phone", "after": "category"}]})
    assert keys(form, SERVICE)[:3] == ["category", "phone", "complainant_name"]
    assert form.step("phone").parser == "phone"


def test_new_steps_go_before_the_evidence_by_default() -> None:
    form = build_form({"steps": [{"key": "order_no", "label": "订单号", "parser": "text"}]})
    assert keys(form, SERVICE)[-2:] == ["order_no", "evidence"]


def test_options_can_be_replaced_or_taught_words() -> None:
    form = build_form({
        "options": {"demand": [{"code": "replace", "label": "换货"},
                               {"code": "refund", "label": "退款", "synonyms": ["退钱"]}]},
        "synonyms": {"category": {"surroundings": ["灰大"]}},
    })
    assert [o.label for o in form.step("demands").options] == ["换货", "退款"]
    surroundings = next(o for o in form.step("category").options if o.code == "surroundings")
    assert "灰大" in surroundings.synonyms and "噪音" in surroundings.synonyms


def test_inline_options_on_a_new_choice_step() -> None:
    options = [{"code": "dealer", "label": "经销商"}, {"code": "direct", "label": "直销"}]
    form = build_form({"steps": [{"key": "channel", "label": "购买渠道", "parser": "choice", "options": options}]})
    assert [o.code for o in form.step("channel").options] == ["dealer", "direct"]


@pytest.mark.parametrize(("config", "message"), [
    ({"steps": [{"key": "x", "label": "X", "parser": "magic"}]}, r"parser: one of"),
    ({"steps": [{"key": "x", "parser": "text"}]}, r"label"),
    ({"steps": [{"key": "1x", "label": "X", "parser": "text"}]}, r"key: a short identifier"),
    ({"steps": [{"label": "X"}]}, r"form.steps\[0\]: a table with at least key"),
    ({"steps": [{"key": "phone", "requried": False}]}, r"unknown setting\(s\) requried"),
    ({"steps": [{"key": "phone", "required": "no"}]}, r"required: true or false"),
    ({"steps": [{"key": "x", "label": "X", "parser": "text", "after": "nowhere"}]}, r"after: no step 'nowhere'"),
    ({"steps": [{"key": "x", "label": "X", "parser": "choice", "options": "colours"}]}, r"no option list called"),
    ({"steps": [{"key": "x", "label": "X", "parser": "text", "options": "demand"}]}, r"only choice steps"),
    ({"steps": [{"key": "x", "label": "X", "parser": "text", "when": {"later": ["a"]}}]}, r"not an earlier step"),
    ({"steps": [{"key": "x", "label": "X", "parser": "text", "when": {"category": ["nope"]}}]}, r"unknown code"),
    ({"steps": [{"key": "category", "enabled": False}]}, r"category step"),
    ({"steps": [{"key": "category", "multi": True}]}, r"category step"),
    ({"steps": [{"key": "x", "label": "X", "parser": "text", "max_length": 5000}]}, r"max_length"),
    ({"options": {"demand": []}}, r"form.options.demand"),
    ({"options": {"demand": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]}}, r"appears twice"),
    ({"synonyms": {"colours": {"a": ["b"]}}}, r"no option list called 'colours'"),
    ({"synonyms": {"category": {"nope": ["b"]}}}, r"no option with code 'nope'"),
    ({"stepz": []}, r"form: unknown setting"),
])
def test_configuration_mistakes_are_named(config: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy({"form": config})


def test_the_form_is_part_of_the_policy() -> None:
    company: dict[str, Any] = {"form": {"steps": [{"key": "usage_scenario", "enabled": False}]}}
    assert not load_policy(company).form.has("usage_scenario")
    assert load_policy({}).form.has("usage_scenario")


def test_quality_steps_follow_the_policys_quality_categories() -> None:
    """One fact, ``[workflow] quality_categories``: the form asks the product steps of exactly those categories,
    and routing sends them to the quality office by default."""
    policy = load_policy({"workflow": {"quality_categories": ["product_quality", "delivery"]}})
    assert policy.form.step("batch").when == {"category": ("delivery", "product_quality")}
    assert policy.routing.route("delivery").lead_office == "quality_office"
    assert policy.workflow.conditions_for("delivery") == frozenset({"quality_objection"})
    assert not load_policy({"workflow": {"quality_categories": []}}).form.has("batch")


def test_the_defaults_are_plain_data() -> None:
    assert all(isinstance(entry["key"], str) for entry in DEFAULT_STEPS)


def test_intake_settings() -> None:
    settings = load_policy({"intake": {"idle_minutes": 10, "working_hours": ["09:00", "18:00"]}}).intake
    assert settings.idle_after.total_seconds() == 600 and settings.work_start.hour == 9
    for bad, message in [({"idle_minutes": 0}, "idle_minutes"), ({"working_hours": ["18:00", "09:00"]}, "before"),
                         ({"working_hours": ["9am", "5pm"]}, "a time such as"), ({"idle": 3}, "unknown setting")]:
        with pytest.raises(PolicyError, match=message):
            load_policy({"intake": bad})


# -- a configured form, in conversation -------------------------------------------------------------

def test_a_configured_form_is_what_the_customer_is_asked(db: Database, company_config: dict[str, Any]) -> None:
    company = company_config | {"form": {"steps": [
        {"key": "address", "enabled": False},
        {"key": "contact_person", "enabled": False},
        {"key": "order_no", "label": "订单号", "parser": "text", "required": False, "after": "phone",
         "prompt": "订单号或合同号？"},
    ]}}
    chat = Chat(db, company)
    chat.say("投诉", "2", "张三")
    assert "订单号或合同号？" in chat.send("13800138000")
    assert "描述您遇到的问题" in chat.send("HT-001")
    summary = chat.say("业务员态度很差", "无", "道歉", "跳过")
    assert "订单号：HT-001" in summary and "联系人" not in summary and "单位地址" not in summary


def test_steps_asked_together_are_configurable_and_checked() -> None:
    """together (issue 13): later steps read from the same answer; [] asks each on its own; a switched-off or
    earlier step is left out; anything but a list of keys stops start-up naming the setting."""
    default = build_form()
    assert default.step("product_name").together == ("spec_model", "batch")
    assert default.step("purchase_date").together == ("quantity",)
    custom = build_form({"steps": [{"key": "product_name", "together": ["spec_model"]},
                                   {"key": "purchase_date", "together": []},
                                   {"key": "batch", "enabled": False}]})
    assert custom.step("product_name").together == ("spec_model",)
    assert custom.step("spec_model").together == () and custom.step("purchase_date").together == ()
    moved = build_form({"steps": [{"key": "phone", "after": "category"}]})
    assert moved.step("complainant_name").together == ()
    with pytest.raises(PolicyError, match=r"form.steps \(product_name\).together"):
        build_form({"steps": [{"key": "product_name", "together": "spec_model"}]})
