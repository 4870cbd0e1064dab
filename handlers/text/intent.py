"""What a message is about before it is taken as a complaint: praise, a price or product enquiry, or a complaint.

Questions, price enquiries and praise are not complaints (issue 13): the router answers them (the FAQ, a
pointer to sales, a thank-you passed to the department) and starts nothing. The word lists are policy data,
``[understanding]`` in tousu.toml, so an office can add its own terms; each key replaces the built-in list
(``extra_<key>`` adds to it)::

    [understanding]
    extra_praise_words = ["好评"]
    extra_product_words = ["铝塑板"]     # the company's products: a damage word refers to goods only near one

The same policy says which words make a message a complaint after all ("太贵了", "不一致"), which words
name the company's products (so that 压坏 in "路都被压坏了" is not a product complaint), and the cues after
which a complainant states a demand in their own words (希望…, 要求…).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.config import PolicyError
from handlers.text.clean import clean_text

DEFAULT_WORDS: Mapping[str, tuple[str, ...]] = {
    # thanks and praise (表扬): answered with a thank-you that is passed to the department
    "praise_words": (
        "表扬", "点赞", "点个赞", "赞一个", "感谢", "谢谢", "多谢", "很满意", "非常满意", "挺满意", "很耐心",
        "很负责", "很专业", "辛苦了", "给力", "好评",
    ),
    # praise only when said of the company, its people or goods ("质量不错", not "天气真不错")
    "weak_praise_words": ("不错", "很好", "真好", "挺好"),
    "praise_subjects": (
        "你们", "服务", "质量", "师傅", "客服", "经理", "同事", "产品", "货", "菜", "小王", "小张", "小李",
    ),
    # price and product enquiries (问价, 询货): a pointer to sales
    "sales_words": (
        "多少钱", "什么价", "价格", "报价", "价钱", "单价", "有没有", "有货", "卖吗", "能买", "怎么买", "哪些颜色",
        "哪些规格", "有哪些", "交货期", "起订", "质量怎么样", "质量如何", "问价",
    ),
    # a message with one of these is a complaint even if it thanks or asks (太贵了, 对不上)
    "complaint_words": (
        "投诉", "太差", "很差", "差劲", "不行", "不合格", "坏了", "问题", "不满", "没人", "不理", "骂", "太慢",
        "太吵", "还没", "退货", "换货", "赔", "严重", "太贵", "涨了", "不一致", "对不上", "不对", "不合理",
        "不给", "不让", "不回", "一直", "凭什么", "难吃", "吵", "臭", "划痕", "生锈", "开裂", "变形", "差",
        "复杂", "要等", "等了", "打不开", "空号", "坏", "堵",
    ),
    # the company's products and goods: a damage word (压坏, 腐蚀) is a product complaint only near one of these
    "product_words": (
        "铝", "铜", "钢", "锌", "板", "卷", "管", "棒", "型材", "带", "箔", "锭", "排", "线", "杆", "梯",
        "货", "产品", "材料", "料", "包装", "箱", "门窗",
    ),
    # a demand in the complainant's own words follows one of these (希望晚上10点以后不要再装卸货)
    "demand_cues": ("希望", "要求", "请你们", "麻烦你们", "能不能", "必须", "得给", "给个", "给我们", "我们要", "我要",
                    "要么"),
}  # fmt: skip
_KEYS = frozenset({*DEFAULT_WORDS, *(f"extra_{key}" for key in DEFAULT_WORDS)})


@dataclass(frozen=True)
class Understanding:
    """``[understanding]`` as checked at start-up: the word lists the rules below read."""

    words: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_WORDS))

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return self.words[key]


def parse_understanding(raw: Mapping[str, Any]) -> Understanding:
    """Read and check ``[understanding]`` (once, in ``handlers.config.load_policy``)."""
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(f"understanding.{sorted(unknown)[0]}: unknown setting")
    words: dict[str, tuple[str, ...]] = {}
    for key, default in DEFAULT_WORDS.items():
        base = raw.get(key, default)
        extra = raw.get(f"extra_{key}", [])
        for name, value in ((key, base), (f"extra_{key}", extra)):
            if not isinstance(value, list | tuple) or not all(isinstance(w, str) and w for w in value):
                raise PolicyError(f"understanding.{name}: a list of words, got {value!r}")
        words[key] = (*base, *extra)
    return Understanding(words)


DEFAULT_UNDERSTANDING = Understanding()
_NOT_A_COMPLAINT = re.compile(r"不是(?:来)?(?:要)?投诉|不(?:是|想)投诉")


def _has(text: str, words: Sequence[str]) -> bool:
    return any(word in text for word in words)


def is_complaint_like(text: str, understanding: Understanding = DEFAULT_UNDERSTANDING) -> bool:
    """True when the message says something is wrong (a complaint word outside "不是投诉")."""
    s = _NOT_A_COMPLAINT.sub("", clean_text(text))
    return _has(s, understanding["complaint_words"])


def intent_of(text: str | None, understanding: Understanding = DEFAULT_UNDERSTANDING) -> str | None:
    """``"praise"``, ``"sales"`` or None (anything else: a complaint, a question for the FAQ, a greeting).

    Praise and enquiries are recognised only when nothing in the message complains: "价格又涨了 太贵了" is a
    complaint, "质量不错 下次还找你们" is praise, "6061铝板现在什么价格" asks sales.
    """
    if not text:
        return None
    s = clean_text(text)
    if is_complaint_like(s, understanding):
        return None
    if _has(s, understanding["praise_words"]) or (
        _has(s, understanding["weak_praise_words"]) and _has(s, understanding["praise_subjects"])
    ):
        return "praise"
    if _has(s, understanding["sales_words"]) or _NOT_A_COMPLAINT.search(s):
        return "sales"  # "不是投诉 就想问下铝卷能不能定做": an enquiry, whatever its words
    return None


def mentions_product(text: str, understanding: Understanding = DEFAULT_UNDERSTANDING) -> bool:
    """True when the message names goods (铝板, 型材, 货): damage words then refer to a product."""
    return _has(clean_text(text), understanding["product_words"])


_CLAUSES = re.compile(r"[\s,，。.!！?？;；]+")


def demand_clauses(text: str, understanding: Understanding = DEFAULT_UNDERSTANDING) -> list[str]:
    """The parts of a message that state a demand (要求全部换货, 希望改善伙食), cue word first.

    Demands are read only here: "客户都退回来了" tells what happened and is no demand for 退货."""
    found: list[str] = []
    for clause in _CLAUSES.split(clean_text(text)):
        # "我们要的一点五" says what was ordered, not a demand: a cue followed by 的 does not count
        positions = [m.start() for cue in understanding["demand_cues"]
                     for m in re.finditer(re.escape(cue), clause) if not clause.startswith("的", m.end())]
        if positions:
            found.append(clause[min(positions):])
    return found


#: A reply that begins with a yes (当然是投诉, 是，要投诉, 嗯嗯 是的) or a no (不是，问价格的).
_LEADING_NO = re.compile(r"^(?:不是|不用|不要|没有|不需要|算了|不了|no\b|不(?![错少]))", re.IGNORECASE)
_LEADING_YES = re.compile(
    r"^(?:当然|肯定|必须|没错|对的|对|嗯+|恩+|是+的?|好的?|要|确定|确认|可以|行|ok\b|yes\b|我要投诉|要投诉|投诉)",
    re.IGNORECASE,
)


def leading_yes_or_no(text: str | None) -> bool | None:
    """The answer to 您是要投诉吗？ as people give it: True for a yes in any natural form, False for a no
    followed by anything ("不是不是，就是表扬一下小王"), None when it is neither."""
    if not text:
        return None
    s = re.sub(r"^[\s,，。.!！~～…]+", "", clean_text(text).lower())
    if _LEADING_NO.match(s):
        return False
    if _LEADING_YES.match(s):
        return True
    return None
