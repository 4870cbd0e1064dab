"""Snapshots of the refusal hints (templates/messages/intake/hint/): what a customer reads after a refused answer.

The parsers name a hint and its values; the wording is in the templates. Each snapshot is reached through the
parser that gives it, so a renamed template or a lost value shows here.
"""

from __future__ import annotations

from datetime import date

import pytest

from handlers.text import (
    DEMAND_OPTIONS,
    PROBLEM_TYPE_OPTIONS,
    Hint,
    Parsed,
    parse_as,
    parse_batch,
    parse_choice,
    parse_contact,
    parse_date,
    parse_free_text,
    parse_name,
    parse_phone,
    parse_quantity,
    parse_yes_no,
)
from templates import TEMPLATE_DIR

MONDAY = date(2026, 11, 23)
PHONE = "请填写手机号或带区号的座机号，如 13800138000 或 0379-67333626"
QUANTITY = "请填写数量和单位，如 3吨、120件、1.5吨"
PROBLEM_TYPES = (
    "请回复序号或名称：1 性能不达标 2 尺寸偏差 3 表面缺陷 4 化学成分 5 包装破损 6 运输损坏 7 安装使用 8 其他"
)

SNAPSHOTS: list[tuple[str, Parsed[object], str]] = [
    ("phone", parse_phone("abc", today=MONDAY), PHONE),
    ("phone_mobile_length", parse_phone("1380013800", today=MONDAY), f"手机号应为11位数字（您输入了10位），{PHONE}"),
    ("phone_area_code", parse_phone("67333626", today=MONDAY), f"座机号请带区号，如 0379-67333626；{PHONE}"),
    ("date", parse_date("随便", today=MONDAY), "请填写日期，如 2026-11-03、11月3日、昨天、上周三 或 上个月15号"),
    ("date_impossible", parse_date("2月30日", today=MONDAY), "没有这一天：2月30日，请核对后重新填写，如 11月3日"),
    ("date_impossible", parse_date("13月", today=MONDAY), "没有这一天：13月，请核对后重新填写，如 11月3日"),
    ("date_future", parse_date("2026-12-01", today=MONDAY), "日期不能晚于今天（2026年11月23日），请核对"),
    ("date_too_old", parse_date("2001-01-01", today=MONDAY), "日期早于10年前，请核对年份"),
    ("quantity", parse_quantity("很多", today=MONDAY), QUANTITY),
    ("quantity_unit", parse_quantity("3", today=MONDAY), "请带上单位，如 3吨、120件"),
    ("quantity_positive", parse_quantity("-3吨", today=MONDAY), f"数量必须大于0，{QUANTITY}"),
    ("quantity_range", parse_quantity("3-4吨", today=MONDAY), "请填写一个具体数量，如 3吨；范围可写大约数，如 约4吨"),
    ("quantity_not_goods", parse_quantity("3天", today=MONDAY), f"这里填写货物数量，{QUANTITY}"),
    ("quantity_too_large", parse_quantity("99999999吨", today=MONDAY), f"数量太大了，请核对，{QUANTITY}"),
    ("choice", parse_choice("随便", today=MONDAY, options=PROBLEM_TYPE_OPTIONS), PROBLEM_TYPES),
    ("choice", parse_choice("随便吧", today=MONDAY, options=DEMAND_OPTIONS, multi=True),
     "请回复序号或名称：1 维修 2 更换 3 退货 4 赔偿 5 减价 6 道歉/说明 7 其他（可多选，如“2 4”）"),
    ("choice_no_such_number", parse_choice("9", today=MONDAY, options=PROBLEM_TYPE_OPTIONS),
     f"没有这个序号。{PROBLEM_TYPES}"),
    ("choice_only_one", parse_choice("1 2", today=MONDAY, options=PROBLEM_TYPE_OPTIONS),
     f"只能选一项。{PROBLEM_TYPES}"),
    ("yes_no", parse_yes_no("也许", today=MONDAY), "请回复“是”或“否”（也可回复 1 表示是，2 表示否）"),
    ("text_empty", parse_free_text(" ", today=MONDAY), "请输入文字内容"),
    ("text_empty", parse_free_text(" ", today=MONDAY, allow_none=True), "请输入文字内容，没有可回复“无”"),
    ("text_too_short", parse_free_text("划痕", today=MONDAY, min_length=5),
     "请多描述一些：至少5个字，如发现的经过、出现问题的位置和数量"),
    ("text_too_short", parse_free_text("划痕", today=MONDAY, min_length=5, allow_none=True),
     "请多描述一些：至少5个字，如发现的经过、出现问题的位置和数量；没有可回复“无”"),
    ("name", parse_name("123", today=MONDAY), "请填写单位名称或姓名，如 洛阳某某机械厂 或 王先生"),
    ("contact", parse_contact("123", today=MONDAY), "请填写联系人姓名，如 王工 或 李女士"),
    ("name_too_long", parse_name("铝" * 51, today=MONDAY),
     "名称太长了，请控制在50个字以内。请填写单位名称或姓名，如 洛阳某某机械厂 或 王先生"),
    ("name_too_long", parse_contact("铝" * 51, today=MONDAY),
     "名称太长了，请控制在50个字以内。请填写联系人姓名，如 王工 或 李女士"),
    ("batch", parse_batch("不知道", today=MONDAY), "请填写生产批次号，如 2311-08 或 B20231108（不知道可回复“跳过”）"),
    ("address", parse_as("address", "洛", today=MONDAY),
     "请填写单位地址，如 洛阳市涧西区某某路8号；也可以发送位置（不填可回复“跳过”）"),
]


IDS = [f"{name}-{index}" for index, (name, _, _) in enumerate(SNAPSHOTS)]


@pytest.mark.parametrize(("name", "result", "expected"), SNAPSHOTS, ids=IDS)
def test_hint_snapshot(name: str, result: Parsed[object], expected: str) -> None:
    assert not result.accepted
    assert result.refusal is not None and result.refusal.name == name
    assert result.hint == expected


def test_every_hint_template_has_a_snapshot() -> None:
    templates = {path.name.removesuffix(".txt.j2") for path in (TEMPLATE_DIR / "messages/intake/hint").glob("*.txt.j2")}
    assert templates == {name for name, _, _ in SNAPSHOTS}


def test_a_hint_is_rendered_only_when_read() -> None:
    hint = Hint.of("no_such_template")
    refused = Parsed.refuse(hint)
    assert refused.refusal == hint  # building the refusal needs no template
    with pytest.raises(Exception, match="no_such_template"):
        _ = refused.hint
