"""Reading what customers type (文本解析): the field parsers and the extraction from a first message.

People answer the bot on a phone keyboard: full-width digits, Chinese numerals, relative dates, several
choices in one line. Each parser turns one answer into a normalised value and a short display, or refuses
it with a hint (the wording lives in ``templates/messages/intake/hint/``). :mod:`handlers.text.extract`
reads several fields at once out of a first message with the same scanners.

Callers import from this package; the modules are split by kind of answer.
"""

from __future__ import annotations

from handlers.text.parsers import (
    BATCH_CODE_PATTERN,
    CATEGORY_OPTIONS,
    DEMAND_OPTIONS,
    FREE_TEXT_LIMIT,
    MAX_QUANTITY,
    NUMBER_PATTERN,
    PARSERS,
    PROBLEM_TYPE_OPTIONS,
    UNIT_ALIASES,
    ChoiceOption,
    ChoiceOptions,
    DateMatch,
    Parsed,
    Phone,
    Quantity,
    choice_hint,
    clean_text,
    find_dates,
    find_terms,
    parse_batch,
    parse_choice,
    parse_contact,
    parse_date,
    parse_free_text,
    parse_name,
    parse_phone,
    parse_quantity,
    parse_yes_no,
    to_number,
)

__all__ = [
    "BATCH_CODE_PATTERN",
    "CATEGORY_OPTIONS",
    "DEMAND_OPTIONS",
    "FREE_TEXT_LIMIT",
    "MAX_QUANTITY",
    "NUMBER_PATTERN",
    "PARSERS",
    "PROBLEM_TYPE_OPTIONS",
    "UNIT_ALIASES",
    "ChoiceOption",
    "ChoiceOptions",
    "DateMatch",
    "Parsed",
    "Phone",
    "Quantity",
    "choice_hint",
    "clean_text",
    "find_dates",
    "find_terms",
    "parse_batch",
    "parse_choice",
    "parse_contact",
    "parse_date",
    "parse_free_text",
    "parse_name",
    "parse_phone",
    "parse_quantity",
    "parse_yes_no",
    "to_number",
]
