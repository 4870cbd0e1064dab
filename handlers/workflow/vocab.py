"""The codes the workflow records, with the Chinese labels staff see (DOMAIN.md, seeds 001 and 002).

Codes are stable identifiers stored in the database; labels are wording and may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

INVESTIGATION_METHODS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "document_review": "资料查阅",
        "phone": "电话沟通",
        "site_check": "现场核查",
        "retest": "产品复检",
        "interview": "人员访谈",
        "data_analysis": "数据分析",
    }
)

CAUSES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "process": "生产工艺",
        "raw_material": "原材料",
        "inspection": "检验把关",
        "transport_storage": "运输储存",
        "customer_misuse": "客户使用不当",
        "service_fault": "服务过失",
        "other": "其他",
    }
)

RESPONSIBILITY: Final[Mapping[str, str]] = MappingProxyType({"company": "公司责任", "not_company": "非公司责任"})

RESPONSIBILITY_TYPES: Final[Mapping[str, str]] = MappingProxyType(  # seed 002
    {"direct": "直接责任", "main": "主要责任", "secondary": "次要责任", "leadership": "领导责任"}
)

MEASURES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "repair": "维修",
        "replace": "更换",
        "return": "退货",
        "compensation": "经济赔偿",
        "price_reduction": "折让/减价",
        "refund": "退款",
        "improvement": "技术改进",
        "apology": "道歉/说明",
        "training": "培训",
        "other": "其他",
    }
)

CONTACT_METHODS: Final[Mapping[str, str]] = MappingProxyType(
    {"phone": "电话", "wechat": "微信", "visit": "上门", "email": "邮件", "letter": "书面", "other": "其他"}
)

FOLLOW_UP_METHODS: Final = CONTACT_METHODS

CLOSE_OUTCOMES: Final[Mapping[str, str]] = MappingProxyType(
    {"satisfied": "客户满意", "no_answer": "未评价（回访无答复）"}
)


def labels(table: Mapping[str, str], codes: list[str] | tuple[str, ...]) -> str:
    """``labels(MEASURES, ["repair", "apology"])`` → 维修、道歉/说明."""
    return "、".join(table.get(code, code) for code in codes)
