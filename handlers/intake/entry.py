"""The intake form filled in on a page (all fields at once) rather than in the chat (one step at a time).

Two doors use it: staff registering a phone call or letter in the console (`handlers.intake.manual`) and a
visitor filing on the website (`handlers.intake.website`). Both read the SAME form as the conversation (the
policy's ``[form]``: its steps, option lists and conditions) with the SAME parsers
(:func:`handlers.intake.fields.parse_answer`), so a refused answer carries the chat's own refusal hint, and
the answers come out keyed by step exactly as the conversation keeps them, ready for
`handlers.intake.submit.register_complaint`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.intake.fields import parse_answer
from handlers.intake.form import Form, Step
from handlers.render import render_message


def entry_steps(form: Form, answers: Mapping[str, Any]) -> list[Step]:
    """The steps a page fills in for these answers (the form's applicable steps; evidence is uploaded)."""
    return [step for step in form.applicable(answers) if step.parser != "evidence"]


@dataclass
class FormEntry:
    """What was typed, read: the answers keyed by step (as the conversation keeps them), or errors keyed by
    step with the parser's own Chinese hint (the chat's refusal wording)."""

    answers: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    #: The steps that applied, in form order (conditions decided on the answers before each step).
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_entry(form: Form, raw: Mapping[str, str | Sequence[str]], *, today: dt.date) -> FormEntry:
    """Read the page's fields ``raw`` (step key → text, or the chosen codes of a choice step).

    Steps are read in form order and a step counts only when its condition (``when``) holds for the answers
    read before it, as in the conversation: a product-quality field sent with a service complaint is
    ignored, and a step conditioned on another choice (not only the category) is asked when that choice
    makes it apply. Choice steps take codes from the step's own option list (a select box cannot send
    anything else, but a crafted request can, so each code is checked); every other step is parsed from its
    text by the step's parser, exactly as the conversation parses a typed answer.
    """
    entry = FormEntry()
    for step in form.steps:
        if step.parser == "evidence" or not step.applies(entry.answers):
            continue
        entry.steps.append(step)
        if step.parser == "choice":
            entry.answers.update(_choice(step, _codes(raw.get(step.key)), entry.errors))
            continue
        value = raw.get(step.key)
        text = (value if isinstance(value, str) else " ".join(value or ())).strip()
        if not text:
            if step.required:
                entry.errors[step.key] = _says("required", step)
            continue
        parsed = parse_answer(step, text, today=today)
        if parsed.accepted:
            entry.answers[step.key] = parsed.value
        else:
            entry.errors[step.key] = parsed.hint or _says("unreadable", step)
    return entry


def _says(name: str, step: Step) -> str:
    """What a page says under a step it cannot take (``templates/messages/intake/entry/<name>``)."""
    return render_message(f"intake/entry/{name}", step=step)


def _codes(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return [v.strip() for v in values if v and v.strip()]


def _choice(step: Step, codes: list[str], errors: dict[str, str]) -> dict[str, Any]:
    known = {option.code for option in step.options}
    unknown = [code for code in codes if code not in known]
    if unknown:
        errors[step.key] = _says("unknown_option", step)
        return {}
    if not codes:
        if step.required:
            errors[step.key] = _says("required", step)
        return {}
    if not step.multi and len(codes) > 1:
        errors[step.key] = _says("one_option", step)
        return {}
    return {step.key: list(dict.fromkeys(codes))}


__all__ = ["FormEntry", "entry_steps", "read_entry"]
