"""One masking rule for openids and phone numbers, in notices and in logs."""

from __future__ import annotations

import pytest

from handlers.privacy import mask_openid, mask_phone, mask_phones_in


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613800138000", "138****8000"),
        ("+8637967333626", "0379****3626"),
        ("+861012345678", "010****5678"),
        ("+864008108888", "400****8888"),
        ("not a number", "****"),
        ("+86123", "****"),
    ],
)
def test_mask_phone_keeps_only_prefix_and_last_four(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_mask_phone_reads_missing_when_there_is_none() -> None:
    assert mask_phone(None) == "—"
    assert mask_phone("", missing="未留") == "未留"


@pytest.mark.parametrize(
    ("openid", "masked"),
    [("oAbCdEfGhIjKlMnOp", "oAbC…MnOp"), ("12345678", "***"), ("123456789", "1234…6789"), ("", "-"), (None, "-")],
)
def test_mask_openid_keeps_four_each_side_and_hides_short_ones(openid: str | None, masked: str) -> None:
    assert mask_openid(openid) == masked


def test_phone_numbers_inside_free_text_are_masked_and_other_digits_kept() -> None:
    text = "表面划痕，电话13800138000，座机0379-6733 3626，批次2311-08，共16吨，+86 138 0013 8000"
    assert mask_phones_in(text) == "表面划痕，电话138****8000，座机0379****3626，批次2311-08，共16吨，138****8000"
