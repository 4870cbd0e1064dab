"""The dev simulator page (/dev/simulator) in a real browser, at the URL the README gives, at phone and desktop size."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.channels.sink import build_channels
from bot.runtime import Runtime
from scheduler.outbox import dispatch_due
from storage.outbox import queue_customer_text
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: A short complaint, answered step by step (the service-attitude path of the intake form).
SERVICE_COMPLAINT = (
    "2", "张三", "跳过", "13800138000", "跳过", "业务员电话里态度很差，还挂我电话", "没有", "道歉", "跳过",
)


def open_simulator(page: Page, server: LiveServer) -> None:
    page.clock.install()  # the page's timers run when a test says so (next_poll), not every 3 s of waiting
    page.goto(f"{server.url}/dev/simulator")  # no trailing slash: exactly as the README and `tousu serve` print it
    expect(page.locator("#emptyHint")).to_be_visible()


def say(page: Page, text: str) -> str:
    """Type ``text`` into the chat, send it, and return the bot's reply (the newest bubble)."""
    replies = page.locator("#chat .msg.bot")
    before = replies.count()
    page.fill("#text", text)
    page.press("#text", "Enter")
    expect(replies).to_have_count(before + 1)
    return replies.last.inner_text()


def start_complaint(page: Page) -> None:
    """Tap the menu's 投诉 button and wait for its first question, so the next answer is not sent before it."""
    page.locator(".menu button[data-click='COMPLAIN']").click()
    expect(page.locator("#chat .msg.bot").last).to_contain_text("请选择投诉类型")


def test_a_message_typed_on_the_page_gets_the_reply(phone_page: Page, live_server: LiveServer) -> None:
    open_simulator(phone_page, live_server)
    reply = say(phone_page, "你好")
    assert "回复“投诉”开始登记投诉" in reply
    expect(phone_page.locator("#chat .msg.me")).to_have_text(["你好"])
    expect(phone_page.locator("#emptyHint")).to_be_hidden()


def test_the_empty_chat_says_what_to_type_and_its_suggestions_send(
    phone_page: Page, live_server: LiveServer, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    open_simulator(page, live_server)
    hint = page.locator("#emptyHint")
    expect(hint.locator("button.say")).to_have_text(["投诉", "查询", "常见问题", re.compile("送货太慢")])
    screenshot(page, "simulator-phone-empty")
    expected = {"投诉": "请选择投诉类型", "查询": "您还没有提交过投诉", "常见问题": "常见问题（回复序号查看）"}
    for suggestion, reply in expected.items():
        page.locator(".settings summary").click()
        page.locator("#newUser").click()  # a new follower: the chat is empty again, with its hint
        page.locator(".settings summary").click()
        hint.locator("button.say", has_text=suggestion).click()
        expect(page.locator("#chat .msg.bot")).to_have_count(1)
        expect(page.locator("#chat .msg.bot")).to_contain_text(reply)
        expect(hint).to_be_hidden()


def next_poll(page: Page) -> None:
    """Let the page's periodic feed refresh (every 3 s) happen now."""
    page.clock.run_for(3000)


def dispatch(app: Any) -> None:
    """What the scheduler of `make run` does every 5 s: send what is due (in dev mode, to the dev sink)."""
    rt: Runtime = app.extensions["tousu"]
    dispatch_due(rt.db, build_channels(rt.settings, rt.db))


def test_filing_a_short_complaint_shows_its_number_and_the_staff_pane_updates(
    desktop_page: Page, live_server: LiveServer, app: Any, screenshot: Callable[..., Path]
) -> None:
    page = desktop_page
    open_simulator(page, live_server)
    start_complaint(page)
    for answer in SERVICE_COMPLAINT:
        say(page, answer)
    assert "请核对" in page.locator("#chat .msg.bot").last.inner_text()
    ack = say(page, "确认")
    number = re.search(r"投诉编号 (\d{8})", ack)
    assert number, ack
    # The new complaint is announced to staff through WeCom: the staff pane shows it without a reload.
    staff = page.locator("#staffFeed")
    expect(staff).to_contain_text(number.group(1))
    expect(staff).to_contain_text("待发送")
    dispatch(app)
    next_poll(page)
    expect(staff).to_contain_text("已发送")
    expect(page.locator("#raw")).to_contain_text("msg_signature")
    assert "投诉编号" in say(page, "查询") or number.group(1) in page.locator("#chat").inner_text()
    screenshot(page, "simulator-desktop-complaint", full_page=True)


def test_at_phone_width_the_page_never_scrolls_sideways(
    phone_page: Page, live_server: LiveServer, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    open_simulator(page, live_server)
    assert horizontal_overflow(page) == 0
    chat = page.locator("[data-pane='chat']").bounding_box()
    assert chat is not None and chat["width"] == 390  # the whole width, not a strip beside other panels
    say(page, "你们送货太慢了，说好三天到货，一个星期了还没到，电话13912345678")
    page.locator(".tools button[data-kind='image']").click()
    expect(page.locator("#chat .msg.bot")).to_have_count(2)
    assert horizontal_overflow(page) == 0
    bubble = page.locator("#chat .msg.bot").first.bounding_box()
    assert bubble is not None and bubble["width"] > 250  # lines of text, not one character per line
    screenshot(page, "simulator-phone-chat")

    # The raw request (kilobytes of base64 without a space) wraps inside its own box.
    page.locator(".tabs button[data-tab='raw']").click()
    raw = page.locator("#raw")
    expect(raw).to_contain_text("<Encrypt>")
    assert horizontal_overflow(page) == 0
    assert raw.evaluate("el => el.scrollWidth <= el.clientWidth")
    screenshot(page, "simulator-phone-raw")

    page.locator(".tabs button[data-tab='staff']").click()
    expect(page.locator("[data-pane='staff']")).to_be_visible()
    expect(page.locator("[data-pane='chat']")).to_be_hidden()
    assert horizontal_overflow(page) == 0
    page.locator(".tabs button[data-tab='chat']").click()
    expect(page.locator("#text")).to_be_visible()


def test_at_desktop_width_chat_and_panels_sit_side_by_side(
    desktop_page: Page, live_server: LiveServer, screenshot: Callable[..., Path]
) -> None:
    page = desktop_page
    open_simulator(page, live_server)
    expect(page.locator(".tabs")).to_be_hidden()
    for pane in ("chat", "customer", "staff", "raw"):
        expect(page.locator(f"[data-pane='{pane}']")).to_be_visible()
    screenshot(page, "simulator-desktop-empty")
    say(page, "你好")
    assert horizontal_overflow(page) == 0
    chat, raw = page.locator("[data-pane='chat']").bounding_box(), page.locator("#raw").bounding_box()
    assert chat is not None and raw is not None
    assert raw["x"] > chat["x"] + chat["width"]  # beside the chat, not under it
    assert raw["x"] + raw["width"] <= 1280


def test_a_push_to_the_customer_shows_in_the_chat_and_its_tab(
    phone_page: Page, live_server: LiveServer, app: Any, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    open_simulator(page, live_server)
    say(page, "你好")
    openid = page.input_value("#openid")
    text = "您的投诉 26110001 已办结：已为您补发货物。请回复1-5分评价本次处理。"
    rt: Runtime = app.extensions["tousu"]
    with rt.db.sessions() as s:
        queue_customer_text(s, openid, text, now=rt.clock())  # as the workflow queues a result notice
        s.commit()
    next_poll(page)
    expect(page.locator("#customerCount")).to_have_text("1")  # pending, shown on the tab
    expect(page.locator("#chat .msg.push")).to_have_count(0)  # not in the chat until it is sent
    dispatch(app)
    next_poll(page)
    expect(page.locator("#chat .msg.push")).to_have_text([text])
    assert horizontal_overflow(page) == 0
    screenshot(page, "simulator-phone-push")
    page.locator(".tabs button[data-tab='customer']").click()
    expect(page.locator("#customerFeed")).to_contain_text("已发送")
    expect(page.locator("#customerFeed")).to_contain_text(text)
    screenshot(page, "simulator-phone-customer-tab")


def test_the_settings_open_on_a_phone_without_widening_the_page(
    phone_page: Page, live_server: LiveServer, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    open_simulator(page, live_server)
    first = page.input_value("#openid")
    page.locator(".settings summary").click()
    page.locator("#newUser").click()
    assert page.input_value("#openid") != first
    page.select_option("#mode", "plain")
    assert horizontal_overflow(page) == 0
    screenshot(page, "simulator-phone-settings")
    say(page, "你好")
    page.locator(".tabs button[data-tab='raw']").click()
    expect(page.locator("#raw")).not_to_contain_text("msg_signature")  # plaintext mode: no encryption


#: A product-quality complaint answered as people answer the grouped questions (issue 13).
QUALITY_COMPLAINT = (
    "1", "洛阳某某机械厂 0379-6733 3626", "王工", "跳过", "6061-T6铝板 2mm×1220×2440 批号2311-08",
    "上个月15号到的 3吨", "开卷后发现板面有很多划痕，影响加工", "用于幕墙加工", "无", "2 4", "跳过",
)


def test_a_quality_complaint_summary_fits_one_phone_screen(
    phone_page: Page, live_server: LiveServer, screenshot: Callable[..., Path]
) -> None:
    """The 请核对 summary of a product-quality complaint is read at once at 390×844: no scrolling inside it."""
    page = phone_page
    open_simulator(page, live_server)
    start_complaint(page)
    for answer in QUALITY_COMPLAINT[:-1]:
        say(page, answer)
    summary = say(page, QUALITY_COMPLAINT[-1])
    assert "请核对" in summary and "产品：6061-T6铝板 2mm×1220×2440 批号2311-08" in summary
    assert len(summary.splitlines()) <= 14
    bubble = page.locator("#chat .msg.bot").last
    box = bubble.bounding_box()
    assert box is not None and box["height"] <= 844 * 0.8, f"the summary is {box} high on a 844 px screen"
    bubble.scroll_into_view_if_needed()
    screenshot(page, "simulator-phone-quality-summary")
    assert horizontal_overflow(page) == 0
