"""``[wechat_templates]``: parsed and checked at start-up, one-line refusals naming the key, values fitted to
WeChat's keyword types, and the example file's documented block valid as written."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Any

import pytest

from bot.config import PACKAGED_EXAMPLE, ConfigError, load_settings
from handlers.config import PolicyError, load_policy
from handlers.workflow.customer_messages import (
    EXTENSION_QUESTION,
    PURPOSES,
    RESULT,
    STATUS_CHANGE,
    SURVEY,
    WeChatTemplate,
    purpose_of,
    template_time,
)

GOOD = {"template_id": "TPL-1", "fields": {"character_string1": "number", "thing2": "notice", "time3": "sent_at"}}


def parse(**purposes: Any) -> Any:
    return load_policy({"wechat_templates": purposes}).wechat_templates


def test_a_configured_purpose_and_the_unconfigured_ones() -> None:
    templates = parse(result=GOOD)

    assert templates.get(RESULT) == WeChatTemplate("TPL-1", GOOD["fields"])
    assert templates.get(SURVEY) is None and templates.get(STATUS_CHANGE) is None
    assert load_policy({}).wechat_templates.by_purpose == {}  # the default: none, so calls instead


@pytest.mark.parametrize(("section", "message"), [
    ({"results": GOOD}, "wechat_templates.results: unknown purpose; known: result, survey, extension_question, "
                        "status_change"),
    ({"result": "TPL-1"}, "wechat_templates.result: expected a table [wechat_templates.result]"),
    ({"result": {**GOOD, "url": "x"}}, "wechat_templates.result.url: unknown setting; known: template_id, fields"),
    ({"result": {"fields": GOOD["fields"]}}, "wechat_templates.result.template_id: required"),
    ({"result": {"template_id": " ", "fields": GOOD["fields"]}}, "wechat_templates.result.template_id: required"),
    ({"result": {"template_id": "T"}}, "wechat_templates.result.fields: required"),
    ({"survey": {"template_id": "T", "fields": {"thing1": "openid"}}},
     "wechat_templates.survey.fields.thing1: unknown variable 'openid'"),
    ({"survey": {"template_id": "T", "fields": {"time1": "number"}}},
     "wechat_templates.survey.fields.time1: a time keyword cannot hold 'number'"),
    ({"status_change": {"template_id": "T", "fields": {"phrase1": "notice"}}},
     "wechat_templates.status_change.fields.phrase1: a phrase keyword cannot hold 'notice'"),
    ({"status_change": {"template_id": "T", "fields": {"character_string1": "summary"}}},
     "wechat_templates.status_change.fields.character_string1: a character_string keyword cannot hold 'summary'"),
    ({"extension_question": {"template_id": "T", "fields": {"first": "notice"}}},
     "wechat_templates.extension_question.fields.first: WeChat ignores first/remark since 2023"),
    ({"result": {"template_id": "T", "fields": {"amount1": "number"}}},
     "wechat_templates.result.fields.amount1: not a template keyword"),
    ({"result": {"template_id": "T", "fields": {"thing": "number"}}},
     "wechat_templates.result.fields.thing: not a template keyword"),
])
def test_a_wrong_section_is_refused_naming_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy({"wechat_templates": section})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_section_must_be_a_table() -> None:
    with pytest.raises(PolicyError, match=r"^wechat_templates: expected a table"):
        load_policy({"wechat_templates": ["result"]})


def test_start_up_refuses_a_bad_template_section(company_config: dict[str, Any]) -> None:
    """load_settings is what create_app, the worker and every CLI command call first."""
    bad = {**company_config, "wechat_templates": {"result": {"template_id": "T", "fields": {"time2": "detail"}}}}
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"TOUSU_DEV": "1"}, overrides={"COMPANY": bad})
    assert "wechat_templates.result.fields.time2: a time keyword cannot hold 'detail'" in str(caught.value)


def test_the_example_files_documented_templates_are_valid() -> None:
    """The commented example in tousu.example.toml, uncommented, is a valid section for every purpose."""
    text = PACKAGED_EXAMPLE.read_text(encoding="utf-8")
    block = text[text.index("# [wechat_templates.result]"):].split("\n\n", 1)[0]  # up to the next blank line
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    templates = load_policy(tomllib.loads(uncommented)).wechat_templates
    assert set(templates.by_purpose) == set(PURPOSES)
    assert tomllib.loads(text).get("wechat_templates") is None  # off by default: calls until configured


def test_values_are_fitted_to_their_keyword_type() -> None:
    template = WeChatTemplate("T", {"thing1": "detail", "phrase2": "status", "character_string3": "number",
                                    "keyword4": "summary", "time5": "due_at"})
    data = template.data({"detail": "第一行\n第二行" + "很长" * 20, "status": "方案待审批中的", "number": "2602" * 10,
                          "summary": "x" * 50, "due_at": ""})

    assert data["thing1"]["value"] == ("第一行 第二行" + "很长" * 20)[:19] + "…"
    assert len(data["thing1"]["value"]) == 20 and "\n" not in data["thing1"]["value"]
    assert data["phrase2"]["value"] == "方案待审…"
    assert len(data["character_string3"]["value"]) == 32
    assert data["keyword4"]["value"] == "x" * 50
    assert data["time5"]["value"] == "—"


def test_times_read_as_wechat_time_keywords_want_them() -> None:
    assert template_time(dt.datetime(2026, 2, 24, 15, 59, tzinfo=dt.UTC)) == "2026年2月24日 23:59"
    assert template_time(None) == "待定"


@pytest.mark.parametrize(("template", "purpose"), [
    ("result", RESULT), ("extension_request", EXTENSION_QUESTION), ("survey_invite", SURVEY),
    ("survey_reminder", SURVEY), ("progress", STATUS_CHANGE), ("closed", STATUS_CHANGE),
    ("invalid", STATUS_CHANGE), ("reopened_customer", STATUS_CHANGE),
])
def test_each_customer_message_has_a_purpose(template: str, purpose: str) -> None:
    assert purpose_of(template) == purpose
