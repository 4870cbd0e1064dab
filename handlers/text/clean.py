"""Cleaning what a phone keyboard produces, and reading numbers (数字/汉字数字) out of it."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import cn2an

_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣－"})
_WHITESPACE = re.compile(r"\s+")


def clean_text(text: str, *, fold: bool = True) -> str:
    """Normalise what a phone keyboard produces so patterns can be written once.

    NFKC folds full-width digits and letters (１３８ → 138), circled numbers (② → 2) and full-width
    punctuation (：，（） → :,()). Control characters and lone surrogates are dropped: they cannot be
    shown back and would break storage as UTF-8. Runs of whitespace become one space.
    ``fold=False`` keeps the characters as typed (a description keeps its Chinese punctuation).
    """
    if fold:
        text = unicodedata.normalize("NFKC", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            continue
        if category == "Cc":
            kept.append(" " if char in "\t\n\r\x0b\x0c" else "")
            continue
        kept.append(char)
    return _WHITESPACE.sub(" ", "".join(kept).translate(_DASHES)).strip()


_CN_NUMERAL_CHARS = "〇零一二两俩三四五六七八九十百千万亿廿"
#: A number as typed: Arabic (with decimals) or a run of Chinese numerals (with 点 for decimals).
#: Runs are bounded so that scanning a long message stays linear.
NUMBER_PATTERN = (
    rf"(?:[0-9]{{1,12}}(?:\.[0-9]{{1,6}})?|[{_CN_NUMERAL_CHARS}]{{1,12}}(?:点[〇零一二两三四五六七八九]{{1,6}})?)"
)


def to_number(word: str) -> Decimal | None:
    """Read an Arabic or Chinese number (数字/汉字数字), or ``None`` if it is not one.

    cn2an does the Chinese numerals but knows neither 俩 (colloquial two) nor 半 (half), so those are
    handled here. Tokens longer than 20 characters are not numbers anyone types in a form field.
    """
    word = word.strip().replace(",", "")
    if not word or len(word) > 20:
        return None
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", word):
        return Decimal(word)
    if word in ("半",):
        return Decimal("0.5")
    word = word.replace("俩", "两")
    if not re.fullmatch(NUMBER_PATTERN, word):
        return None
    try:
        result = cn2an.cn2an(word, "normal")
    except Exception:  # cn2an signals "not a number" with assorted exception types
        return None
    try:
        return Decimal(str(result))
    except InvalidOperation:
        return None


def format_decimal(amount: Decimal) -> str:
    """Show 1.50 as 1.5 and 2E+3 as 2000: customers read plain numbers."""
    return format(amount.normalize(), "f")

