"""The parsers a form step may name (``[[form.steps]] parser = "…"``): the one list of them.

The form (handlers/intake/form.py) checks a step's ``parser`` with :func:`is_parser_name`, the intake
fields (handlers/intake/fields.py) parse an answer with :func:`parse_as`, and the start-up policy check
validates tousu.toml against the same :data:`PARSERS`. A parser reads the options it needs from the step
(anything shaped like :class:`StepOptions`); the others ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, Protocol, TypeGuard

from handlers.text.batch import parse_batch
from handlers.text.choices import ChoiceOption, parse_choice
from handlers.text.dates import parse_date
from handlers.text.free_text import FREE_TEXT_LIMIT, parse_free_text
from handlers.text.names import parse_contact, parse_name
from handlers.text.parsed import Parsed
from handlers.text.phone import parse_phone
from handlers.text.quantity import parse_quantity
from handlers.text.yes_no import parse_yes_no


class StepOptions(Protocol):
    """What a parser may read from the step it answers (handlers.intake.form.Step has all of it)."""

    @property
    def options(self) -> tuple[ChoiceOption, ...]: ...
    @property
    def multi(self) -> bool: ...
    @property
    def min_length(self) -> int: ...
    @property
    def max_length(self) -> int: ...
    @property
    def allow_none(self) -> bool: ...
    @property
    def unit_required(self) -> bool: ...


@dataclass(frozen=True)
class AnswerOptions:
    """Step options with the form's defaults, for callers that have no step (tests, previews)."""

    options: tuple[ChoiceOption, ...] = ()
    multi: bool = False
    min_length: int = 1
    max_length: int = FREE_TEXT_LIMIT
    allow_none: bool = False
    unit_required: bool = True


ParseAnswer = Callable[[str, date, StepOptions], Parsed[Any]]


@dataclass(frozen=True)
class ParserKind:
    """One parser a step may name. ``parse`` is None for a step answered by sending files, not text."""

    name: str
    parse: ParseAnswer | None
    takes_text: bool = True


def _address(text: str, today: date, step: StepOptions) -> Parsed[Any]:
    parsed = parse_free_text(text, today=today, min_length=max(step.min_length, 2), max_length=step.max_length)
    return parsed if parsed.accepted else Parsed.refuse("address")


def _text(text: str, today: date, step: StepOptions) -> Parsed[Any]:
    return parse_free_text(
        text, today=today, min_length=step.min_length, max_length=min(step.max_length, FREE_TEXT_LIMIT),
        allow_none=step.allow_none,
    )


#: Every parser a step may name, by name.
PARSERS: Mapping[str, ParserKind] = MappingProxyType({
    kind.name: kind for kind in (
        ParserKind("name", lambda text, today, step: parse_name(text, today=today)),
        ParserKind("contact", lambda text, today, step: parse_contact(text, today=today)),
        ParserKind("phone", lambda text, today, step: parse_phone(text, today=today)),
        ParserKind("text", _text),
        ParserKind("address", _address),
        ParserKind("date", lambda text, today, step: parse_date(text, today=today)),
        ParserKind("quantity",
                   lambda text, today, step: parse_quantity(text, today=today, unit_required=step.unit_required)),
        ParserKind("batch", lambda text, today, step: parse_batch(text, today=today)),
        ParserKind("choice",
                   lambda text, today, step: parse_choice(text, today=today, options=step.options, multi=step.multi)),
        ParserKind("yes_no", lambda text, today, step: parse_yes_no(text, today=today)),
        ParserKind("evidence", None, takes_text=False),  # photos and files; the conversation counts them
    )
})  # fmt: skip


def is_parser_name(name: object) -> TypeGuard[str]:
    """True when ``name`` is a parser a form step may use (the start-up check asks this)."""
    return isinstance(name, str) and name in PARSERS


def parser_names() -> list[str]:
    """The parser names, sorted (for error messages that list them)."""
    return sorted(PARSERS)


def parse_as(name: str, text: str, *, today: date, step: StepOptions = AnswerOptions()) -> Parsed[Any]:
    """Parse ``text`` with the parser called ``name``, reading the options ``step`` gives.

    Raises ``KeyError`` for an unknown name and ``ValueError`` for a parser that takes no text (evidence):
    both are programming errors, since the form was checked at start-up.
    """
    kind = PARSERS[name]
    if kind.parse is None:
        raise ValueError(f"parser {name!r} does not take text")
    return kind.parse(text, today, step)
