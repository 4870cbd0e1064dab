"""`load_policy`: every section of tousu.toml parsed and checked once, one error naming the key path."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import PACKAGED_EXAMPLE, load_company_config
from handlers.config import PolicyError, default_policy, load_policy


def test_the_example_and_the_empty_file_are_valid() -> None:
    example = load_policy(load_company_config(PACKAGED_EXAMPLE, dev=True))
    assert example.company.service_phone == "0379-6000 0000"
    assert example.org.department("quality_office") is not None
    assert default_policy().company.name == "本公司"
    assert default_policy() is default_policy()


@pytest.mark.parametrize(("raw", "message"), [
    ({"compnay": {}}, r"^compnay: unknown section"),
    ({"company": {"phone": "x"}}, r"^company\.phone: unknown setting"),
    ({"company": {"timezone": "Europe/Berlin"}}, r"^company\.timezone: only 'Asia/Shanghai'"),
    ({"intake": {"idle": 3}}, r"^intake: unknown setting"),
    ({"routing": {"categories": {"delivery": {"lead": "x"}}}}, r"^routing\.categories\.delivery\.lead: unknown"),
    ({"severity": {"safety_words": "起火"}}, r"^severity\.safety_words: a list of words"),
    ({"faq": [{"question": "q", "keywords": ["k"], "answer": "a", "link": "x"}]}, r"^faq\[0\]\.link: unknown"),
    ({"org": {"departments": [{"code": "a", "name": "A", "boss": "x"}]}}, r"^org\.departments\[0\]\.boss: unknown"),
    ({"sla": {"general": "3 weeks"}}, r"^sla\.general: unknown setting"),
    ({"sla": {"categories": {"delivery": "fast"}}}, r"no SLA preset 'fast'"),
    ({"workflow": {"quality_category": []}}, r"^workflow\.quality_category: unknown setting"),
    ({"calendar": {"confirmed": []}}, r"^calendar\.confirmed: unknown setting"),
])
def test_a_wrong_key_or_value_is_named(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message) as raised:
        load_policy(raw)
    assert "\n" not in str(raised.value)


def test_category_labels_come_from_the_form_options() -> None:
    """Bug 4: workflow notices named categories from the built-in list, intake from ``[form.options]``."""
    policy = load_policy({"form": {"options": {"category": [
        {"code": "product_quality", "label": "铝材质量"}, {"code": "other", "label": "其他事项"}]}}})
    assert policy.category_label("product_quality") == "铝材质量"
    assert policy.category_label("unknown") == "unknown"
    assert policy.category_label(None) == "—"
