"""Word lists that more than one reader of customer text needs: one list per rule.

These are data for MATCHING what a customer typed, not wording shown to anyone (that lives in templates/).

* yes / no: the yes/no parser, the summary's 确认 and the 您是要投诉吗？ offer all read them through
  :func:`yes_or_no`;
* batch words (批次, 批号, lot …): the batch parser strips them off an answer and extraction finds a batch
  number after them.

The extension-consent vocabulary (handlers/workflow/consent.py) is deliberately not this list: a follower
confirming an intake form must not agree to an extension by the same word.
"""

from __future__ import annotations

import re

from handlers.text.clean import clean_text

#: Whole answers that mean yes. Digits are not here: "1" means yes only where the question says so
#: (the yes/no parser), and is a step number at the summary.
YES_WORDS = frozenset(
    {
        "是", "对", "好", "行", "可以", "同意", "确认", "确定", "没问题", "嗯", "要", "需要",
        "愿意", "ok", "okay", "y", "yes", "👌", "👍", "[ok]", "[强]", "确认提交", "提交", "确认无误", "无误",
    }
)  # fmt: skip
#: Whole answers that mean no. "不同意" contains "同意": only whole answers count.
NO_WORDS = frozenset(
    {
        "否", "不", "不是", "不对", "不同意", "不要", "不用", "不行", "不可以", "不好", "不需要",
        "不愿意", "拒绝", "算了", "no", "n", "不确认",
    }
)  # fmt: skip

#: The Chinese batch-number labels, longest first (生产批次号 before 批次), as a regex alternation: extraction
#: also stops a product name and strips a label at them, where the English words would match inside other words.
BATCH_LABELS = "生产批次号|生产批号|生产批次|批次号|批号|批次"
#: A batch-number label as customers write it, longest first: the Chinese ones, then lot / batch (no.).
BATCH_WORDS = rf"(?:{BATCH_LABELS}|lot\s*no\.?|lot|batch\s*no\.?|batch)"

_PUNCTUATION = re.compile(r"[\s.,!?~。，！？…、]+")
_LEAD = re.compile(r"^(?:我们?|那就|那|就)")
_PARTICLES = re.compile(r"(?:的|啊|呀|吧|呢|哈|了)+$")


def yes_or_no(text: str | None, *, digits: bool = False) -> bool | None:
    """True for a yes (好的, 可以, 同意, ok), False for a no (不同意, 算了, no), None for anything else.

    Only whole answers count. With ``digits``, 1 is yes and 2 is no (where the question offers that).
    """
    if text is None:
        return None
    s = _LEAD.sub("", _PUNCTUATION.sub("", clean_text(text).lower()))
    # Try the answer as typed first: 算了 must not lose its 了 and become 算.
    for candidate in (s, _PARTICLES.sub("", s)):
        if len(candidate) > 1 and len(set(candidate)) == 1:
            candidate = candidate[0]  # 嗯嗯嗯, 好好好
        if candidate in YES_WORDS or (digits and candidate == "1"):
            return True
        if candidate in NO_WORDS or (digits and candidate == "2"):
            return False
    return None
