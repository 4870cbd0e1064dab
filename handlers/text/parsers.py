"""Field parsers for the intake conversation (投诉受理对话的字段解析).

People answer the bot on a phone keyboard: full-width digits, Chinese numerals, relative dates
("上个月15号"), several choices in one line ("2、4"). Each parser here turns one such answer into a
normalised value plus a short Chinese display string for the confirmation summary, or refuses with
a hint that tells the customer which form is expected. Parsers never raise: a message that does not
fit the step gets the step's question again with the hint (CONVERSATION.md), never an error.

Every parser has the shape ``parse_x(text, *, today, <options>) -> Parsed``. ``today`` is passed in by
the caller (resolved in Asia/Shanghai) so that relative dates are testable with a fixed clock; parsers
that do not need it accept it anyway so the intake engine can call all of them the same way.

The scanners (``find_dates``, ``find_terms``, ``to_number``) are public because the free-text
extraction in ``handlers.text.extract`` reuses them on a whole first message.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, NamedTuple, TypeVar

import cn2an
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

T = TypeVar("T")
V = TypeVar("V")


# --------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """Outcome of parsing one answer: accepted with a value, or refused with a hint.

    ``display`` is what the confirmation summary (请核对) shows; ``hint`` is the sentence appended to
    the repeated question when the answer does not fit. Exactly one of them is non-empty.
    ``value`` can be ``None`` on an accepted answer only where a parser allows an explicit "无".
    """

    accepted: bool
    value: T | None
    display: str
    hint: str

    @classmethod
    def ok(cls, value: V, display: str) -> Parsed[V]:
        """Accept ``value``; ``display`` is the short Chinese form shown back to the customer."""
        return Parsed(accepted=True, value=value, display=display, hint="")

    @classmethod
    def refuse(cls, hint: str) -> Parsed[Any]:
        """Refuse the answer; ``hint`` says in Chinese what form is expected."""
        return Parsed(accepted=False, value=None, display="", hint=hint)


# --------------------------------------------------------------------------------------------
# Shared text helpers
# --------------------------------------------------------------------------------------------

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


def _format_decimal(amount: Decimal) -> str:
    """Show 1.50 as 1.5 and 2E+3 as 2000: customers read plain numbers."""
    return format(amount.normalize(), "f")


# --------------------------------------------------------------------------------------------
# Phone 联系电话
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phone:
    """A validated mainland phone number (联系电话): E.164 plus an optional extension (分机)."""

    e164: str
    extension: str | None = None


PHONE_HINT = "请填写手机号或带区号的座机号，如 13800138000 或 0379-67333626"
_PHONE_LABEL = re.compile(
    r"^(?:联系电话|电话号码|手机号码|联系方式|手机号|电话|手机|座机|号码|tel|phone|mobile)\s*(?:是|为)?\s*:?\s*",
    re.IGNORECASE,
)
_PHONE_EXTENSION = re.compile(r"\s*(?:转|分机号?|ext\.?|x|#)\s*([0-9]{1,6})\s*$", re.IGNORECASE)
_PHONE_TRAILING_DASH_EXTENSION = re.compile(r"^(.*[0-9])\s*-\s*([0-9]{1,6})$")


def _parse_cn_number(candidate: str) -> phonenumbers.PhoneNumber | None:
    """Parse with phonenumbers and keep only valid numbers of mainland China."""
    try:
        number = phonenumbers.parse(candidate, "CN")
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.region_code_for_number(number) != "CN":
        return None
    return number


def _phone_display(number: phonenumbers.PhoneNumber, extension: str | None) -> str:
    """National format (0379 6733 3626) is what people recognise as their own number."""
    plain = phonenumbers.PhoneNumber(country_code=number.country_code, national_number=number.national_number)
    text = phonenumbers.format_number(plain, PhoneNumberFormat.NATIONAL)
    return f"{text} 转{extension}" if extension else text


def parse_phone(text: str, *, today: date) -> Parsed[Phone]:
    """Accept a mainland mobile or landline with area code (手机/座机), as people type it.

    Separators, full-width digits, +86/86/0086 prefixes and extensions (转123, ext 123, #123, and a
    trailing -123 after a complete landline) are accepted. 400/800 company numbers pass when
    phonenumbers considers them valid. A landline without area code is refused with its own hint,
    because the customer can fix it by adding the area code.
    """
    del today
    s = clean_text(text)
    if not s:
        return Parsed.refuse(PHONE_HINT)
    if len(s) > 60:
        return Parsed.refuse(PHONE_HINT)
    s = _PHONE_LABEL.sub("", s)
    extension: str | None = None
    ext_match = _PHONE_EXTENSION.search(s)
    if ext_match:
        extension = ext_match.group(1)
        s = s[: ext_match.start()]
    # phonenumbers reads letters as keypad digits (vanity numbers); nobody here means that.
    if re.search(r"[A-Za-z]", s) or not re.search(r"[0-9]", s):
        return Parsed.refuse(PHONE_HINT)
    number = _parse_cn_number(s)
    if number is None and extension is None:
        dash_match = _PHONE_TRAILING_DASH_EXTENSION.match(s)
        if dash_match:
            head = _parse_cn_number(dash_match.group(1))
            if head is not None and phonenumbers.number_type(head) == PhoneNumberType.FIXED_LINE:
                number, extension = head, dash_match.group(2)
    if number is None:
        return Parsed.refuse(_phone_refusal_hint(s))
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return Parsed.ok(Phone(e164=e164, extension=extension), _phone_display(number, extension))


def _phone_refusal_hint(s: str) -> str:
    """Say what is wrong when it is obvious (11-digit mobiles, missing area code)."""
    digits = re.sub(r"[^0-9]", "", s)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) > 11:
            digits = digits[len(prefix) :]
            break
    if digits.startswith("1") and len(digits) != 11 and len(digits) >= 5:
        return f"手机号应为11位数字（您输入了{len(digits)}位），{PHONE_HINT}"
    if digits and digits[0] not in "01" and 7 <= len(digits) <= 8:
        return f"座机号请带区号，如 0379-67333626；{PHONE_HINT}"
    return PHONE_HINT


# --------------------------------------------------------------------------------------------
# Dates 采购日期
# --------------------------------------------------------------------------------------------

DATE_HINT = "请填写日期，如 2026-11-03、11月3日、昨天、上周三 或 上个月15号"
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
    problem: str | None = None

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
    problem: str | None = None


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
    shown = f"{month}月{day}日" if day is not None else f"{month}月"
    return _Resolved(None, problem=f"没有这一天：{shown}，请核对后重新填写，如 11月3日")


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


def _future_hint(today: date) -> str:
    return f"日期不能晚于今天（{today.year}年{today.month}月{today.day}日），请核对"


def _too_old_hint() -> str:
    return f"日期早于{_MAX_YEARS_BACK}年前，请核对年份"


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
    return Parsed.refuse(DATE_HINT)


# --------------------------------------------------------------------------------------------
# Quantity 数量
# --------------------------------------------------------------------------------------------


class Quantity(NamedTuple):
    """An amount with its unit (数量及单位); ``unit`` is ``None`` only when the step allows it."""

    amount: Decimal
    unit: str | None


QUANTITY_HINT = "请填写数量和单位，如 3吨、120件、1.5吨"
QUANTITY_UNIT_HINT = "请带上单位，如 3吨、120件"
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
        return Parsed.refuse(QUANTITY_HINT)
    approximate = False
    s = _PLAIN_PREFIX.sub("", s)
    if _APPROX_PREFIX.match(s):
        approximate = True
        s = _APPROX_PREFIX.sub("", s)
    if s[:1] in ("-", "负"):
        return Parsed.refuse(f"数量必须大于0，{QUANTITY_HINT}")
    if _RANGE.match(s):
        return Parsed.refuse("请填写一个具体数量，如 3吨；范围可写大约数，如 约4吨")
    m = _QUANTITY_NUMBER.match(s)
    if m is None:
        return Parsed.refuse(QUANTITY_HINT)
    amount = to_number(m.group(0))
    if amount is None:
        return Parsed.refuse(QUANTITY_HINT)
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
                return Parsed.refuse(f"这里填写货物数量，{QUANTITY_HINT}")
            return Parsed.refuse(QUANTITY_HINT)
    if rest.startswith("半") and amount == amount.to_integral_value() and m.group(0) != "半":
        amount += Decimal("0.5")
        rest = rest[1:]
    if _APPROX_SUFFIX.match(rest) or rest in ("左右", "上下", "的样子"):
        approximate = True
        rest = ""
    if rest and not (unit and re.fullmatch(r"[\u4e00-\u9fff]{1,20}", rest)):
        # After a known unit, trailing Chinese words are the product ("3吨铝板"), not the amount.
        return Parsed.refuse(QUANTITY_HINT)
    if unit is None and unit_required:
        return Parsed.refuse(QUANTITY_UNIT_HINT)
    if amount <= 0:
        return Parsed.refuse(f"数量必须大于0，{QUANTITY_HINT}")
    if amount > max_amount:
        return Parsed.refuse(f"数量太大了，请核对，{QUANTITY_HINT}")
    display = ("约" if approximate else "") + _format_decimal(amount) + (unit or "")
    return Parsed.ok(Quantity(amount, unit), display)
