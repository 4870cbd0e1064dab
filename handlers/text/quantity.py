"""Quantities (数量): an amount with its unit, as people type it."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from handlers.text.clean import NUMBER_PATTERN, clean_text, format_decimal, to_number
from handlers.text.parsed import Parsed


class Quantity(NamedTuple):
    """An amount with its unit (数量及单位); ``unit`` is ``None`` only when the step allows it."""

    amount: Decimal
    unit: str | None


MAX_QUANTITY = Decimal(10_000_000)

#: Unit as typed → unit as stored. Latin keys are matched case-insensitively.
UNIT_ALIASES: dict[str, str] = {
    "吨": "吨", "公吨": "吨", "t": "吨", "ton": "吨", "tons": "吨",
    "千克": "千克", "kg": "千克", "kgs": "千克", "公斤": "公斤",
    "克": "克", "g": "克", "斤": "斤",
    "米": "米", "m": "米", "公尺": "米", "毫米": "毫米", "mm": "毫米",
    "厘米": "厘米", "cm": "厘米", "千米": "千米", "公里": "千米", "km": "千米",
    "平方米": "平方米", "平米": "平方米", "平方": "平方米", "m2": "平方米",
    "立方米": "立方米", "立方": "立方米", "方": "立方米", "m3": "立方米",
    "升": "升", "l": "升",
    "件": "件", "pcs": "件", "pc": "件", "个": "个", "箱": "箱", "卷": "卷", "张": "张",
    "块": "块", "根": "根", "支": "支", "条": "条", "套": "套", "台": "台", "包": "包",
    "袋": "袋", "桶": "桶", "托": "托", "托盘": "托", "盘": "盘", "捆": "捆", "车": "车",
    "片": "片", "只": "只", "瓶": "瓶", "扎": "扎", "批": "批", "组": "组",
}  # fmt: skip
#: Words that follow a number but are not a quantity of goods (a duration, money).
_NOT_UNITS = frozenset(
    {"天", "日", "号", "月", "年", "周", "星期", "小时", "分钟", "秒", "元", "块钱", "万元", "岁", "次", "遍"}
)
_UNITS_LONGEST_FIRST = sorted(UNIT_ALIASES, key=len, reverse=True)
_QUANTITY_NUMBER = re.compile(rf"(?:[0-9]{{1,3}}(?:,[0-9]{{3}})+(?:\.[0-9]+)?|{NUMBER_PATTERN}|半)")
_APPROX_PREFIX = re.compile(r"^(?:大约|大概|差不多|将近|接近|约|近)")
_PLAIN_PREFIX = re.compile(r"^(?:数量|一共|总共|共计|合计|总计|共|买了|进了|采购了|购买了)[:是为]?")
_APPROX_SUFFIX = re.compile(r"(?:左右|上下|的样子|多|余)$")
_RANGE = re.compile(rf"^{NUMBER_PATTERN}\s*[-~到至]\s*{NUMBER_PATTERN}")


def _take_unit(rest: str) -> tuple[str | None, str]:
    """Split a known unit off the front of ``rest``; return (stored unit, remainder)."""
    lowered = rest.lower()
    for alias in _UNITS_LONGEST_FIRST:
        if lowered.startswith(alias):
            remainder = rest[len(alias) :]
            # "3tons" must not read as t + "ons"; a Latin unit must end at a non-letter.
            if alias.isascii() and remainder[:1].isascii() and remainder[:1].isalnum():
                continue
            return UNIT_ALIASES[alias], remainder
    return None, rest


def parse_quantity(
    text: str, *, today: date, unit_required: bool = True, max_amount: Decimal = MAX_QUANTITY
) -> Parsed[Quantity]:
    """Accept an amount with a unit (数量): 3吨, 三吨, 两箱, 1.5 t, 2000 kg, 半吨, 一吨半, 约200米.

    Known units are normalised (t → 吨, kg → 千克; 公斤 stays 公斤 because that is what was typed);
    an unknown unit of up to three Chinese characters is kept as typed, since the list of ways to
    count goods is open. A bare number is refused unless ``unit_required`` is false.
    约/左右/多 are accepted and shown as 约 in the display; the value stays the number typed.
    """
    del today
    s = clean_text(text).replace(" ", "")
    if not s or len(s) > 40:
        return Parsed.refuse("quantity")
    approximate = False
    s = _PLAIN_PREFIX.sub("", s)
    if _APPROX_PREFIX.match(s):
        approximate = True
        s = _APPROX_PREFIX.sub("", s)
    if s[:1] in ("-", "负"):
        return Parsed.refuse("quantity_positive")
    if _RANGE.match(s):
        return Parsed.refuse("quantity_range")
    m = _QUANTITY_NUMBER.match(s)
    if m is None:
        return Parsed.refuse("quantity")
    amount = to_number(m.group(0))
    if amount is None:
        return Parsed.refuse("quantity")
    rest = s[m.end() :]
    if rest[:1] in ("多", "余", "来"):
        approximate, rest = True, rest[1:]
    unit, rest = _take_unit(rest)
    if unit is None and rest:
        bare = _APPROX_SUFFIX.sub("", rest)
        if bare.endswith("半"):
            bare = bare[:-1]
        if re.fullmatch(r"[\u4e00-\u9fff]{1,3}", bare) and bare not in _NOT_UNITS:
            unit, rest = bare, rest[len(bare) :]
        else:
            if bare in _NOT_UNITS:
                return Parsed.refuse("quantity_not_goods")
            return Parsed.refuse("quantity")
    if rest.startswith("半") and amount == amount.to_integral_value() and m.group(0) != "半":
        amount += Decimal("0.5")
        rest = rest[1:]
    if _APPROX_SUFFIX.match(rest) or rest in ("左右", "上下", "的样子"):
        approximate = True
        rest = ""
    if rest and not (unit and re.fullmatch(r"[\u4e00-\u9fff]{1,20}", rest)):
        # After a known unit, trailing Chinese words are the product ("3吨铝板"), not the amount.
        return Parsed.refuse("quantity")
    if unit is None and unit_required:
        return Parsed.refuse("quantity_unit")
    if amount <= 0:
        return Parsed.refuse("quantity_positive")
    if amount > max_amount:
        return Parsed.refuse("quantity_too_large")
    display = ("约" if approximate else "") + format_decimal(amount) + (unit or "")
    return Parsed.ok(Quantity(amount, unit), display)

