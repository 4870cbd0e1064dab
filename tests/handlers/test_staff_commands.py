"""Reading a WeCom command (handlers/staff_commands.py): the words staff type, as typed on a phone."""

from __future__ import annotations

import pytest

from handlers.staff_commands import Command, feed_back_channel, parse


@pytest.mark.parametrize(("text", "expected"), [
    ("待办", Command("待办", None, "")),
    (" 待办 ", Command("待办", None, "")),
    ("帮助", Command("帮助", None, "")),
    ("查 26110001", Command("查", "26110001", "")),
    ("查26110001", Command("查", "26110001", "")),
    ("查　２６１１０００１", Command("查", "26110001", "")),  # an ideographic space and full-width digits
    ("接单 26110001", Command("接单", "26110001", "")),
    ("进度 26110001 已联系客户，约定周五到现场", Command("进度", "26110001", "已联系客户，约定周五到现场")),
    ("进度  26110001   已联系 客户", Command("进度", "26110001", "已联系 客户")),
    ("反馈 26110001 已更换", Command("反馈", "26110001", "已更换")),
    ("延期 26110001 3 等待复检", Command("延期", "26110001", "3 等待复检")),
    ("查 abc", Command("查", "abc", "")),
    ("接单", Command("接单", None, "")),
])
def test_commands_are_read_as_typed(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["查询", "你好", "待办事项", "进度如何", "", None, "26110001"])
def test_other_text_is_no_command(text):
    assert parse(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("电话：已电话告知", ("phone", "已电话告知")),
    ("书面: 已寄函", ("letter", "已寄函")),
    ("已为您更换：3吨", (None, "已为您更换：3吨")),
    ("电话：", (None, "电话：")),
    ("已更换", (None, "已更换")),
])
def test_feed_back_names_how_the_customer_was_told(text, expected):
    assert feed_back_channel(text) == expected
