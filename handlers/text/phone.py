"""Phone numbers (联系电话): mainland mobiles and landlines as people type them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from handlers.text.clean import clean_text
from handlers.text.parsed import Hint, Parsed


@dataclass(frozen=True, slots=True)
class Phone:
    """A validated mainland phone number (联系电话): E.164 plus an optional extension (分机)."""

    e164: str
    extension: str | None = None


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
        return Parsed.refuse("phone")
    if len(s) > 60:
        return Parsed.refuse("phone")
    s = _PHONE_LABEL.sub("", s)
    extension: str | None = None
    ext_match = _PHONE_EXTENSION.search(s)
    if ext_match:
        extension = ext_match.group(1)
        s = s[: ext_match.start()]
    # phonenumbers reads letters as keypad digits (vanity numbers); nobody here means that.
    if re.search(r"[A-Za-z]", s) or not re.search(r"[0-9]", s):
        return Parsed.refuse("phone")
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


def _phone_refusal_hint(s: str) -> Hint:
    """Say what is wrong when it is obvious (11-digit mobiles, missing area code)."""
    digits = re.sub(r"[^0-9]", "", s)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) > 11:
            digits = digits[len(prefix) :]
            break
    if digits.startswith("1") and len(digits) != 11 and len(digits) >= 5:
        return Hint.of("phone_mobile_length", digits=len(digits))
    if digits and digits[0] not in "01" and 7 <= len(digits) <= 8:
        return Hint.of("phone_area_code")
    return Hint.of("phone")


