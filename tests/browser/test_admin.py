"""The console's 管理 pages in a real browser, at 390×844 and desktop: each page loads with no script error, no
failed request and no sideways scrolling on the phone; and one edit flow — an office clerk edits a FAQ answer,
then the simulator's chat is answered with the new text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers import accounts
from handlers.sla.calendar_store import set_exception
from handlers.workflow.scope import ConsoleRole
from storage.base import utcnow
from storage.db import Database
from storage.models import OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import OUTCOME_UNKNOWN
from tests.browser.conftest import PHONE, expect, horizontal_overflow
from tests.browser.test_simulator import open_simulator, say
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "correct-horse-42"
PAGES = {
    "index": ("/console/admin/", "管理"),
    "faq": ("/console/admin/faq/", "常见问题库"),
    "faq-edit": (None, "编辑问题"),  # the first entry's edit page, found from the list
    "org": ("/console/admin/org/", "组织架构"),
    "person": (None, "工作台账号"),  # li.na's page, found from the org chart
    "calendar": ("/console/admin/calendar/?year=2026&month=2", "工作日历"),
    "presets": ("/console/admin/presets/", "处理时限"),
    "outbox": ("/console/admin/outbox/", "发送失败的消息"),
    "audit": ("/console/admin/audit/", "安全审计"),
    "website": ("/console/admin/website/", "网站投诉入口"),  # with its QR code (an SVG image the page loads)
}


@pytest.fixture
def admin_world(db: Database, app_config: dict[str, Any]) -> None:
    """The demo org chart with accounts for root (admin) and li.na (quality office), a case, two failed
    messages (one whose outcome is unknown), and a company day off in February 2026."""
    now = utcnow()
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"], now=now)
        accounts.create_account(s, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD, now=now)
        accounts.create_account(s, name=world["li.na"].name, userid="li.na", password=PASSWORD, now=now)
        complaint = make_complaint(world, category="product_quality", number="26020001")
        complaint.lead_office_id = world.dept("quality_office").id
        for channel, recipient, error, text in (
            (OutboxChannel.WECHAT_CUSTOM, "oCustomer1234567890abcd", "43004: require subscribe",
             "您的投诉 26020001 已受理，我们将在 1 个工作日内联系您 13800138000。"),
            (OutboxChannel.WECOM_APP, "li.na|zhao.lei", f"{OUTCOME_UNKNOWN} (dispatcher stopped mid-send)",
             "案件 26020001 已交办，请处理"),
        ):
            s.add(OutboxMessage(channel=channel, recipient=recipient, payload={"text": text},
                                status=OutboxStatus.FAILED, attempts=3, complaint_id=complaint.id,
                                last_error=error, created_at=now, next_attempt_at=now))
        set_exception(s, dt.date(2026, 2, 27), False, "公司年会放假")


def sign_in(page: Page, server: LiveServer, login: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who-name")).to_be_visible()


def visit_every_page(page: Page, server: LiveServer, screenshot: Callable[..., Path], size: str) -> None:
    for name, (path, heading) in PAGES.items():
        if name == "faq-edit":
            page.goto(f"{server.url}/console/admin/faq/")
            page.locator(".faq .actions a").first.click()
        elif name == "person":
            page.goto(f"{server.url}/console/admin/org/")
            page.get_by_role("link", name="李娜").click()
        else:
            assert path is not None
            page.goto(f"{server.url}{path}")
        expect(page.locator("h1, h2").filter(has_text=heading).first).to_be_visible()
        assert horizontal_overflow(page) == 0, f"{name} scrolls sideways at {size}"
        # On a phone the layout viewport widens to fit wide content, so compare with the screen itself.
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], name
        screenshot(page, f"admin-{name}-{size}", full_page=True)
        if size == "phone":
            screenshot(page, f"admin-{name}-{size}-screen")  # what the phone shows first, at full resolution


def test_every_admin_page_on_a_phone(phone_page: Page, live_server: LiveServer, admin_world: None,
                                     screenshot: Callable[..., Path]) -> None:
    sign_in(phone_page, live_server, "root")
    expect(phone_page.get_by_role("link", name="管理")).to_be_visible()
    visit_every_page(phone_page, live_server, screenshot, "phone")


def test_every_admin_page_on_a_desktop(desktop_page: Page, live_server: LiveServer, admin_world: None,
                                       screenshot: Callable[..., Path]) -> None:
    sign_in(desktop_page, live_server, "root")
    visit_every_page(desktop_page, live_server, screenshot, "desktop")


def test_an_unknown_outcome_is_sent_again_only_once_confirmed(
    phone_page: Page, live_server: LiveServer, admin_world: None, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    sign_in(page, live_server, "li.na")
    page.goto(f"{live_server.url}/console/admin/outbox/")
    unknown = page.locator(".message.unknown")
    expect(unknown.locator(".badge.danger")).to_have_text("结果不明")
    unknown.get_by_role("button", name="重新发送").click()
    expect(page.locator(".notice.error")).to_contain_text("结果不明")
    screenshot(page, "admin-outbox-needs-confirmation-phone")
    page.locator(".message.unknown .confirm input").check()
    page.locator(".message.unknown").get_by_role("button", name="重新发送").click()
    expect(page.locator(".notice.ok")).to_contain_text("已重新排队")
    expect(page.locator(".message")).to_have_count(1)  # the other failed one is still listed


def test_a_refused_faq_form_says_why(browser: Browser, live_server: LiveServer, admin_world: None,
                                     screenshot: Callable[..., Path]) -> None:
    """The form comes back (HTTP 400, which the phone_page fixture would count as a fault) with the error."""
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        sign_in(page, live_server, "li.na")
        page.goto(f"{live_server.url}/console/admin/faq/new")
        page.fill("#question", "有发票吗？")
        page.fill("#keywords", "发票")
        page.fill("#answer", "有的，{company}开具增值税发票，见 {invoice_link}")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="保存").click()
        assert posted.value.status == 400
        expect(page.locator(".notice.error")).to_contain_text("{invoice_link}")  # an unknown placeholder
        expect(page.locator("#answer")).to_have_value("有的，{company}开具增值税发票，见 {invoice_link}")  # kept
        assert horizontal_overflow(page) == 0
        screenshot(page, "admin-faq-placeholder-error-phone", full_page=True)
    finally:
        context.close()
    assert errors == []


def test_a_faq_edited_in_the_console_answers_in_the_chat(phone_page: Page, desktop_page: Page,
                                                         live_server: LiveServer, admin_world: None,
                                                         screenshot: Callable[..., Path]) -> None:
    open_simulator(desktop_page, live_server)
    assert "08:30–17:30" in say(desktop_page, "你们几点上班？")  # the built-in answer first

    page = phone_page
    sign_in(page, live_server, "li.na")
    page.goto(f"{live_server.url}/console/admin/faq/")
    page.locator(".faq", has_text="你们的工作时间？").get_by_role("link", name="编辑").click()
    page.fill("#answer", "工作日 {working_hours}，周六上午 9:00–12:00 也有值班。电话 {service_phone}")
    page.fill("#keywords", "工作时间、上班时间、几点上班、周六值班")
    screenshot(page, "admin-faq-editing-phone", full_page=True)
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".notice.ok")).to_contain_text("已保存")

    reply = say(desktop_page, "周六值班吗？")
    assert "周六上午 9:00–12:00 也有值班" in reply and "{working_hours}" not in reply and "08:30–17:30" in reply
    screenshot(desktop_page, "admin-faq-answered-in-simulator-desktop")


def test_the_website_entry_page_shows_its_qr_code(phone_page: Page, live_server: LiveServer, admin_world: None,
                                                  screenshot: Callable[..., Path]) -> None:
    """管理 → 网站投诉入口 for an office clerk: the QR code (an SVG the server draws) loads and has its size."""
    page = phone_page
    sign_in(page, live_server, "li.na")
    page.goto(f"{live_server.url}/console/admin/")
    page.get_by_role("link", name="网站投诉入口").click()
    qr = page.locator("#qr")
    expect(qr).to_be_visible()
    # loaded, not only laid out (its width and height are in the markup): waits for the image itself
    page.wait_for_function("document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 100")
    expect(page.locator("#link-menu")).to_have_text("http://127.0.0.1:5000/w/complaint?from=menu")
    screenshot(page, "admin-website-qr-phone", full_page=True)
