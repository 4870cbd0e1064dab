"""Choices (选项, 单选/多选): numbered options answered by number, label, synonym or free text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from handlers.text.clean import clean_text, to_number
from handlers.text.parsed import Hint, Parsed


class ChoiceOption(NamedTuple):
    """One numbered option of a choice step: stable code, label shown, words that mean it.

    Synonyms are found inside free text ("表面有划痕" → 表面缺陷). A one-character synonym (修, 换)
    only counts as a whole answer, never inside a sentence, where it would match too much (退火).
    """

    code: str
    label: str
    synonyms: tuple[str, ...] = ()


#: Options as the caller holds them: ChoiceOption values or plain (code, label, synonyms) tuples.
ChoiceOptions = Sequence[tuple[str, str, Iterable[str]]]

_NEGATIONS = ("不需要", "不要", "不用", "不想", "不是", "无需", "没有", "不", "别", "没")
_CHOICE_SEPARATORS = re.compile(r"[\s,;/+&、。]+|以及|还要|还有|并且|加上|同时|也要|或者|和|与|及|跟|或|并")
_CHOICE_FILLER_PREFIX = re.compile(r"^(?:我们?|就)?(?:要求|想要|希望|需要|选择|要|想|请|选|第)+")
_CHOICE_FILLER_SUFFIX = re.compile(r"(?:项|个|号|条|吧|啊|呀|的|了)+$")


class _ChoiceTable(NamedTuple):
    codes: tuple[str, ...]
    labels: tuple[str, ...]
    exact: dict[str, str]
    scan: re.Pattern[str] | None
    scan_codes: dict[str, str]


@lru_cache(maxsize=64)
def _choice_table(options: tuple[tuple[str, str, tuple[str, ...]], ...]) -> _ChoiceTable:
    """Index the options once per distinct option list; intake asks the same steps all day."""
    exact: dict[str, str] = {}
    scan_codes: dict[str, str] = {}
    for code, label, synonyms in options:
        parts = [part for part in re.split(r"[/·・]", label) if part != label]
        for word in [label, *parts, *synonyms]:
            key = clean_text(word).lower()
            if not key:
                continue
            exact.setdefault(key, code)
            # a part of a compound label ("说明" of 道歉/说明) is an answer on its own, but inside prose it is
            # another word (说明书): only whole labels and synonyms are looked for in free text
            if len(key) > 1 and word not in parts:
                scan_codes.setdefault(key, code)
    scan = None
    if scan_codes:
        alternatives = sorted(scan_codes, key=len, reverse=True)
        scan = re.compile("|".join(re.escape(word) for word in alternatives))
    return _ChoiceTable(
        codes=tuple(code for code, _, _ in options),
        labels=tuple(label for _, label, _ in options),
        exact=exact,
        scan=scan,
        scan_codes=scan_codes,
    )


def _freeze_options(options: ChoiceOptions) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    return tuple((str(code), str(label), tuple(synonyms)) for code, label, synonyms in options)


def find_terms(text: str, options: ChoiceOptions) -> list[str]:
    """Codes whose label or synonym occurs in ``text``, in order of appearance, without repeats.

    The longest word wins where words overlap, and a word right after a negation (不要退货,
    不是划痕) does not count.
    """
    table = _choice_table(_freeze_options(options))
    if table.scan is None:
        return []
    lowered = text.lower()
    codes: list[str] = []
    for m in table.scan.finditer(lowered):
        if lowered[max(0, m.start() - 3) : m.start()].endswith(_NEGATIONS):
            continue
        code = table.scan_codes[m.group(0)]
        if code not in codes:
            codes.append(code)
    return codes


def _resolve_token(token: str, table: _ChoiceTable, multi: bool) -> list[str] | None:
    """Codes for one token of a choice answer, or ``None`` when the token is not an option."""
    count = len(table.codes)
    if token in table.exact:
        return [table.exact[token]]
    token = _CHOICE_FILLER_PREFIX.sub("", token)
    token = _CHOICE_FILLER_SUFFIX.sub("", token) or token
    if not token:
        return []
    if token in table.exact:
        return [table.exact[token]]
    if multi and count <= 9 and re.fullmatch(r"[1-9]{2,9}", token):
        indexes = [int(char) for char in token]
        if all(index <= count for index in indexes):
            return [table.codes[index - 1] for index in indexes]
    number = to_number(token) if len(token) <= 6 else None
    if number is not None and number == number.to_integral_value() and 1 <= number <= count:
        return [table.codes[int(number) - 1]]
    return None


def parse_choice(text: str, *, today: date, options: ChoiceOptions, multi: bool = False) -> Parsed[tuple[str, ...]]:
    """Accept one option (单选) or several (多选) from a numbered list.

    Numbers in any form (2, ２, 二, ②), labels, synonyms, several at once for multi (2 4, 2、4,
    24 when every option is a single digit, 更换和赔偿, 要更换还要赔偿), and free text that contains
    an option's words. The value is the tuple of codes in the order chosen, without repeats.
    """
    del today
    frozen = _freeze_options(options)
    hint = Hint.of("choice", labels=tuple(label for _, label, _ in frozen), multi=multi)
    if not frozen:
        return Parsed.refuse(hint)
    table = _choice_table(frozen)
    s = clean_text(text).lower()
    s = re.sub(r"[.!?~。！？…]+$", "", s).strip()
    if not s or len(s) > 1000:
        return Parsed.refuse(hint)
    codes: list[str] = []
    tokens = [token for token in _CHOICE_SEPARATORS.split(s) if token]
    resolved = [_resolve_token(token, table, multi) for token in tokens]
    if tokens and all(item is not None for item in resolved):
        for item in resolved:
            codes.extend(code for code in item or [] if code not in codes)
    if not codes:
        codes = find_terms(s, frozen)
    if not codes:
        if re.fullmatch(r"[0-9 ,、]+", s):
            return Parsed.refuse("choice_no_such_number", **dict(hint.params))
        return Parsed.refuse(hint)
    if not multi and len(codes) > 1:
        return Parsed.refuse("choice_only_one", **dict(hint.params))
    labels = dict(zip(table.codes, table.labels, strict=True))
    return Parsed.ok(tuple(codes), "、".join(labels[code] for code in codes))


