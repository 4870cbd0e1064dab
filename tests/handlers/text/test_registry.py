"""The one list of parser names: the form, the fields and the start-up check all read handlers.text.PARSERS."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.config import PolicyError
from handlers.intake.form import DEFAULT_STEPS, build_form
from handlers.text import PARSERS, AnswerOptions, is_parser_name, parse_as, parser_names

MONDAY = date(2026, 11, 23)


def test_every_default_step_names_a_registered_parser() -> None:
    assert {step["parser"] for step in DEFAULT_STEPS} <= set(PARSERS)


@pytest.mark.parametrize("name", ["telephone", "free_text", "", None, 3, "Phone"])
def test_unknown_names_are_not_parsers(name: object) -> None:
    assert not is_parser_name(name)


def test_the_form_refuses_a_parser_the_registry_does_not_know() -> None:
    with pytest.raises(PolicyError, match=r"\(order_no\)\.parser: one of .*phone.* \(got 'telephone'\)"):
        build_form({"steps": [{"key": "order_no", "label": "订单号", "parser": "telephone"}]})


def test_the_form_accepts_every_registered_parser_for_a_new_step() -> None:
    for name in parser_names():
        if name == "choice":
            continue  # needs options; covered by the default form
        form = build_form({"steps": [{"key": "extra", "label": "附加", "parser": name, "required": False}]})
        assert form.step("extra").parser == name


def test_evidence_is_answered_by_files_not_text() -> None:
    assert not PARSERS["evidence"].takes_text
    with pytest.raises(ValueError, match="evidence"):
        parse_as("evidence", "好了", today=MONDAY)


def test_parse_as_reads_the_step_options() -> None:
    bare = parse_as("quantity", "3", today=MONDAY)
    assert not bare.accepted
    relaxed = parse_as("quantity", "3", today=MONDAY, step=AnswerOptions(unit_required=False))
    assert relaxed.accepted and relaxed.display == "3"
    assert parse_as("text", "无", today=MONDAY, step=AnswerOptions(allow_none=True)).value is None
    assert parse_as("address", "洛", today=MONDAY).hint.startswith("请填写单位地址")
