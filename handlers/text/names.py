"""Names (单位/姓名, 联系人)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from handlers.text.clean import clean_text
from handlers.text.parsed import Parsed

_NAME_LIMIT = 50
_NAME_PREFIX = re.compile(
    r"^(?:(?:我是|我叫|本人是?|我们是)|(?:单位名称|公司名称|单位|公司|姓名|名字|联系人)\s*[:：])\s*"
)


def _parse_person_or_company(text: str, hint: str) -> Parsed[str]:
    s = clean_text(text)
    s = _NAME_PREFIX.sub("", s).strip()
    s = re.sub(r"[。.!！]+$", "", s).strip()
    if not s:
        return Parsed.refuse(hint)
    if len(s) > _NAME_LIMIT:
        return Parsed.refuse("name_too_long", limit=_NAME_LIMIT, of=hint)
    if not any(unicodedata.category(char).startswith("L") for char in s):
        return Parsed.refuse(hint)
    return Parsed.ok(s, s)


def parse_name(text: str, *, today: date) -> Parsed[str]:
    """Accept the complainant's company or name (单位/姓名): 1–50 characters with a letter in it.

    Only digits or punctuation is refused: that is a phone number or a slip, not a name.
    """
    del today
    return _parse_person_or_company(text, "name")


def parse_contact(text: str, *, today: date) -> Parsed[str]:
    """Accept a contact person (联系人) such as 王工, with the same rules as ``parse_name``."""
    del today
    return _parse_person_or_company(text, "contact")

