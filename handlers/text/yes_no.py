"""Yes / No (是否)."""

from __future__ import annotations

import re
from datetime import date

from handlers.text.clean import clean_text
from handlers.text.parsed import Parsed

YES_NO_HINT = "请回复“是”或“否”（也可回复 1 表示是，2 表示否）"
_YES_WORDS = frozenset(
    {
        "是", "对", "好", "行", "可以", "同意", "确认", "确定", "没问题", "嗯", "要", "需要",
        "愿意", "ok", "okay", "y", "yes", "1", "👌", "👍", "[ok]", "[强]", "确认提交", "提交",
    }
)  # fmt: skip
_NO_WORDS = frozenset(
    {
        "否", "不", "不是", "不对", "不同意", "不要", "不用", "不行", "不可以", "不好", "不需要",
        "不愿意", "拒绝", "算了", "no", "n", "2", "不确认",
    }
)  # fmt: skip


def parse_yes_no(text: str, *, today: date) -> Parsed[bool]:
    """Accept a yes/no answer (是否): 好的, 可以, 同意, ok, 1 / 不同意, 算了, no, 2.

    Only whole answers count: "不同意" contains "同意", so substring matching would invert it.
    """
    del today
    s = clean_text(text).lower()
    s = re.sub(r"[\s.,!?~。，！？…、]+", "", s)
    s = re.sub(r"^(?:我们?|那就|那|就)", "", s)
    # Try the answer as typed first: 算了 must not lose its 了 and become 算.
    for candidate in (s, re.sub(r"(?:的|啊|呀|吧|呢|哈|了)+$", "", s)):
        if len(candidate) > 1 and len(set(candidate)) == 1:
            candidate = candidate[0]  # 嗯嗯嗯, 好好好
        if candidate in _YES_WORDS:
            return Parsed.ok(True, "是")
        if candidate in _NO_WORDS:
            return Parsed.ok(False, "否")
    return Parsed.refuse(YES_NO_HINT)

