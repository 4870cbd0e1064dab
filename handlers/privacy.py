"""Personal data in what staff and logs read (保密): the one place where openids and phone numbers are masked.

Complainant identity is confidential (DOMAIN.md): notices to staff show a phone as ``138****8000``, and no
log line carries a full openid or phone number. Every caller masks through these functions, so a change of
rule (or a leak found in review) is fixed here once.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException

# A mainland mobile (11 digits from 1) or a landline with its area code (0 + 9–11 digits), possibly written
# with spaces or dashes, as it appears inside free text a customer typed.
_PHONE_IN_TEXT = re.compile(
    r"(?<!\d)(?:\+?86[\s-]?)?(?:1[3-9]\d(?:[\s-]?\d){8}|0\d{2,3}[\s-]?\d(?:[\s-]?\d){6,7})(?!\d)"
)


def mask_openid(openid: str | None) -> str:
    """Enough of an openid to tell followers apart in a log or the audit trail, not enough to message them."""
    if not openid:
        return "-"
    if len(openid) <= 8:
        return "***"
    return f"{openid[:4]}…{openid[-4:]}"


def mask_phone(phone: str | None, *, missing: str = "—") -> str:
    """A phone number for staff notices and logs (通知中隐藏号码): 138****8000, 0379****3626.

    Only the last four digits and the prefix that tells mobile from landline remain. Anything unparseable
    is fully masked rather than leaked; no number at all reads ``missing``.
    """
    if not phone:
        return missing
    try:
        number = phonenumbers.parse(phone, "CN")
    except NumberParseException:
        return "****"
    national = phonenumbers.national_significant_number(number)
    if len(national) < 7:
        return "****"
    area_length = phonenumbers.length_of_geographical_area_code(number)
    if area_length:
        return f"0{national[:area_length]}****{national[-4:]}"
    return f"{national[:3]}****{national[-4:]}"


def mask_phones_in(text: str | None) -> str:
    """Free text (a description, a note) with every phone number inside it masked."""
    if not text:
        return text or ""
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[\s-]", "", m.group(0))), text)


def mask_recipient(recipient: str | None, *, staff: bool) -> str:
    """An outbox recipient as the console and logs show it: a customer's openid masked (`mask_openid`);
    staff WeCom userids (``a|b``) as they are, with any phone number among them masked."""
    if staff:
        return mask_phones_in(recipient)
    return mask_openid(recipient)
