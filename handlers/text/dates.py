"""Dates (采购日期): absolute, relative and month-level dates as people say them, resolved against today.

``find_dates`` scans a whole message (handlers.text.extract reads the purchase date with it);
``parse_date`` reads one answer.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from handlers.text.clean import clean_text, to_number
from handlers.text.parsed import Hint, Parsed

# --------------------------------------------------------------------------------------------
# Dates 采购日期
# --------------------------------------------------------------------------------------------

DATE_HINT = Hint.of("date")
_MAX_YEARS_BACK = 10

_Y4 = r"[0-9]{4}|[〇零一二三四五六七八九]{4}"
_Y2 = r"[0-9]{2}|[〇零一二三四五六七八九]{2}"
_MON = r"[0-9]{1,2}|十[一二]?|[一二三四五六七八九]"
_DAY = r"[0-9]{1,2}|[一二三]?十[一二三四五六七八九]?|廿[一二三四五六七八九]?|[一二三四五六七八九]"
_COUNT = r"[0-9]{1,4}|[一二两俩三四五六七八九十百]{1,4}|半"
_PART = r"初|上旬|中旬|下旬|中|底|末"
_REL_WEEK = r"上上个?|上个?|本|这个?"
_REL_MONTH = r"上上个?|上个?|本|这个?|当"
_WEEKDAY = r"[1-7一二三四五六日天]"
# A day number must end the phrase: "上个月3吨" is 上个月 and 3吨, not the 3rd.
_DAY_END = r"(?:\s*[日号]|(?![0-9]|\s*[吨件箱卷张个块根支条套台包袋桶托盘捆车片只瓶扎批组米克斤公千tTkKmM]))"

_WEEKDAY_NUMBER = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7}
_RELATIVE_OFFSET = {"上上": -2, "上": -1, "本": 0, "这": 0, "当": 0}
_DAY_WORDS = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2, "前日": -2, "大前天": -3}


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date phrase (日期短语) found in text and what it resolves to.

    ``problem`` is set (and ``value`` is ``None``) when the phrase names a date that cannot be
    accepted: impossible, in the future, or more than ten years back.
    ``precision`` is "day" or "month"; ``approximate`` marks resolutions that stand for a range
    (上周 → Monday of last week, 上个月 → the 1st).
    """

    start: int
    end: int
    phrase: str
    value: date | None
    approximate: bool = False
    precision: str = "day"
    relative: str | None = None
    problem: Hint | None = None

    @property
    def display(self) -> str:
        """Chinese display for the summary: 2026年11月3日, 约2026年10月（上个月）."""
        if self.value is None:
            return ""
        if self.precision == "month":
            text = f"{self.value.year}年{self.value.month}月"
        else:
            text = f"{self.value.year}年{self.value.month}月{self.value.day}日"
        if self.approximate:
            text = "约" + text
        if self.relative:
            text += f"（{self.relative}）"
        return text


class _Resolved(NamedTuple):
    """What a date pattern resolver produces before range checks."""

    value: date | None
    approximate: bool = False
    precision: str = "day"
    relative: bool = False
    problem: Hint | None = None


def _int(token: str | None) -> int | None:
    """Read a date component; ``None`` when absent or not a whole number."""
    if token is None:
        return None
    number = to_number(token)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _year(token: str) -> int | None:
    """Two-digit years (26年) mean 20xx: nobody files a complaint about a 1926 purchase."""
    value = _int(token)
    if value is None:
        return None
    return 2000 + value if value < 100 else value


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _impossible(month: int | None, day: int | None) -> _Resolved:
    return _Resolved(None, problem=Hint.of("date_impossible", month=month, day=day))


def _part_day(year: int, month: int, part: str | None) -> int:
    """Day standing for 月初/中旬/月底 and the like; the result is marked approximate."""
    if part in (None, "初"):
        return 1
    if part == "上旬":
        return 5
    if part in ("中", "中旬"):
        return 15
    if part == "下旬":
        return 25
    return calendar.monthrange(year, month)[1]


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _resolve_full(m: re.Match[str], today: date) -> _Resolved:
    year, month, day = _year(m["y"]), _int(m["m"]), _int(m["d"])
    if year is None or month is None or day is None:
        return _Resolved(None, problem=DATE_HINT)
    value = _make_date(year, month, day)
    if value is None:
        return _impossible(month, day)
    return _Resolved(value)


def _resolve_year_month(m: re.Match[str], today: date) -> _Resolved:
    year, month = _year(m["y"]), _int(m["m"])
    if year is None or month is None:
        return _Resolved(None, problem=DATE_HINT)
    if not 1 <= year <= 9999:
        return _Resolved(None, problem=DATE_HINT)
    if not 1 <= month <= 12:
        return _impossible(month, None)
    part = m.groupdict().get("part")
    value = _make_date(year, month, _part_day(year, month, part))
    return _Resolved(value, approximate=True, precision="day" if part else "month")


def _resolve_relative_year(m: re.Match[str], today: date) -> _Resolved:
    year = today.year - {"今年": 0, "去年": 1, "前年": 2}[m["ry"]]
    month, day = _int(m["m"]), _int(m["d"])
    if month is None or not 1 <= month <= 12:
        return _impossible(month, day)
    if m["d"] is not None:
        if day is None:
            return _Resolved(None, problem=DATE_HINT)
        value = _make_date(year, month, day)
        return _Resolved(value, relative=True) if value else _impossible(month, day)
    part = m["part"]
    value = _make_date(year, month, _part_day(year, month, part))
    return _Resolved(value, approximate=True, precision="day" if part else "month", relative=True)


def _resolve_relative_month(m: re.Match[str], today: date) -> _Resolved:
    offset = _RELATIVE_OFFSET[m["rm"].rstrip("个")]
    year, month = _add_months(today.year, today.month, offset)
    if m["d"] is not None:
        day = _int(m["d"])
        value = _make_date(year, month, day) if day is not None else None
        return _Resolved(value, relative=True) if value else _impossible(month, day)
    part = m["part"]
    value = _make_date(year, month, _part_day(year, month, part))
    return _Resolved(value, approximate=True, precision="day" if part else "month", relative=True)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _resolve_weekday(m: re.Match[str], today: date) -> _Resolved:
    weekday_token = m["wd"]
    weekday = _WEEKDAY_NUMBER.get(weekday_token) or int(weekday_token)
    relative = m["rw"]
    if relative is None:
        # A bare 周三 means the most recent Wednesday, today included.
        value = today - timedelta(days=(today.isoweekday() - weekday) % 7)
        return _Resolved(value, relative=True)
    offset = _RELATIVE_OFFSET[relative.rstrip("个")]
    value = _monday(today) + timedelta(weeks=offset, days=weekday - 1)
    return _Resolved(value, relative=True)


def _resolve_week(m: re.Match[str], today: date) -> _Resolved:
    offset = _RELATIVE_OFFSET[m["rw"].rstrip("个")]
    return _Resolved(_monday(today) + timedelta(weeks=offset), approximate=True, relative=True)


def _resolve_day_word(m: re.Match[str], today: date) -> _Resolved:
    return _Resolved(today + timedelta(days=_DAY_WORDS[m["dw"]]), relative=True)


def _resolve_ago(m: re.Match[str], today: date) -> _Resolved:
    amount = to_number(m["n"])
    unit = m["u"]
    if amount is None or amount <= 0:
        return _Resolved(None, problem=DATE_HINT)
    if amount > 10_000:
        return _Resolved(None, problem=_too_old_hint())
    if unit in ("天", "日"):
        if amount != amount.to_integral_value():
            return _Resolved(None, problem=DATE_HINT)
        return _Resolved(today - timedelta(days=int(amount)), relative=True)
    if unit in ("周", "星期", "礼拜"):
        days = int(amount * 7)
        return _Resolved(today - timedelta(days=days), approximate=True, relative=True)
    months = int(amount * (12 if unit == "年" else 1))
    if amount * (12 if unit == "年" else 1) != months:  # 半个月
        return _Resolved(today - timedelta(days=15), approximate=True, relative=True)
    year, month = _add_months(today.year, today.month, -months)
    if year < 1:
        return _Resolved(None, problem=_too_old_hint())
    day = min(today.day, calendar.monthrange(year, month)[1])
    return _Resolved(date(year, month, day), approximate=True, relative=True)


def _roll_back_year(month: int, day: int | None, part: str | None, today: date) -> _Resolved:
    """Dates without a year mean this year, or last year when that would be in the future."""
    if not 1 <= month <= 12:
        return _impossible(month, day)
    for year in (today.year, today.year - 1):
        target_day = day if day is not None else _part_day(year, month, part)
        value = _make_date(year, month, target_day)
        if value is not None and value <= today:
            approximate = day is None
            precision = "month" if day is None and part is None else "day"
            return _Resolved(value, approximate=approximate, precision=precision)
    if _make_date(today.year, month, day or 1) is None:
        return _impossible(month, day)
    return _Resolved(None, problem=_future_hint(today))


def _resolve_month_day(m: re.Match[str], today: date) -> _Resolved:
    month, day = _int(m["m"]), _int(m["d"])
    if month is None or day is None:
        return _Resolved(None, problem=DATE_HINT)
    return _roll_back_year(month, day, None, today)


def _resolve_month_only(m: re.Match[str], today: date) -> _Resolved:
    month = _int(m["m"])
    if month is None:
        return _Resolved(None, problem=DATE_HINT)
    return _roll_back_year(month, None, m["part"], today)


class _DatePattern(NamedTuple):
    """One way of writing a date; ``in_text`` says whether it is safe inside free text."""

    regex: re.Pattern[str]
    resolve: Callable[[re.Match[str], date], _Resolved]
    in_text: bool


def _p(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# Order matters for a whole answer: the first pattern that matches all of it wins.
_DATE_PATTERNS: tuple[_DatePattern, ...] = (
    _DatePattern(
        _p(rf"(?P<y>{_Y4}|{_Y2})\s*年\s*(?P<m>{_MON})\s*月\s*(?P<d>{_DAY}){_DAY_END}"),
        _resolve_full,
        True,
    ),
    _DatePattern(
        _p(r"(?P<y>[0-9]{4}|[0-9]{2})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})"),
        _resolve_full,
        True,
    ),
    _DatePattern(_p(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"), _resolve_full, False),
    _DatePattern(
        _p(rf"(?P<y>{_Y4}|{_Y2})\s*年\s*(?P<m>{_MON})\s*月份?(?P<part>{_PART})?"),
        _resolve_year_month,
        True,
    ),
    _DatePattern(_p(r"(?P<y>[0-9]{4})\s*[-/.]\s*(?P<m>[0-9]{1,2})"), _resolve_year_month, False),
    _DatePattern(
        _p(
            rf"(?P<ry>今年|去年|前年)\s*(?P<m>{_MON})\s*月份?"
            rf"(?:(?P<d>{_DAY}){_DAY_END}|(?P<part>{_PART}))?"
        ),
        _resolve_relative_year,
        True,
    ),
    _DatePattern(
        _p(rf"(?P<rm>{_REL_MONTH})月份?(?:(?P<d>{_DAY}){_DAY_END}|(?P<part>{_PART}))?"),
        _resolve_relative_month,
        True,
    ),
    _DatePattern(_p(rf"(?P<rw>{_REL_WEEK})?(?:周|星期|礼拜)(?P<wd>{_WEEKDAY})"), _resolve_weekday, True),
    _DatePattern(_p(rf"(?P<rw>{_REL_WEEK})(?:周|星期|礼拜)"), _resolve_week, True),
    _DatePattern(_p(r"(?P<dw>大前天|前天|昨天|今天|昨日|今日|前日)"), _resolve_day_word, True),
    _DatePattern(
        _p(rf"(?P<n>{_COUNT})\s*个?\s*(?P<u>天|日|周|星期|礼拜|月|年)(?:之前|以前|前)"),
        _resolve_ago,
        True,
    ),
    _DatePattern(_p(rf"(?P<m>{_MON})\s*月\s*(?P<d>{_DAY}){_DAY_END}"), _resolve_month_day, True),
    _DatePattern(_p(r"(?P<m>[0-9]{1,2})\s*/\s*(?P<d>[0-9]{1,2})"), _resolve_month_day, True),
    _DatePattern(_p(r"(?P<m>[0-9]{1,2})\s*(?P<sep>[-.])\s*(?P<d>[0-9]{1,2})"), _resolve_month_day, False),
    _DatePattern(_p(rf"(?P<m>{_MON})\s*月份?(?P<part>{_PART})?"), _resolve_month_only, True),
)


def _future_hint(today: date) -> Hint:
    return Hint.of("date_future", today=today)


def _too_old_hint() -> Hint:
    return Hint.of("date_too_old", years=_MAX_YEARS_BACK)


def _earliest(today: date) -> date:
    try:
        return today.replace(year=today.year - _MAX_YEARS_BACK)
    except ValueError:  # 29 February
        return today.replace(year=today.year - _MAX_YEARS_BACK, day=28)


def _resolve(pattern: _DatePattern, m: re.Match[str], today: date) -> _Resolved:
    """Run a resolver; date arithmetic at the ends of the calendar is just a date nobody means."""
    try:
        return pattern.resolve(m, today)
    except (OverflowError, ValueError):
        return _Resolved(None, problem=DATE_HINT)


def _to_match(m: re.Match[str], resolved: _Resolved, today: date) -> DateMatch:
    phrase = m.group(0)
    relative = phrase if resolved.relative else None
    problem = resolved.problem
    value = resolved.value
    if problem is None and value is None:
        problem = DATE_HINT
    if value is not None and problem is None:
        if value > today:
            problem = _future_hint(today)
        elif today.year - _MAX_YEARS_BACK < 1 or value < _earliest(today):
            problem = _too_old_hint()
    if problem is not None:
        value = None
    return DateMatch(
        start=m.start(),
        end=m.end(),
        phrase=phrase,
        value=value,
        approximate=resolved.approximate,
        precision=resolved.precision,
        relative=relative,
        problem=problem,
    )


def find_dates(text: str, *, today: date) -> list[DateMatch]:
    """Every date phrase in ``text`` (already cleaned), leftmost-longest, non-overlapping.

    Only patterns that are unambiguous inside prose take part: 1.5 or 2-3 may be quantities or
    sizes, so dotted and dashed month/day forms are recognised only as a whole answer.
    """
    candidates: list[tuple[int, int, int, re.Match[str], _DatePattern]] = []
    for priority, pattern in enumerate(_DATE_PATTERNS):
        if not pattern.in_text:
            continue
        for m in pattern.regex.finditer(text):
            if m.end() > m.start():
                candidates.append((m.start(), -(m.end() - m.start()), priority, m, pattern))
    candidates.sort(key=lambda item: item[:3])
    found: list[DateMatch] = []
    position = 0
    for start, _, _, m, pattern in candidates:
        if start < position:
            continue
        if _inside_token(text, m.start(), m.end()):
            continue
        found.append(_to_match(m, _resolve(pattern, m, today), today))
        position = m.end()
    return found


def _inside_token(text: str, start: int, end: int) -> bool:
    """A date glued to Latin letters or more digits (B20231108, 6061-T6) is part of a code."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    return bool(
        (before and _GLUED.match(before) and text[start].isdigit())
        or (after and _GLUED.match(after) and text[end - 1].isdigit())
    )


_GLUED = re.compile(r"[A-Za-z0-9.\-/]")


_DATE_FILLER_PREFIX = re.compile(r"^(?:大概是?|大约是?|约|差不多|应该是|好像是|是|在|于)+")
_DATE_FILLER_SUFFIX = re.compile(
    r"(?:左右|前后|那天|那会儿?|的时候|时候|买的|购买的|采购的|购买|采购|买|到货的?|到的货|收到的?|收货|的)+$"
)


def parse_date(text: str, *, today: date) -> Parsed[date]:
    """Accept a date as people say it (采购日期等), resolved against ``today``.

    Absolute (2026-11-03, 2026年11月3日, 11月3日, 11/3), relative (昨天, 上周三, 上个月15号, 3天前,
    两周前, 去年12月) and month-level (2026年11月, 上个月) forms, Chinese numerals included.
    Month-level and week-level answers resolve to the first day and are displayed with 约.
    Future dates, dates more than ten years back and impossible dates are refused with a hint.
    """
    s = clean_text(text).replace(" ", "")
    if not s or len(s) > 40:
        return Parsed.refuse(DATE_HINT)
    s = _DATE_FILLER_PREFIX.sub("", s)
    s = _DATE_FILLER_SUFFIX.sub("", s)
    for pattern in _DATE_PATTERNS:
        m = pattern.regex.fullmatch(s)
        if m is None:
            continue
        found = _to_match(m, _resolve(pattern, m, today), today)
        if found.value is None:
            return Parsed.refuse(found.problem or DATE_HINT)
        return Parsed.ok(found.value, found.display)
    # a date followed (or preceded) by words: "10月30号发的货", "是上周三到的" — one date in a short sentence
    found_dates = [d for d in find_dates(clean_text(text), today=today)]
    if len(found_dates) == 1:
        only = found_dates[0]
        if only.value is None:
            return Parsed.refuse(only.problem or DATE_HINT)
        return Parsed.ok(only.value, only.display)
    return Parsed.refuse(DATE_HINT)
