"""Extraction from a first message: fill what the text plainly says, invent nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.text import ChoiceOption, Phone, Quantity
from handlers.text.extract import Extracted, extract

MONDAY = date(2026, 11, 23)
JANUARY = date(2026, 1, 5)

EXAMPLE = "上周买的6061铝板批次2311-08表面全是划痕，要求换货，电话13800138000"


def test_the_example_from_the_conversation_sketch() -> None:
    found = extract(EXAMPLE, today=MONDAY)
    assert found.phone == Phone("+8613800138000")
    assert found.batch == ("2311-08",)
    assert found.purchase_date == date(2026, 11, 16)  # 上周 → the Monday of last week
    assert found.demands == ("replace",)
    assert found.category == "product_quality"
    assert found.problem_type == "surface"
    assert found.product_name == "6061铝板"
    assert found.quantity is None
    assert found.understood == (
        "投诉类型：产品质量",
        "电话：138 0013 8000",
        "产品：6061铝板",
        "批次：2311-08",
        "采购日期：约2026年11月16日（上周）",
        "问题类型：表面缺陷",
        "诉求：更换",
    )
    assert found.displays["purchase_date"] == "约2026年11月16日（上周）"
    assert not found.is_empty


def test_last_week_resolves_across_the_new_year() -> None:
    assert extract("上周买的铝板有划痕", today=JANUARY).purchase_date == date(2025, 12, 29)


@pytest.mark.parametrize("text", ["你好", "投诉", "我要投诉", "在吗？", "", "   ", "😀", "1", "查询", "谢谢"])
def test_small_talk_extracts_nothing(text: str) -> None:
    found = extract(text, today=MONDAY)
    assert found == Extracted()
    assert found.is_empty
    assert found.understood == ()


def test_a_message_with_everything() -> None:
    found = extract(
        "11月3日到货的3吨铝卷，批号B20231108，有压痕和氧化，要求退货并赔偿损失。联系电话0379-67333626转123",
        today=MONDAY,
    )
    assert found.phone == Phone("+8637967333626", "123")
    assert found.batch == ("B20231108",)
    assert found.purchase_date == date(2026, 11, 3)
    assert found.quantity == Quantity(Decimal(3), "吨")
    assert found.demands == ("return", "compensation")
    assert found.category == "product_quality"
    assert found.problem_type == "surface"
    assert found.product_name == "铝卷"
    assert "电话：0379 6733 3626 转123" in found.understood
    assert "数量：3吨" in found.understood


@pytest.mark.parametrize(
    ("text", "e164", "extension"),
    [
        ("我的手机138 0013 8000谢谢", "+8613800138000", None),
        ("联系方式+86 138-0013-8000。", "+8613800138000", None),
        ("电话：0379-6733 3626，王工", "+8637967333626", None),
        ("电话0379-67333626-123 王工", "+8637967333626", "123"),
        ("电话：１３８００１３８０００", "+8613800138000", None),
    ],
)
def test_phone_inside_text(text: str, e164: str, extension: str | None) -> None:
    assert extract(text, today=MONDAY).phone == Phone(e164, extension)


@pytest.mark.parametrize(
    ("text", "batch"),
    [
        ("批次2311-08的铝板", ("2311-08",)),
        ("批号：A12，有划痕", ("A12",)),
        ("批次号是 B20231108", ("B20231108",)),
        ("2311-08批次的货有问题", ("2311-08",)),
        ("批次2311-08和2311-09都有问题", ("2311-08", "2311-09")),
    ],
)
def test_batch_inside_text(text: str, batch: tuple[str, ...]) -> None:
    assert extract(text, today=MONDAY).batch == batch


@pytest.mark.parametrize(
    ("text", "purchase_date"),
    [
        ("11月3日到货的铝板", date(2026, 11, 3)),
        ("上个月15号买的", date(2026, 10, 15)),
        ("三天前收到的货有划痕", date(2026, 11, 20)),
        ("采购日期：2026-10-08", date(2026, 10, 8)),
        ("上个月3吨铝板到货，开裂", date(2026, 10, 1)),
    ],
)
def test_purchase_date_inside_text(text: str, purchase_date: date) -> None:
    assert extract(text, today=MONDAY).purchase_date == purchase_date


@pytest.mark.parametrize(
    "text",
    [
        "昨天打电话没人理",  # a date, but not a purchase date
        "明天买的",  # future
        "批次2311-08",  # a batch is not a date
        "B20231108",
    ],
)
def test_no_purchase_date_without_purchase_context(text: str) -> None:
    assert extract(text, today=MONDAY).purchase_date is None


@pytest.mark.parametrize(
    ("text", "quantity"),
    [
        ("买了3吨铝板", Quantity(Decimal(3), "吨")),
        ("两车不锈钢管", Quantity(Decimal(2), "车")),
        ("十二卷全是划痕", Quantity(Decimal(12), "卷")),
        ("2000kg的货", Quantity(Decimal(2000), "千克")),
    ],
)
def test_quantity_inside_text(text: str, quantity: Quantity) -> None:
    assert extract(text, today=MONDAY).quantity == quantity


@pytest.mark.parametrize(
    "text",
    [
        "有一件事要投诉",
        "表面有一条划痕",
        "发了两张照片",
        "6061-T6铝板 2mm×1220×2440",
        "宽1.2米",
        "等了3天",
        "电话13800138000",
    ],
)
def test_no_quantity_from_incidental_numbers(text: str) -> None:
    assert extract(text, today=MONDAY).quantity is None


@pytest.mark.parametrize(
    ("text", "demands"),
    [
        ("要求换货", ("replace",)),
        ("希望退款", ("return",)),
        ("退货，还要赔钱", ("return", "compensation")),
        ("能不能修一下", ("repair",)),
        ("要求维修", ("repair",)),
        ("给个说法，道歉", ("apology",)),
        ("申请折让", ("price_reduction",)),
        ("降价处理", ("price_reduction",)),
        ("不要退货，换一批就行", ("replace",)),
        ("退火不良", ()),  # 退火 is annealing, not 退货
        ("其他都还好", ()),  # "其他" in prose is not the 其他 option
    ],
)
def test_demands_inside_text(text: str, demands: tuple[str, ...]) -> None:
    assert extract(text, today=MONDAY).demands == demands


@pytest.mark.parametrize(
    ("text", "category", "problem_type"),
    [
        ("铝板表面全是划痕", "product_quality", "surface"),
        ("质量太差了", "product_quality", None),
        ("折弯就开裂", "product_quality", "performance"),
        ("尺寸不对", "product_quality", "dimension"),
        ("成分不合格", "product_quality", "chemistry"),
        ("业务员态度很差，骂人", "service_attitude", None),
        ("打电话没人理", "service_attitude", None),
        ("送货延误了一周", "delivery", None),
        ("物流太慢", "delivery", None),
        ("划痕很多，还变形了", "product_quality", None),  # two problem types: ask
        ("送货司机态度很差", None, None),  # two categories: ask
    ],
)
def test_category_and_problem_type(text: str, category: str | None, problem_type: str | None) -> None:
    found = extract(text, today=MONDAY)
    assert found.category == category
    assert found.problem_type == problem_type


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("6061-T6铝板有划痕", "6061-T6铝板"),
        ("上个月买了两车不锈钢管，尺寸不对", "不锈钢管"),
        ("买的空调外机噪音大", "空调外机"),
        ("买的货有问题", None),
        ("你们的服务太差", None),
    ],
)
def test_product_name_candidates(text: str, product: str | None) -> None:
    assert extract(text, today=MONDAY).product_name == product


def test_configured_tables_are_used() -> None:
    demands = (ChoiceOption("refund", "退款", ("返钱",)),)
    found = extract("请尽快返钱", today=MONDAY, demand_options=demands)
    assert found.demands == ("refund",)
    assert found.understood == ("诉求：退款",)


_ANY_CHARACTER = st.characters(exclude_categories=())
_FRAGMENTS = [
    "上周", "买的", "批次", "2311-08", "13800138000", "0379-67333626", "转", "3吨", "两", "划痕", "换货",
    "不要", "11月", "3日", "到货", "6061", "铝板", "-", " ", "，", "\x00", "😀", "\ud800", "１", "半",
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.text(_ANY_CHARACTER, max_size=300),
        st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join),
        st.text(_ANY_CHARACTER, min_size=1, max_size=20).map(lambda s: (s * 10_000)[:10_000]),
    ),
    today=st.sampled_from([MONDAY, JANUARY, date(2028, 2, 29), date.min, date(2, 1, 1), date(9999, 12, 31), date.max]),
)
def test_extract_never_raises_and_lines_match_fields(text: str, today: date) -> None:
    found = extract(text, today=today)
    assert isinstance(found, Extracted)
    assert len(found.understood) == len(found.displays)
    if found.purchase_date is not None:
        assert found.purchase_date <= today


def test_a_problem_type_implies_the_policys_quality_category_only() -> None:
    # A company whose quality objections are filed under another code: the implied category follows it.
    options = (ChoiceOption("quality", "质量异议", ("质量",)), ChoiceOption("service", "服务态度", ("态度",)))
    assert extract("铝板表面有划痕", today=MONDAY, category_options=options,
                   quality_categories=("quality",)).category == "quality"
    assert extract("铝板表面有划痕", today=MONDAY, category_options=options, quality_categories=()).category is None
