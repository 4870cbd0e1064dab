"""Snapshots of what customers and staff read (templates/messages/intake, status, faq)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers.config import load_policy
from handlers.context import HandlerContext
from handlers.intake import ConversationRow, Draft, build_form
from handlers.intake.engine import question_text
from handlers.intake.summary import render_summary
from handlers.render import render_message
from handlers.sla.promises import Opening, Promise
from storage.models import IntakeMode

CTX = HandlerContext(
    now=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC), policy=load_policy({"company": {"name": "示例铝业"}})
)


def draft(answers: dict[str, Any], displays: dict[str, str], **notes: Any) -> Draft:
    row = ConversationRow(id=1, openid="oTpl", mode=IntakeMode.FILLING, answers=answers, displays=displays,
                          notes=notes, updated_at=CTX.now)
    return Draft(row)


def test_first_question() -> None:
    form = build_form()
    text = question_text(draft({}, {}), form.step("category"), CTX, form,
                         before=[render_message("intake/start", ctx=CTX, understood=[])])
    assert text == (
        "好的，我们开始登记投诉（随时回复“取消”退出，“上一步”返回）。\n"
        "请选择投诉类型：\n"
        "1 产品质量  2 服务态度  3 交付物流  4 管理问题  5 后勤保障  6 周边环境  7 其他"
    )


def test_an_optional_step_with_progress_and_an_old_answer() -> None:
    form = build_form()
    d = draft({"category": ["product_quality"]}, {"category": "产品质量"})
    text = question_text(d, form.step("spec_model"), CTX, form, previous="2mm")
    assert text == (
        "（原来填写的是：2mm，直接回复新的内容即可）\n"
        # asked with the batch (issue 13); the progress counts questions, not fields
        "【6/13】规格型号和批号？一起发即可（如：2mm 批号2311-08，见标签或质保书；不清楚可回复“跳过”）"
    )


def test_a_multi_choice_after_a_refusal() -> None:
    form = build_form()
    d = draft({"category": ["other"]}, {})
    text = question_text(d, form.step("demands"), CTX, form,
                         before=[render_message("intake/note/refused", ctx=CTX, hint="没有这个序号。")])
    assert text == (
        "没有这个序号。\n"
        # not a product complaint: the demand is asked in the customer's own words (issue 13)
        # name and phone are one question, so 8 questions
        "【7/8】您希望我们怎么处理？可以直接说您的要求（如“晚上10点以后不要装卸货”），也可以回复序号：\n"
        "1 维修  2 更换  3 退货  4 赔偿  5 减价  6 道歉/说明  7 其他\n"
        "（可多选，如“2 4”）"
    )


def test_the_description_question_shows_the_seed() -> None:
    form = build_form()
    d = draft({"category": ["product_quality"]}, {}, description_seed="表面有划痕")
    text = question_text(d, form.step("description"), CTX, form)
    assert text == "（已记下：表面有划痕）\n【8/12】请描述具体问题（使用场景、发现经过）："


def test_summary() -> None:
    form = build_form()
    answers = {"category": ["service_attitude"], "complainant_name": "张三", "contact_person": None,
               "phone": {"e164": "+8613800138000"}, "address": None, "description": "态度差", "loss": None,
               "demands": ["apology"], "evidence": None}
    displays = {"category": "服务态度", "complainant_name": "张三", "contact_person": "（未填）",
                "phone": "138 0013 8000", "address": "（未填）", "description": "态度差", "loss": "无",
                "demands": "道歉/说明", "evidence": "（未填）"}
    text, keys = render_summary(draft(answers, displays), form, [], CTX)
    # name and phone were asked together: one line, one number; what was not given is one line (issue 13)
    assert keys == ["category", "complainant_name", "contact_person", "address", "description", "loss",
                    "demands", "evidence"]
    assert text == (
        "请核对您的投诉信息：\n"
        "1. 投诉类型：服务态度\n2. 投诉人：张三 138 0013 8000\n"
        "5. 问题描述：态度差\n6. 损失情况：无\n7. 您的诉求：道歉/说明\n"
        "未填：3 联系人、4 单位地址、8 佐证材料\n"
        "回复“确认”提交；回复序号修改或补充（如“改3”）；回复“取消”放弃。"
    )


def test_a_summary_of_very_long_answers_still_fits_one_message() -> None:
    form = build_form()
    answers = {step.key: "x" for step in form.steps} | {"category": ["product_quality"]}
    displays = {step.key: "很长的回答" * 200 for step in form.steps}
    text, _ = render_summary(draft(answers, displays), form, [], CTX)
    assert len(text.encode()) <= 2048 and "12 佐证材料" in text and "…" in text


ACK_PROMISES = [Promise("1小时内与您联系", from_receipt_in_hours=True), Promise("15个工作日内办结")]


def test_acknowledgement() -> None:
    in_hours = Opening(True, 30, None, True, dt.time(8, 30))
    text = render_message("intake/submitted", ctx=CTX, number="26110001", lead_office="品质保障处", callback=False,
                          promises=ACK_PROMISES, expect=in_hours, link="https://tousu.example.cn/c/26110001")
    assert text == (
        "已受理，投诉编号 26110001。\n"
        "品质保障处将核实情况并与您联系。\n"
        "我们承诺：\n"
        "· 1小时内与您联系\n"
        "· 15个工作日内办结\n"
        "回复“查询”或发送投诉编号，随时查看处理进度，"
        "也可<a href=\"https://tousu.example.cn/c/26110001\">查看办理进度</a>。"
    )


def test_acknowledgement_after_hours_promises_contact_from_the_next_opening() -> None:
    closed = Opening(False, 30, dt.date(2026, 12, 2), False, dt.time(8, 30))
    text = render_message("intake/submitted", ctx=CTX, number="26120001", lead_office="品质保障处", callback=False,
                          promises=ACK_PROMISES, expect=closed, link="https://tousu.example.cn/c/26120001")
    assert "· 12月2日（下一个工作日）上班后1小时内与您联系\n· 15个工作日内办结\n" in text


@pytest.mark.parametrize(("expect", "phrase"), [
    ({"in_hours": True, "minutes": 30, "day": None, "today": True}, "30分钟内"),
    ({"in_hours": False, "minutes": 30, "day": dt.date(2026, 11, 24), "today": True, "start": dt.time(8, 30)},
     "今天08:30上班后"),
    ({"in_hours": False, "minutes": 30, "day": dt.date(2026, 11, 30), "today": False, "start": dt.time(8, 30)},
     "11月30日（下一个工作日）上班后"),
])
def test_callback_promise(expect: dict[str, Any], phrase: str) -> None:
    text = render_message("intake/callback_recorded", ctx=CTX, again=False, expect=expect, phone="138****8000",
                          service_phone="0379-6000 0000")
    assert text == (f"已为您登记人工回电，工作人员将在{phrase}拨打 138****8000 与您联系。\n"
                    "急事可直接拨打服务电话 0379-6000 0000。")


def test_attachment_counts() -> None:
    assert render_message("intake/attachments", counts={"image": 2, "voice": 1, "location": 1}) == \
        "2张图片、1段语音、1个位置"
    assert render_message("intake/attachments", counts={}) == "无"


def test_welcome_lists_the_menu() -> None:
    text = render_message("welcome", ctx=CTX)
    assert all(word in text for word in ("我要投诉", "进度查询", "常见问题", "人工"))
