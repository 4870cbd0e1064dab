"""Free text (描述, 损失情况 …): trimmed, capped, the customer's words kept as written."""

from __future__ import annotations

import re
from datetime import date

from handlers.text.clean import clean_text
from handlers.text.parsed import Parsed

FREE_TEXT_LIMIT = 1000
_NONE_WORDS = frozenset({"无", "没有", "暂无", "没", "没有了", "无损失", "没有损失"})
_DISPLAY_LIMIT = 60


def parse_free_text(
    text: str,
    *,
    today: date,
    min_length: int = 1,
    max_length: int = FREE_TEXT_LIMIT,
    allow_none: bool = False,
) -> Parsed[str | None]:
    """Accept a description (问题描述、损失情况 …): trimmed, whitespace collapsed, capped.

    Text beyond ``max_length`` (at most 1000) is cut rather than refused: asking someone on a phone
    to shorten a long story loses it. The display is short for the summary and says when the text
    was cut. With ``allow_none``, 无/没有/暂无 is an explicit "none" (value ``None``, display 无).
    """
    del today
    limit = max(1, min(max_length, FREE_TEXT_LIMIT))
    s = clean_text(text, fold=False)  # the customer's words as written, Chinese punctuation included
    if allow_none and re.sub(r"[.。!！]+$", "", s) in _NONE_WORDS:
        return Parsed.ok(None, "无")
    if not s:
        return Parsed.refuse("text_empty", allow_none=allow_none)
    if len(s) < min_length:
        return Parsed.refuse("text_too_short", min_length=min_length, allow_none=allow_none)
    truncated = len(s) > limit
    value = s[:limit]
    display = value if len(value) <= _DISPLAY_LIMIT else value[:_DISPLAY_LIMIT] + "…"
    if truncated:
        display += f"（内容过长，已保留前{limit}字）"
    return Parsed.ok(value, display)

