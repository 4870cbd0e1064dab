"""Production batch numbers (生产批次/批号)."""

from __future__ import annotations

import re
from datetime import date

from handlers.text.clean import clean_text
from handlers.text.parsed import Parsed
from handlers.text.words import BATCH_WORDS

BATCH_CODE_PATTERN = r"[A-Za-z0-9]+(?:[-/_.][A-Za-z0-9]+)*"
_BATCH_PREFIX = re.compile(rf"^{BATCH_WORDS}\s*(?:是|为)?\s*[:#]?\s*", re.IGNORECASE)
_BATCH_IN_SENTENCE = re.compile(
    rf"{BATCH_WORDS}\s*(?:是|为|:|#)?\s*(?P<codes>{BATCH_CODE_PATTERN}(?:\s*(?:[,;、]|和|及)\s*{BATCH_CODE_PATTERN})*)",
    re.IGNORECASE,
)
_BATCH_SEPARATORS = re.compile(r"\s*(?:[,;、]|和|及)\s*|\s+")


def parse_batch(text: str, *, today: date) -> Parsed[tuple[str, ...]]:
    """Accept one or more production batch numbers (生产批次): 2311-08, B20231108, 批号：A12.

    Several batches matter (several batches make a complaint 重大), so the value is a tuple.
    Latin letters are upper-cased: batch codes are printed in capitals and customers type either.
    A code must contain a digit; "不知道" and the like get the hint that mentions 跳过.
    """
    del today
    s = clean_text(text)
    if not s or len(s) > 200:
        return Parsed.refuse("batch")
    s = _BATCH_PREFIX.sub("", s)
    s = re.sub(r"[。.!！]+$", "", s)
    inside = _BATCH_IN_SENTENCE.search(s)
    if inside is not None and inside.start() > 0:  # "标签上写的批号是 2311-02": the code after the batch word
        s = inside.group("codes")
    parts = [part for part in _BATCH_SEPARATORS.split(s) if part]
    if not parts or len(parts) > 20:
        return Parsed.refuse("batch")
    codes: list[str] = []
    for part in parts:
        part = _BATCH_PREFIX.sub("", part)
        if not re.fullmatch(BATCH_CODE_PATTERN, part) or not re.search(r"[0-9]", part):
            return Parsed.refuse("batch")
        if len(part) > 40 or re.fullmatch(r"[0-9]{1,2}", part):
            # "2 4" is a menu answer typed one step late, not two batches (which would suggest 重大)
            return Parsed.refuse("batch")
        code = part.upper()
        if code not in codes:
            codes.append(code)
    return Parsed.ok(tuple(codes), "、".join(codes))

