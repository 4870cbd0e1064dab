"""Reading what customers type (文本解析): the field parsers and the extraction from a first message.

People answer the bot on a phone keyboard: full-width digits, Chinese numerals, relative dates, several
choices in one line. Each parser turns one answer into a normalised value and a short display, or refuses
it with a hint (the wording lives in ``templates/messages/intake/hint/``). :mod:`handlers.text.extract`
reads several fields at once out of a first message with the same scanners.

Parsers never raise: a message that does not fit the step gets the step's question again with the hint
(CONVERSATION.md), never an error. Every parser has the shape ``parse_x(text, *, today, <options>) -> Parsed``;
``today`` is passed in by the caller (resolved in Asia/Shanghai) so that relative dates are testable with a
fixed clock. :data:`PARSERS` (``registry.py``) is the one list of the parsers a form step may name.

Callers import from this package; the modules are split by kind of answer (``phone``, ``dates``,
``quantity``, ``choices`` with the built-in ``options``, ``yes_no``, ``free_text``, ``names``, ``batch``),
with ``clean`` (keyboard clean-up, numbers), ``words`` (word lists shared with the conversation) and
``parsed`` (the result type) under them.
"""

from __future__ import annotations

from handlers.text.batch import BATCH_CODE_PATTERN, parse_batch
from handlers.text.choices import ChoiceOption, ChoiceOptions, find_terms, parse_choice
from handlers.text.clean import NUMBER_PATTERN, clean_text, to_number
from handlers.text.dates import DateMatch, find_dates, parse_date
from handlers.text.free_text import FREE_TEXT_LIMIT, parse_free_text
from handlers.text.names import parse_contact, parse_name
from handlers.text.options import (
    CATEGORY_OPTIONS,
    DEFAULT_QUALITY_CATEGORIES,
    DEMAND_OPTIONS,
    PROBLEM_TYPE_OPTIONS,
)
from handlers.text.parsed import Hint, Parsed
from handlers.text.phone import Phone, parse_phone
from handlers.text.quantity import MAX_QUANTITY, UNIT_ALIASES, Quantity, parse_quantity
from handlers.text.registry import (
    PARSERS,
    AnswerOptions,
    ParserKind,
    StepOptions,
    is_parser_name,
    parse_as,
    parser_names,
)
from handlers.text.words import BATCH_WORDS, NO_WORDS, YES_WORDS, yes_or_no
from handlers.text.yes_no import parse_yes_no

__all__ = [
    "BATCH_CODE_PATTERN",
    "BATCH_WORDS",
    "CATEGORY_OPTIONS",
    "DEFAULT_QUALITY_CATEGORIES",
    "DEMAND_OPTIONS",
    "FREE_TEXT_LIMIT",
    "MAX_QUANTITY",
    "NO_WORDS",
    "NUMBER_PATTERN",
    "PARSERS",
    "PROBLEM_TYPE_OPTIONS",
    "UNIT_ALIASES",
    "YES_WORDS",
    "AnswerOptions",
    "ChoiceOption",
    "ChoiceOptions",
    "DateMatch",
    "Hint",
    "Parsed",
    "ParserKind",
    "Phone",
    "Quantity",
    "StepOptions",
    "clean_text",
    "find_dates",
    "find_terms",
    "is_parser_name",
    "parse_as",
    "parse_batch",
    "parse_choice",
    "parse_contact",
    "parse_date",
    "parse_free_text",
    "parse_name",
    "parse_phone",
    "parse_quantity",
    "parse_yes_no",
    "parser_names",
    "to_number",
    "yes_or_no",
]
