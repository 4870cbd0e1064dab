"""Names (单位/姓名, 联系人)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from handlers.text.clean import clean_text
from handlers.text.parsed import Parsed
from handlers.text.words import yes_or_no

_NAME_LIMIT = 50
_NAME_PREFIX = re.compile(
    r"^(?:(?:我是|我叫|本人是?|我们是)|(?:单位名称|公司名称|单位|公司|姓名|名字|联系人)\s*[:：])\s*"
)


def _parse_person_or_company(text: str, hint: str) -> Parsed[str]:
    s = clean_text(text)
    s = _NAME_PREFIX.sub("", s).strip()
    s = re.sub(r"[。.!！]+$", "", s).strip()
    if not s or s.lower() in _NOT_NAMES or (yes_or_no(s) is not None):
        return Parsed.refuse(hint)  # "不用", "确认", "好的" answer a question, they are nobody's name
    if _SENTENCE.search(s) and not _ORGANISATION.search(s):
        return Parsed.refuse(hint)  # "我就是普通客户不想留名字…": a sentence, not a name
    if len(s) > _NAME_LIMIT:
        return Parsed.refuse("name_too_long", limit=_NAME_LIMIT, of=hint)
    if not any(unicodedata.category(char).startswith("L") for char in s):
        return Parsed.refuse(hint)
    return Parsed.ok(s, s)


#: Answers at a name step that are not a name (yes/no words are refused through yes_or_no as well).
_NOT_NAMES = frozenset({"不知道", "不清楚", "没有", "无", "匿名", "随便", "保密", "不想说", "不告诉你", "本人", "我"})
#: Words that make an answer a sentence: pronouns, verbs of saying/doing, particles (names rarely have them).
_SENTENCE = re.compile(r"[我你他她]|不想|不要|就是|处理|什么|怎么|为什么|已经|赶紧|[吧吗呢啊了]$")
_ORGANISATION = re.compile(r"公司|厂|集团|中心|商行|经销部|门市部|店|研究所|学校|医院|银行|合作社|工作室|项目部")
#: At the contact step these mean "the complainant themself" (the question says so).
_SELF = frozenset({"本人", "我本人", "我", "我自己", "自己", "就是我", "同上", "就我", "是我", "我就是"})


def parse_name(text: str, *, today: date) -> Parsed[str]:
    """Accept the complainant's company or name (单位/姓名): 1–50 characters with a letter in it.

    Only digits or punctuation is refused: that is a phone number or a slip, not a name.
    """
    del today
    return _parse_person_or_company(text, "name")


def parse_contact(text: str, *, today: date) -> Parsed[str | None]:
    """Accept a contact person (联系人) such as 王工, with the same rules as ``parse_name``."""
    del today
    s = re.sub(r"[。.!！，,\s]+", "", clean_text(text))
    s = re.sub(r"^(?:就是|就|也是)(?=我)", "", s)  # 就我自己, 就是我本人
    if s in _SELF or re.sub(r"^我", "", s) in _SELF or s in ("不用", "不需要", "没有", "无"):
        return Parsed.ok(None, "本人")  # the contact is the complainant: nothing more to record
    named: Parsed[str | None] = _parse_person_or_company(text, "contact")  # type: ignore[assignment]
    return named

