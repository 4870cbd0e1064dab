"""What staff and complainants read: the workflow templates, as snapshots of real operations."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from handlers.render import render_message
from handlers.workflow import operations as ops
from handlers.workflow.deadlines import sweep_deadlines
from storage.models import Severity
from templates import TEMPLATE_DIR
from tests.handlers.test_workflow_support import (
    World,
    assigned,
    investigated,
    local,
    make_complaint,
    make_world,
    texts,
)

CUSTOMER = "oCUSTOMER0000000000000001"


def without_case_link(text: str, number: str) -> str:
    """``text`` without its last line, after checking that line is the tappable link to case ``number``'s
    page (signed: this world has no WeChat web authorisation configured)."""
    body, _, last = text.rpartition("\n")
    assert re.fullmatch(rf'<a href="http://127\.0\.0\.1:5000/c/{number}\?t=[\w.-]+">查看办理进度</a>', last), last
    return body


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def test_assignment_notice_snapshot(world: World, session) -> None:
    c = assigned(world, make_complaint(world, number="26020001", urgent=True), responsible="qian.hao")
    assert texts(session, "qian.hao", c) == [
        "【紧急】钱浩，您被指定为以下投诉的责任人：\n"
        "投诉编号：26020001\n"
        "类型：产品质量　严重程度：一般　紧急\n"
        "承办部门：生产部\n"
        "投诉人信息：按规定保密，需联系投诉人请经归口部门。\n"
        "问题：6061-T6铝板表面有划痕，约3吨\n"
        "整体办结时限：3月12日（周四）23:59\n"
        "请尽快组织调查处理，并在系统中记录进展。"
    ]
    assert texts(session, "zhao.lei", c) == [
        "赵磊，贵部门收到一件交办投诉，责任人：钱浩。\n"
        "投诉编号：26020001\n"
        "类型：产品质量　严重程度：一般　紧急\n"
        "整体办结时限：3月12日（周四）23:59"
    ]


def test_sla_alert_snapshots(world: World, session) -> None:
    c = assigned(world, make_complaint(world, number="26020002", severity=Severity.MAJOR), responsible="qian.hao")
    sweep_deadlines(session, local(2026, 2, 14, 12, 1), policy=world.policy)
    sweep_deadlines(session, local(2026, 2, 15, 9, 0), policy=world.policy)
    sweep_deadlines(session, local(2026, 2, 25, 0, 0), policy=world.policy)
    assert [t for t in texts(session, "qian.hao", c) if t.startswith("【催办】")] == [
        "【催办】投诉 26020002「组织调查」将于 2月14日（周六）23:59 到期，剩余约11小时58分钟。\n"
        "类型：产品质量　责任人：钱浩\n"
        "请及时处理并在系统中记录。",
    ]
    assert [t for t in texts(session, "zhao.lei", c) if t.startswith("【超时】投诉 26020002「组织调查」")] == [
        "【超时】投诉 26020002「组织调查」已于 2月14日（周六）23:59 超时（已超9小时）。\n"
        "类型：产品质量　责任人：钱浩\n"
        "请督促尽快办理。",
    ]
    assert [t for t in texts(session, "chen.gang|wu.fang", c) if "组织调查" in t] == [
        "【督办】投诉 26020002「组织调查」超时未办（时限 2月14日（周六）23:59，已超10天0小时）。\n"
        "类型：产品质量　严重程度：重大　责任人：钱浩\n"
        "请督促相关部门处理。",
    ]


def test_customer_message_snapshots(world: World, session) -> None:
    c = assigned(world, make_complaint(world, number="26020003"))
    ops.request_extension(session, world["zhao.lei"], c, ctx=world.at(local(2026, 3, 2, 10)),
                          reason="需等待第三方检测机构出具报告", new_due=dt.date(2026, 3, 31))
    assert [without_case_link(t, "26020003") for t in texts(session, CUSTOMER, c)] == [
        "您好，关于您的投诉（编号 26020003）：\n"
        "因需等待第三方检测机构出具报告，我们需要更多时间，"
        "申请将办结时间由 3月12日（周四）23:59 延长至 3月31日（周二）23:59。\n"
        "您是否同意？请回复“同意”或“不同意”。如不答复，将仍按原时间办理。"
    ]
    d = make_complaint(world, number="26020004")
    ops.triage(session, world["li.na"], d, ctx=world.ctx(), valid=False, invalid_reason="重复投诉",
               explanation="您反映的问题已在投诉 26020003 中处理。")
    assert [without_case_link(t, "26020004") for t in texts(session, CUSTOMER, d)] == [
        "您好，关于您的投诉（编号 26020004），经核实：\n"
        "您反映的问题已在投诉 26020003 中处理。\n"
        "按规定本次投诉不予受理，已办结。如有疑问，可回复本消息或致电我们。感谢您对示例铝业有限公司的关注。"
    ]


def test_result_message_fits_wechat_and_long_texts_are_split(world: World, session) -> None:
    c = investigated(world, make_complaint(world))
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    ops.complete_implementation(session, world["zhao.lei"], c, ctx=world.ctx(), note="已更换")
    ops.feed_back_result(session, world["li.na"], c, ctx=world.ctx(), text="调查结论与处理措施。" * 120)
    pieces = texts(session, CUSTOMER, c)
    assert len(pieces) == 2 and all(len(p.encode()) <= 2048 for p in pieces)
    assert pieces[0].startswith("您好，您的投诉")
    assert without_case_link(pieces[-1], c.number).endswith("感谢您的耐心！")


def test_every_workflow_template_is_chinese_text_with_no_leftover_markup() -> None:
    folder = Path(TEMPLATE_DIR) / "messages" / "workflow"
    names = sorted(p.name.removesuffix(".txt.j2") for p in folder.glob("*.txt.j2") if not p.name.startswith("_"))
    assert len(names) == 23  # 21, and the daily digest (digest, digest_continued)
    sample = render_message("workflow/closed", complaint=type("C", (), {"number": "26020009"})(), company="本公司",
                            link="https://tousu.example.cn/c/26020009")
    assert sample == (
        "您好，您的投诉（编号 26020009）已办结。感谢您对本公司的信任与监督，如有其他问题欢迎随时联系我们。\n"
        '<a href="https://tousu.example.cn/c/26020009">查看办理进度</a>'
    )


@pytest.mark.parametrize("template", [
    "workflow/progress", "workflow/result", "workflow/extension_request", "workflow/reopened_customer",
    "workflow/closed", "workflow/invalid", "survey/ask", "survey/reminder", "status/detail",
])
def test_every_customer_message_about_a_case_links_to_its_page(template: str) -> None:
    link = "https://tousu.example.cn/c/26020009?t=signed"
    case = type("C", (), {"number": "26020009", "status": "assigned", "received": dt.date(2026, 2, 9),
                          "due": None, "closed": False})()
    text = render_message(template, complaint=case, company="本公司", link=link, text="结果", reason="原因",
                          explanation="说明", current_due="3月1日", new_due="3月9日", expires="3月5日")
    assert re.search(rf'<a href="{re.escape(link)}">[^<]+</a>', text), text
