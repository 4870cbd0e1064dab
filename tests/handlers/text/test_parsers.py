"""Field parsers: the forms people type on a phone are accepted, everything else gets a useful hint."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.text import (
    CATEGORY_OPTIONS,
    DEMAND_OPTIONS,
    FREE_TEXT_LIMIT,
    PARSERS,
    PROBLEM_TYPE_OPTIONS,
    AnswerOptions,
    ChoiceOption,
    Parsed,
    Phone,
    Quantity,
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
    to_number,
)

MONDAY = date(2026, 11, 23)  # a Monday late in the month
EARLY_MONTH = date(2026, 3, 2)  # a Monday; February 2026 has 28 days
JANUARY = date(2026, 1, 5)  # a Monday in the first week of the year


def accepted(result: Parsed[Any]) -> Any:
    """The value of an accepted answer; fails the test with the hint otherwise."""
    assert result.accepted, f"refused with hint: {result.hint}"
    assert result.display
    assert result.hint == ""
    return result.value


def refused(result: Parsed[Any]) -> str:
    """The hint of a refused answer; fails the test with the value otherwise."""
    assert not result.accepted, f"accepted as {result.value!r} / {result.display}"
    assert result.value is None
    assert result.display == ""
    assert result.hint
    return result.hint


# ---------------------------------------------------------------------------------------------
# Parsed
# ---------------------------------------------------------------------------------------------


def test_parsed_constructors_fill_exactly_one_side() -> None:
    good = Parsed.ok(3, "3")
    bad = Parsed.refuse("yes_no")
    assert (good.accepted, good.value, good.display, good.hint) == (True, 3, "3", "")
    assert (bad.accepted, bad.value, bad.display) == (False, None, "")
    assert bad.hint == "请回复“是”或“否”（也可回复 1 表示是，2 表示否）"


def test_parsed_is_immutable() -> None:
    result = Parsed.ok("x", "x")
    with pytest.raises(AttributeError):
        result.value = "y"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("3", Decimal(3)),
        ("1.5", Decimal("1.5")),
        ("三", Decimal(3)),
        ("十二", Decimal(12)),
        ("两", Decimal(2)),
        ("俩", Decimal(2)),
        ("半", Decimal("0.5")),
        ("两千", Decimal(2000)),
        ("一点五", Decimal("1.5")),
        ("二〇二六", Decimal(2026)),
        ("1,200", Decimal(1200)),
    ],
)
def test_to_number_reads_arabic_and_chinese_numerals(word: str, expected: Decimal) -> None:
    assert to_number(word) == expected


@pytest.mark.parametrize("word", ["", "吨", "万", "十十", "abc", "一" * 30])
def test_to_number_returns_none_for_non_numbers(word: str) -> None:
    assert to_number(word) is None


# ---------------------------------------------------------------------------------------------
# Phone 联系电话
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164", "extension", "display"),
    [
        ("13800138000", "+8613800138000", None, "138 0013 8000"),
        ("138 0013 8000", "+8613800138000", None, "138 0013 8000"),
        ("138-0013-8000", "+8613800138000", None, "138 0013 8000"),
        ("１３８００１３８０００", "+8613800138000", None, "138 0013 8000"),
        ("+86 138 0013 8000", "+8613800138000", None, "138 0013 8000"),
        ("＋８６ １３８００１３８０００", "+8613800138000", None, "138 0013 8000"),
        ("8613800138000", "+8613800138000", None, "138 0013 8000"),
        ("0086 13800138000", "+8613800138000", None, "138 0013 8000"),
        ("电话：13800138000", "+8613800138000", None, "138 0013 8000"),
        ("0379-6733 3626", "+8637967333626", None, "0379 6733 3626"),
        ("0379-67333626", "+8637967333626", None, "0379 6733 3626"),
        ("0379.6733.3626", "+8637967333626", None, "0379 6733 3626"),
        ("(0379)67333626", "+8637967333626", None, "0379 6733 3626"),
        ("（0379）67333626", "+8637967333626", None, "0379 6733 3626"),
        ("+86 379 6733 3626", "+8637967333626", None, "0379 6733 3626"),
        ("010-12345678", "+861012345678", None, "010 1234 5678"),
        ("0379-67333626转123", "+8637967333626", "123", "0379 6733 3626 转123"),
        ("0379-67333626 转 123", "+8637967333626", "123", "0379 6733 3626 转123"),
        ("0379-67333626-123", "+8637967333626", "123", "0379 6733 3626 转123"),
        ("0379-67333626 ext 123", "+8637967333626", "123", "0379 6733 3626 转123"),
        ("0379-67333626 EXT.8", "+8637967333626", "8", "0379 6733 3626 转8"),
        ("0379-67333626分机123", "+8637967333626", "123", "0379 6733 3626 转123"),
        ("400-810-8888", "+864008108888", None, "400 810 8888"),
        ("800-820-8820", "+868008208820", None, "800 820 8820"),
    ],
)
def test_phone_accepts_what_people_type(text: str, e164: str, extension: str | None, display: str) -> None:
    result = parse_phone(text, today=MONDAY)
    assert accepted(result) == Phone(e164=e164, extension=extension)
    assert result.display == display


@pytest.mark.parametrize(
    ("text", "hint_part"),
    [
        ("", "手机号或带区号的座机号"),
        ("abc", "手机号或带区号的座机号"),
        ("1380013800", "手机号应为11位数字（您输入了10位）"),
        ("138001380001", "手机号应为11位数字（您输入了12位）"),
        ("6733 3626", "座机号请带区号"),
        ("67333626", "座机号请带区号"),
        ("12345", "13800138000"),
        ("10086", "13800138000"),
        ("+852 2123 4567", "手机号或带区号的座机号"),  # not a mainland number
        ("13800138000abc", "手机号或带区号的座机号"),  # letters are not keypad digits here
        ("13800138000-123", "手机号或带区号的座机号"),  # a dash extension only follows a landline
        ("1" * 70, "手机号或带区号的座机号"),
    ],
)
def test_phone_refuses_with_a_hint(text: str, hint_part: str) -> None:
    assert hint_part in refused(parse_phone(text, today=MONDAY))


# ---------------------------------------------------------------------------------------------
# Date 采购日期
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "text", "expected", "display"),
    [
        (MONDAY, "2026-11-03", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "2026/11/3", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "2026.11.3", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "2026年11月3日", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "2026年11月3号", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "2026 年 11 月 3 日", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "２０２６－１１－０３", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "20261103", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "26年11月3日", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "二〇二六年十一月三日", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "11月3日", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "十一月三号", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "11/3", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "11-3", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "11月3日买的", date(2026, 11, 3), "2026年11月3日"),
        (MONDAY, "12/1", date(2025, 12, 1), "2025年12月1日"),  # this year's would be in the future
        (MONDAY, "今天", MONDAY, "2026年11月23日（今天）"),
        (MONDAY, "昨天", date(2026, 11, 22), "（昨天）"),
        (MONDAY, "前天", date(2026, 11, 21), "（前天）"),
        (MONDAY, "大前天", date(2026, 11, 20), "（大前天）"),
        (MONDAY, "上周三", date(2026, 11, 18), "2026年11月18日（上周三）"),
        (MONDAY, "上星期三", date(2026, 11, 18), "（上星期三）"),
        (MONDAY, "上礼拜三", date(2026, 11, 18), "（上礼拜三）"),
        (MONDAY, "上个星期天", date(2026, 11, 22), "（上个星期天）"),
        (MONDAY, "上上周五", date(2026, 11, 13), "（上上周五）"),
        (MONDAY, "本周一", MONDAY, "（本周一）"),
        (MONDAY, "这周一", MONDAY, "（这周一）"),
        (MONDAY, "周三", date(2026, 11, 18), "（周三）"),  # the most recent Wednesday
        (MONDAY, "上个月15号", date(2026, 10, 15), "2026年10月15日（上个月15号）"),
        (MONDAY, "上月15日", date(2026, 10, 15), "（上月15日）"),
        (MONDAY, "本月3号", date(2026, 11, 3), "（本月3号）"),
        (MONDAY, "3天前", date(2026, 11, 20), "（3天前）"),
        (MONDAY, "三天前", date(2026, 11, 20), "（三天前）"),
        (MONDAY, "两周前", date(2026, 11, 9), "约2026年11月9日（两周前）"),
        (MONDAY, "半个月前", date(2026, 11, 8), "约"),
        (MONDAY, "三个月前", date(2026, 8, 23), "约2026年8月23日"),
        (MONDAY, "去年12月", date(2025, 12, 1), "约2025年12月（去年12月）"),
        (MONDAY, "去年12月5号", date(2025, 12, 5), "2025年12月5日（去年12月5号）"),
        (MONDAY, "上个月", date(2026, 10, 1), "约2026年10月（上个月）"),
        (MONDAY, "上月", date(2026, 10, 1), "约2026年10月（上月）"),
        (MONDAY, "上个月底", date(2026, 10, 31), "约2026年10月31日（上个月底）"),
        (MONDAY, "上周", date(2026, 11, 16), "约2026年11月16日（上周）"),
        (MONDAY, "2026年11月", date(2026, 11, 1), "约2026年11月"),
        (MONDAY, "2026-10", date(2026, 10, 1), "约2026年10月"),
        (MONDAY, "11月份", date(2026, 11, 1), "约2026年11月"),
        (MONDAY, "大概上周三左右", date(2026, 11, 18), "（上周三）"),
        (JANUARY, "12月20日", date(2025, 12, 20), "2025年12月20日"),
        (JANUARY, "11/3", date(2025, 11, 3), "2025年11月3日"),
        (JANUARY, "上个月15号", date(2025, 12, 15), "2025年12月15日"),
        (JANUARY, "上个月", date(2025, 12, 1), "约2025年12月"),
        (JANUARY, "上周三", date(2025, 12, 31), "2025年12月31日"),
        (JANUARY, "去年12月", date(2025, 12, 1), "约2025年12月"),
        (JANUARY, "3天前", date(2026, 1, 2), "2026年1月2日"),
        (JANUARY, "两周前", date(2025, 12, 22), "约2025年12月22日"),
        (EARLY_MONTH, "上个月28号", date(2026, 2, 28), "2026年2月28日"),
        (EARLY_MONTH, "3天前", date(2026, 2, 27), "2026年2月27日"),
        (EARLY_MONTH, "上周日", date(2026, 3, 1), "2026年3月1日"),
        (EARLY_MONTH, "上周三", date(2026, 2, 25), "2026年2月25日"),
        (EARLY_MONTH, "3月5日", date(2025, 3, 5), "2025年3月5日"),
        (EARLY_MONTH, "上个月底", date(2026, 2, 28), "约2026年2月28日"),
    ],
)
def test_date_accepts_absolute_and_relative_forms(today: date, text: str, expected: date, display: str) -> None:
    result = parse_date(text, today=today)
    assert accepted(result) == expected
    assert display in result.display


@pytest.mark.parametrize(
    ("today", "text", "hint_part"),
    [
        (MONDAY, "2/30", "没有这一天：2月30日"),
        (MONDAY, "2026年2月30日", "没有这一天：2月30日"),
        (MONDAY, "13月3日", "没有这一天"),
        (MONDAY, "2026-13-01", "没有这一天"),
        (EARLY_MONTH, "上个月30号", "没有这一天：2月30日"),
        (MONDAY, "2027-01-01", "日期不能晚于今天"),
        (MONDAY, "2026年11月30日", "日期不能晚于今天（2026年11月23日）"),
        (MONDAY, "本周三", "日期不能晚于今天"),
        (EARLY_MONTH, "本周二", "日期不能晚于今天"),
        (MONDAY, "2015-01-01", "日期早于10年前"),
        (MONDAY, "2016-11-22", "日期早于10年前"),
        (MONDAY, "20年前", "日期早于10年前"),
        (MONDAY, "明天", "如 2026-11-03"),
        (MONDAY, "前几天", "如 2026-11-03"),
        (MONDAY, "", "请填写日期"),
        (MONDAY, "不知道", "请填写日期"),
        (MONDAY, "0天前", "请填写日期"),
        (MONDAY, "3吨", "请填写日期"),
    ],
)
def test_date_refuses_with_a_hint(today: date, text: str, hint_part: str) -> None:
    assert hint_part in refused(parse_date(text, today=today))


def test_date_exactly_ten_years_back_is_still_accepted() -> None:
    assert accepted(parse_date("2016-11-23", today=MONDAY)) == date(2016, 11, 23)


# ---------------------------------------------------------------------------------------------
# Quantity 数量
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit", "display"),
    [
        ("3吨", "3", "吨", "3吨"),
        ("三吨", "3", "吨", "3吨"),
        ("3 吨", "3", "吨", "3吨"),
        ("３吨", "3", "吨", "3吨"),
        ("两箱", "2", "箱", "2箱"),
        ("俩箱", "2", "箱", "2箱"),
        ("120件", "120", "件", "120件"),
        ("1,200件", "1200", "件", "1200件"),
        ("1.5 t", "1.5", "吨", "1.5吨"),
        ("1.5T", "1.5", "吨", "1.5吨"),
        ("2000 kg", "2000", "千克", "2000千克"),
        ("2000KG", "2000", "千克", "2000千克"),
        ("2公斤", "2", "公斤", "2公斤"),
        ("半吨", "0.5", "吨", "0.5吨"),
        ("一吨半", "1.5", "吨", "1.5吨"),
        ("两个半", "2.5", "个", "2.5个"),
        ("十二卷", "12", "卷", "12卷"),
        ("5张", "5", "张", "5张"),
        ("约200米", "200", "米", "约200米"),
        ("200多米", "200", "米", "约200米"),
        ("3吨左右", "3", "吨", "约3吨"),
        ("一共3吨", "3", "吨", "3吨"),
        ("3吨铝板", "3", "吨", "3吨"),
        ("3m³", "3", "立方米", "3立方米"),
        ("10㎡", "10", "平方米", "10平方米"),
        ("3托盘", "3", "托", "3托"),
        ("3坨", "3", "坨", "3坨"),  # an unknown Chinese unit is kept as typed
    ],
)
def test_quantity_accepts_amount_with_unit(text: str, amount: str, unit: str, display: str) -> None:
    result = parse_quantity(text, today=MONDAY)
    assert accepted(result) == Quantity(Decimal(amount), unit)
    assert result.display == display


def test_quantity_without_unit_is_accepted_only_when_the_step_allows_it() -> None:
    assert refused(parse_quantity("3", today=MONDAY)) == "请带上单位，如 3吨、120件"
    result = parse_quantity("3", today=MONDAY, unit_required=False)
    assert accepted(result) == Quantity(Decimal(3), None)
    assert result.display == "3"


@pytest.mark.parametrize(
    ("text", "hint_part"),
    [
        ("0吨", "数量必须大于0"),
        ("-3吨", "数量必须大于0"),
        ("负3吨", "数量必须大于0"),
        ("100000000吨", "数量太大了"),
        ("3-5吨", "请填写一个具体数量"),
        ("5天", "这里填写货物数量"),
        ("300元", "这里填写货物数量"),
        ("很多", "如 3吨、120件"),
        ("", "如 3吨、120件"),
        ("3tonnes", "如 3吨、120件"),
        ("3吨5件", "如 3吨、120件"),
    ],
)
def test_quantity_refuses_with_a_hint(text: str, hint_part: str) -> None:
    assert hint_part in refused(parse_quantity(text, today=MONDAY))


# ---------------------------------------------------------------------------------------------
# Choice 单选/多选
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes", "display"),
    [
        ("2", ("replace",), "更换"),
        ("２", ("replace",), "更换"),
        ("二", ("replace",), "更换"),
        ("②", ("replace",), "更换"),
        ("第二项", ("replace",), "更换"),
        ("更换", ("replace",), "更换"),
        ("换货", ("replace",), "更换"),
        ("换一批", ("replace",), "更换"),
        ("换", ("replace",), "更换"),
        ("我要换", ("replace",), "更换"),
        ("退款", ("return",), "退货"),
        ("道歉", ("apology",), "道歉/说明"),
        ("说明", ("apology",), "道歉/说明"),
        ("2 4", ("replace", "compensation"), "更换、赔偿"),
        ("2、4", ("replace", "compensation"), "更换、赔偿"),
        ("2,4", ("replace", "compensation"), "更换、赔偿"),
        ("2，4", ("replace", "compensation"), "更换、赔偿"),
        ("24", ("replace", "compensation"), "更换、赔偿"),
        ("4 2", ("compensation", "replace"), "赔偿、更换"),
        ("2 2 4", ("replace", "compensation"), "更换、赔偿"),
        ("更换和赔偿", ("replace", "compensation"), "更换、赔偿"),
        ("更换+赔偿", ("replace", "compensation"), "更换、赔偿"),
        ("要更换还要赔偿", ("replace", "compensation"), "更换、赔偿"),
        ("要求换货，并且赔偿损失", ("replace", "compensation"), "更换、赔偿"),
        ("不要退货，要换货", ("replace",), "更换"),
    ],
)
def test_multi_choice_accepts_numbers_labels_and_synonyms(text: str, codes: tuple[str, ...], display: str) -> None:
    result = parse_choice(text, today=MONDAY, options=DEMAND_OPTIONS, multi=True)
    assert accepted(result) == codes
    assert result.display == display


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("3", "surface"),
        ("表面缺陷", "surface"),
        ("表面有划痕", "surface"),
        ("有压痕", "surface"),
        ("氧化发黑", "surface"),
        ("色差很大", "surface"),
        ("起皮", "surface"),
        ("尺寸不对", "dimension"),
        ("厚度超差", "dimension"),
        ("不是划痕是变形", "dimension"),
        ("装不上", "installation"),
        ("外包装破了", "packaging"),
        ("8", "other"),
    ],
)
def test_problem_type_maps_free_text_by_synonyms(text: str, code: str) -> None:
    assert accepted(parse_choice(text, today=MONDAY, options=PROBLEM_TYPE_OPTIONS)) == (code,)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1", "product_quality"),
        ("质量问题", "product_quality"),
        ("送货太慢了", "delivery"),
        ("态度差", "service_attitude"),
    ],
)
def test_category_choice(text: str, code: str) -> None:
    assert accepted(parse_choice(text, today=MONDAY, options=CATEGORY_OPTIONS)) == (code,)


@pytest.mark.parametrize(
    ("text", "hint_part"),
    [
        ("9", "没有这个序号"),
        ("0", "没有这个序号"),
        ("24", "没有这个序号"),  # single choice: 24 is not "2 and 4"
        ("2 4", "只能选一项"),
        ("表面有划痕，还有变形", "只能选一项"),
        ("随便", "请回复序号或名称：1 性能不达标 2 尺寸偏差 3 表面缺陷"),
        ("", "8 其他"),
    ],
)
def test_single_choice_refuses_with_the_option_list(text: str, hint_part: str) -> None:
    assert hint_part in refused(parse_choice(text, today=MONDAY, options=PROBLEM_TYPE_OPTIONS))


def test_multi_choice_hint_shows_how_to_pick_several() -> None:
    hint = refused(parse_choice("随便吧", today=MONDAY, options=DEMAND_OPTIONS, multi=True))
    assert hint == ("请回复序号或名称：1 维修 2 更换 3 退货 4 赔偿 5 减价 6 道歉/说明 7 其他（可多选，如“2 4”）")


def test_single_character_synonyms_do_not_match_inside_sentences() -> None:
    # 退 is a synonym of 退货 as a whole answer, but 退火 (annealing) is not a return.
    assert accepted(parse_choice("退", today=MONDAY, options=DEMAND_OPTIONS, multi=True)) == ("return",)
    assert refused(parse_choice("退火不良", today=MONDAY, options=DEMAND_OPTIONS, multi=True))


def test_choice_accepts_plain_tuples_and_more_than_nine_options() -> None:
    options = [(f"c{i}", f"选项{i}", [f"别名{i}"]) for i in range(1, 13)]
    assert accepted(parse_choice("12", today=MONDAY, options=options)) == ("c12",)
    assert accepted(parse_choice("别名3", today=MONDAY, options=options)) == ("c3",)
    assert accepted(parse_choice("1 12", today=MONDAY, options=options, multi=True)) == ("c1", "c12")


def test_choice_with_no_options_refuses() -> None:
    assert refused(parse_choice("1", today=MONDAY, options=[]))


def test_default_tables_have_unique_codes_and_the_domain_labels() -> None:
    for table in (CATEGORY_OPTIONS, PROBLEM_TYPE_OPTIONS, DEMAND_OPTIONS):
        codes = [option.code for option in table]
        assert len(codes) == len(set(codes))
        assert all(isinstance(option, ChoiceOption) for option in table)
    assert [o.label for o in CATEGORY_OPTIONS] == [
        "产品质量", "服务态度", "交付物流", "管理问题", "后勤保障", "周边环境", "其他",
    ]  # fmt: skip
    assert len(PROBLEM_TYPE_OPTIONS) == 8
    assert [o.label for o in DEMAND_OPTIONS] == ["维修", "更换", "退货", "赔偿", "减价", "道歉/说明", "其他"]


# ---------------------------------------------------------------------------------------------
# Yes / No
# ---------------------------------------------------------------------------------------------

YES = [
    "是", "对", "好", "好的", "可以", "同意", "确认", "没问题", "嗯", "嗯嗯", "ok", "OK!", "y", "Yes", "1", "是的",
    "我同意", "１",
]  # fmt: skip
NO = ["否", "不", "不是", "不同意", "不要", "算了", "no", "N", "2", "不可以", "我不同意", "不行"]


@pytest.mark.parametrize("text", YES)
def test_yes_answers(text: str) -> None:
    result = parse_yes_no(text, today=MONDAY)
    assert accepted(result) is True
    assert result.display == "是"


@pytest.mark.parametrize("text", NO)
def test_no_answers(text: str) -> None:
    result = parse_yes_no(text, today=MONDAY)
    assert accepted(result) is False
    assert result.display == "否"


@pytest.mark.parametrize("text", ["", "也许", "再说吧", "3", "同意吗不同意", "的"])
def test_yes_no_refuses_anything_else(text: str) -> None:
    assert "请回复“是”或“否”" in refused(parse_yes_no(text, today=MONDAY))


# ---------------------------------------------------------------------------------------------
# Free text 描述
# ---------------------------------------------------------------------------------------------


def test_free_text_trims_and_collapses_whitespace() -> None:
    result = parse_free_text("  表面  有\n\n划痕\t很多  ", today=MONDAY)
    assert accepted(result) == "表面 有 划痕 很多"
    assert result.display == "表面 有 划痕 很多"


def test_free_text_is_cut_at_the_limit_and_says_so() -> None:
    result = parse_free_text("划" * 1500, today=MONDAY)
    assert accepted(result) == "划" * FREE_TEXT_LIMIT
    assert "已保留前1000字" in result.display
    assert len(result.display) < 100


def test_free_text_max_length_option_cannot_exceed_the_hard_limit() -> None:
    assert accepted(parse_free_text("字" * 5000, today=MONDAY, max_length=5000)) == "字" * FREE_TEXT_LIMIT
    assert accepted(parse_free_text("字" * 50, today=MONDAY, max_length=20)) == "字" * 20


def test_free_text_minimum_length() -> None:
    hint = refused(parse_free_text("划痕", today=MONDAY, min_length=5))
    assert hint.startswith("请多描述一些：")
    assert "至少5个字" in hint
    assert accepted(parse_free_text("表面有划痕", today=MONDAY, min_length=5)) == "表面有划痕"


@pytest.mark.parametrize("text", ["无", "没有", "暂无", "无。"])
def test_free_text_explicit_none_when_allowed(text: str) -> None:
    result = parse_free_text(text, today=MONDAY, min_length=5, allow_none=True)
    assert result.accepted
    assert result.value is None
    assert result.display == "无"


def test_free_text_none_word_is_plain_text_when_not_allowed() -> None:
    assert accepted(parse_free_text("无", today=MONDAY)) == "无"
    assert "请多描述一些" in refused(parse_free_text("无", today=MONDAY, min_length=5))


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01"])
def test_free_text_refuses_empty(text: str) -> None:
    assert "请输入文字内容" in refused(parse_free_text(text, today=MONDAY))


def test_free_text_drops_control_characters_and_keeps_emoji() -> None:
    assert accepted(parse_free_text("划痕\x00很多😡", today=MONDAY)) == "划痕很多😡"


# ---------------------------------------------------------------------------------------------
# Names 单位/姓名, 联系人
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("洛阳某某机械厂", "洛阳某某机械厂"),
        ("  王工 ", "王工"),
        ("我是王工", "王工"),
        ("单位：洛阳某某机械厂", "洛阳某某机械厂"),
        ("Zhang San", "Zhang San"),
        ("李", "李"),
        ("某" * 50, "某" * 50),
    ],
)
def test_name_accepts_companies_and_people(text: str, value: str) -> None:
    assert accepted(parse_name(text, today=MONDAY)) == value
    assert accepted(parse_contact(text, today=MONDAY)) == value


@pytest.mark.parametrize(
    ("text", "hint_part"),
    [
        ("", "如 洛阳某某机械厂"),
        ("13800138000", "单位名称或姓名"),
        ("...", "单位名称或姓名"),
        ("😀", "单位名称或姓名"),
        ("某" * 51, "50个字以内"),
    ],
)
def test_name_refuses_with_a_hint(text: str, hint_part: str) -> None:
    assert hint_part in refused(parse_name(text, today=MONDAY))


def test_contact_hint_asks_for_a_person() -> None:
    assert "联系人" in refused(parse_contact("123", today=MONDAY))


# ---------------------------------------------------------------------------------------------
# Batch 生产批次
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes", "display"),
    [
        ("2311-08", ("2311-08",), "2311-08"),
        ("B20231108", ("B20231108",), "B20231108"),
        ("b20231108", ("B20231108",), "B20231108"),
        ("批号：A12", ("A12",), "A12"),
        ("批次号 2311-08", ("2311-08",), "2311-08"),
        ("生产批次：2311/08", ("2311/08",), "2311/08"),
        ("２３１１－０８", ("2311-08",), "2311-08"),
        ("2311—08", ("2311-08",), "2311-08"),
        ("2311-08、2311-09", ("2311-08", "2311-09"), "2311-08、2311-09"),
        ("2311-08, 2311-08", ("2311-08",), "2311-08"),
    ],
)
def test_batch_accepts_codes(text: str, codes: tuple[str, ...], display: str) -> None:
    result = parse_batch(text, today=MONDAY)
    assert accepted(result) == codes
    assert result.display == display


@pytest.mark.parametrize("text", ["", "不知道", "ABC", "批号：", "2311 08 是吧", "A" * 41 + "1"])
def test_batch_refuses_with_a_hint(text: str) -> None:
    hint = refused(parse_batch(text, today=MONDAY))
    assert "如 2311-08" in hint
    assert "跳过" in hint


# ---------------------------------------------------------------------------------------------
# Robustness: no input makes a parser raise
# ---------------------------------------------------------------------------------------------

#: Options as a choice step would give them; the other parsers ignore them.
STEP = AnswerOptions(options=DEMAND_OPTIONS, multi=True, allow_none=True)
TEXT_PARSERS = sorted(name for name, kind in PARSERS.items() if kind.takes_text)
_FRAGMENTS = [
    "0", "1", "2", "3", "9", "12", "2026", "-", "/", ".", " ", "+86", "转", "年", "月", "日", "号", "上",
    "周", "个", "前", "天", "两", "半", "十", "一", "三", "吨", "kg", "件", "批次", "批号", ":", "、", "和",
    "不", "要", "换货", "划痕", "表面", "是", "否", "无", "😀", "\x00", "\u200d", "\ud800", "①", "１",
    "本", "这", "去年", "今天", "昨天", "底", "星期", "礼拜", "之前", "ext", "(", "0379",
]  # fmt: skip
_ANY_CHARACTER = st.characters(exclude_categories=())  # includes controls and lone surrogates
TEXTS = st.one_of(
    st.text(_ANY_CHARACTER, max_size=200),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join),
    st.text(_ANY_CHARACTER, min_size=1, max_size=20).map(lambda s: (s * 10_000)[:10_000]),
)
TODAYS = st.sampled_from(
    [MONDAY, EARLY_MONTH, JANUARY, date(2028, 2, 29), date.min, date(2, 1, 1), date(9999, 12, 31), date.max]
)


@pytest.mark.parametrize("name", TEXT_PARSERS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, today=TODAYS)
def test_every_parser_returns_parsed_for_any_text(name: str, text: str, today: date) -> None:
    result = parse_as(name, text, today=today, step=STEP)
    assert isinstance(result, Parsed)
    if result.accepted:
        assert result.display
        assert result.hint == ""
    else:
        assert result.hint
        assert result.value is None


@pytest.mark.parametrize("name", TEXT_PARSERS)
@pytest.mark.parametrize(
    "text", ["1" * 10_000, "上" * 10_000, "一" * 10_000, "😀" * 10_000, "\x00" * 10_000, "2026-11-03 " * 1000]
)
def test_every_parser_survives_ten_thousand_characters(name: str, text: str) -> None:
    result = parse_as(name, text, today=MONDAY, step=STEP)
    assert isinstance(result, Parsed)
    assert result.accepted or result.hint


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, max_length=st.integers(min_value=-5, max_value=20_000), allow_none=st.booleans())
def test_free_text_never_exceeds_the_limit(text: str, max_length: int, allow_none: bool) -> None:
    result = parse_free_text(text, today=MONDAY, max_length=max_length, allow_none=allow_none)
    if result.accepted and result.value is not None:
        assert 0 < len(result.value) <= FREE_TEXT_LIMIT
        assert len(result.value) <= max(1, max_length)


@pytest.mark.parametrize("text", ["2 4", "1", "12", "3、5"])
def test_batch_refuses_bare_menu_numbers(text: str) -> None:
    result = parse_batch(text, today=MONDAY)
    assert not result.accepted
    assert "批次" in result.hint


def test_free_text_keeps_chinese_punctuation() -> None:
    result = parse_free_text("铝板表面大面积划痕，无法用于外观件（开箱检验时发现）。", today=MONDAY)
    assert result.value == "铝板表面大面积划痕，无法用于外观件（开箱检验时发现）。"
