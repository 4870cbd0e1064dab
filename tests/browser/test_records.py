"""部门绩效, 档案销毁 and 个人信息访问记录 in a real browser, at 390×844 and desktop: each loads with no script
error, no failed request and no sideways scrolling on the phone; management approves a destruction on the
phone; the Excel export downloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers import accounts, audit
from storage.base import utcnow
from storage.db import Database
from storage.models import ComplaintStatus
from tests.browser.conftest import expect, horizontal_overflow
from tests.browser.test_admin import PASSWORD, sign_in
from tests.conftest import LiveServer
from tests.handlers.performance_support import make_november
from tests.handlers.test_workflow_support import make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAGES = {
    "performance": ("/console/performance/?period=2026-11", "部门绩效"),
    "records": ("/console/admin/records/", "档案销毁"),
    "personal-data-audit": ("/console/admin/audit/?personal=1", "个人信息访问记录"),
}


@pytest.fixture
def records_world(db: Database, app_config: dict[str, Any]) -> None:
    """Accounts for 陈刚 (management and admin), 吴芳 (management), 李娜 (quality office); November 2026's
    hand-made figures; two cases closed more than three years ago; personal-data views in the audit."""
    now = utcnow()
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"], now=now)
        for userid in ("chen.gang", "wu.fang", "li.na"):
            accounts.create_account(s, name=world[userid].name, userid=userid, password=PASSWORD, now=now)
        for number, years_ago in (("22110001", 4), ("22110002", 3.2)):
            closed = now - dt.timedelta(days=int(365.25 * years_ago))
            c = make_complaint(world, number=number, received_at=closed - dt.timedelta(days=9), open_deadlines=False)
            c.status, c.closed_at, c.handling_department_id = ComplaintStatus.CLOSED, closed, world.dept("sales").id
        for who, subject, action in (("李娜", "26110001", audit.CASE_VIEWED), ("赵磊", "26110002", "attachment.viewed"),
                                     ("李娜", "ledger.xlsx", "export.ledger")):
            audit.record(s, action, now=now, actor_label=who, subject=subject, personal_data=True)
    make_november(db, world)


def _visit(page: Page, server: LiveServer, screenshot: Callable[..., Path], size: str) -> None:
    for name, (path, heading) in PAGES.items():
        page.goto(f"{server.url}{path}")
        expect(page.locator("h1").filter(has_text=heading)).to_be_visible()
        assert horizontal_overflow(page) == 0, f"{name} scrolls sideways at {size}"
        assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], name
        screenshot(page, f"records-{name}-{size}", full_page=True)
        if size == "phone":
            screenshot(page, f"records-{name}-{size}-screen")  # what the phone shows, at full resolution


def test_pages_on_a_phone(phone_page: Page, live_server: LiveServer, records_world: None,
                          screenshot: Callable[..., Path]) -> None:
    sign_in(phone_page, live_server, "chen.gang")
    _visit(phone_page, live_server, screenshot, "phone")
    phone_page.goto(f"{live_server.url}/console/admin/")
    screenshot(phone_page, "records-admin-index-phone", full_page=True)


def test_pages_on_a_desktop(desktop_page: Page, live_server: LiveServer, records_world: None,
                            screenshot: Callable[..., Path]) -> None:
    sign_in(desktop_page, live_server, "chen.gang")
    _visit(desktop_page, live_server, screenshot, "desktop")


def test_management_approves_a_destruction_on_the_phone(phone_page: Page, live_server: LiveServer,
                                                        records_world: None, screenshot: Callable[..., Path]) -> None:
    page = phone_page
    sign_in(page, live_server, "wu.fang")
    page.goto(f"{live_server.url}/console/admin/records/")
    row = page.locator("tr", has_text="22110001")
    row.get_by_role("button", name="批准销毁").click()
    expect(page.locator(".notice.ok")).to_contain_text("已批准销毁投诉 22110001")
    expect(page.locator("tr", has_text="22110001")).to_contain_text("已批准")
    expect(page.locator("tr", has_text="22110002").get_by_role("button", name="批准销毁")).to_be_visible()
    screenshot(page, "records-approved-phone", full_page=True)


def test_the_performance_export_downloads(desktop_page: Page, live_server: LiveServer, records_world: None) -> None:
    page = desktop_page
    sign_in(page, live_server, "li.na")
    page.goto(f"{live_server.url}/console/performance/?period=2026-11")
    expect(page.locator("td.num", has_text="生产部")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename == "performance-2026-11.xlsx"


def test_the_destruction_list_pages_on_the_phone(phone_page: Page, live_server: LiveServer, records_world: None,
                                                 screenshot: Callable[..., Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """One case a page (PER_PAGE patched in the in-process server): the pager leads from the oldest closing to
    the next, and the heading counts both."""
    from bot.console.admin import records as records_page

    monkeypatch.setattr(records_page, "PER_PAGE", 1)
    page = phone_page
    sign_in(page, live_server, "wu.fang")
    page.goto(f"{live_server.url}/console/admin/records/")
    expect(page.locator("h1 .count")).to_have_text("2")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("22110001")  # closed 4 years ago: first
    expect(page.locator("nav.pager")).to_contain_text("第 1 / 2 页")
    assert horizontal_overflow(page) == 0
    screenshot(page, "records-paged-phone", full_page=True)
    page.get_by_role("link", name="下一页 ›").click()
    expect(page.locator("tbody")).to_contain_text("22110002")
    expect(page.locator("nav.pager")).to_contain_text("第 2 / 2 页")
    expect(page.get_by_role("link", name="‹ 上一页")).to_be_visible()
