"""One step's answer: parsed by the step's parser, kept as JSON in the draft, written to the complaint.

Parsers live in :mod:`handlers.text` (:data:`handlers.text.PARSERS`, by the name a step gives); this module
turns the parsed value into something the draft's JSON column can hold (and back).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from handlers.intake.form import Step
from handlers.text import Parsed, Phone, Quantity, clean_text, parse_as

_COLUMN_LIMITS = {"complainant_name": 100, "contact_person": 64, "product_name": 200, "spec_model": 200, "address": 300}


def parse_answer(step: Step, text: str, *, today: dt.date) -> Parsed[Any]:
    """Parse ``text`` as the answer to ``step``; the value is JSON-ready (see :func:`to_json`)."""
    parsed = parse_as(step.parser, text, today=today, step=step)
    if not parsed.accepted and step.parser == "choice" and not step.multi and step.seeds_description:
        # two problem types ("包装破损 运输损坏"): the first is the answer, the words start the description
        several = parse_as("choice", text, today=today, step=replace(step, multi=True))
        if several.accepted and several.value:
            first = several.value[0]
            label = next((o.label for o in step.options if o.code == first), first)
            return Parsed.ok([first], label)
    if not parsed.accepted:
        return parsed
    return Parsed.ok(to_json(parsed.value), parsed.display)


def to_json(value: Any) -> Any:
    """Parser values as JSON: Phone → {e164, ext}, date → ISO, Quantity → {amount, unit}, tuples → lists."""
    if isinstance(value, Phone):
        return {"e164": value.e164, "ext": value.extension}
    if isinstance(value, Quantity):
        return {"amount": str(value.amount), "unit": value.unit}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def is_free_text_choice(step: Step, text: str) -> bool:
    """True when a choice was made in words ("表面有划痕") rather than by number or label.

    Such an answer says something about the problem, so steps marked ``seeds_description`` keep it as
    the start of the description (CONVERSATION.md).
    """
    cleaned = clean_text(text)
    if len(cleaned) < 4:
        return False
    labels = {option.label for option in step.options}
    tokens = [t for t in re.split(r"[\s,;、，和及]+", cleaned) if t]
    return not all(token.isdigit() or token in labels for token in tokens)


def complaint_values(steps: list[Step], answers: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split answers into Complaint column values and extra fields (keys the model has no column for).

    Only the given (applicable) steps count: answers to steps a changed category made inapplicable are
    left out.
    """
    columns: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for step in steps:
        if step.parser == "evidence":
            continue
        value = answers.get(step.key)
        if not step.is_complaint_field:
            if value is not None:
                extras[step.key] = value
            continue
        if value is None:
            continue
        key = step.key
        if key == "phone":
            columns["phone"] = value["e164"]
            columns["phone_ext"] = value.get("ext")
        elif key == "quantity":
            columns["quantity"] = decimal.Decimal(value["amount"])
            columns["quantity_unit"] = value.get("unit")
        elif key == "purchase_date":
            columns["purchase_date"] = dt.date.fromisoformat(value)
        elif key == "batch":
            columns["batch"] = _cap("、".join(value) if isinstance(value, list) else str(value), 100)
        elif key == "category" or key == "problem_type":
            columns[key] = value[0] if isinstance(value, list) else str(value)
        elif key == "demands":
            columns["demands"] = list(value) if isinstance(value, list) else [value]
        elif key in ("complainant_name", "contact_person", "product_name", "spec_model", "address"):
            columns[key] = _cap(_text(value), _COLUMN_LIMITS[key])
        else:  # description, usage_scenario, loss: free text
            columns[key] = _text(value)
    return columns, extras


def _text(value: Any) -> str:
    if isinstance(value, Mapping):  # an address answered with a location
        return str(value.get("label") or "")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
