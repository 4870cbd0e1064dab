"""Yes / No (是否)."""

from __future__ import annotations

from datetime import date

from handlers.text.parsed import Parsed
from handlers.text.words import yes_or_no


def parse_yes_no(text: str, *, today: date) -> Parsed[bool]:
    """Accept a yes/no answer (是否): 好的, 可以, 同意, ok, 1 / 不同意, 算了, no, 2 (see handlers.text.words)."""
    del today
    answer = yes_or_no(text, digits=True)
    if answer is None:
        return Parsed.refuse("yes_no")
    return Parsed.ok(answer, "是" if answer else "否")
