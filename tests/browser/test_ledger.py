"""The ledger 台账 in a real browser: sign in, open it from the menu, filter, page — at 390×844 and on a desktop.

The page never scrolls sideways on a phone (each case is a card there) and the table stays inside its own box
on a desktop. Screenshots land in tests/browser/screenshots/ledger-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from storage.models import ComplaintStatus, Severity, Source
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "correct-horse-42"
S = ComplaintStatus
STATES = [S.ASSIGNED, S.INVESTIGATING, S.CLOSED, S.IMPLEMENTING, S.INVESTIGATING, S.RESOLVED]


@pytest.fixture
def ledger_data(db: Any, app_config: dict[str, Any]) -> int:
    """60 cases in the quality office's ledger (10 of them 调查中 and 重大), received over the last days."""
    from handlers import accounts

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"], now=now)
        accounts.create_account(s, name="李娜", userid="li.na", password=PASSWORD, now=now)
        for i in range(60):
            c = make_complaint(
                world, received_at=now - dt.timedelta(hours=3 * i + 1), number=f"2602{i + 1:04d}",
                severity=Severity.MAJOR if i % 6 == 1 else Severity.GENERAL,
                source=[Source.WECHAT, Source.PHONE, Source.GOVERNMENT][i % 3], open_deadlines=i < 8,
                complainant_name=f"洛阳某某机械厂{i}", description=f"第{i}件：6061铝板表面划痕",
            )
            c.status = STATES[i % len(STATES)]
            c.lead_office_id = world.dept("quality_office").id
            c.handling_department_id = world.dept("production").id
            c.responsible_staff_id = world["zhao.lei"].id
            c.due_at = c.received_at + dt.timedelta(days=21)
    return 60


def sign_in_and_open_ledger(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#login", "li.na")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.locator("h1")).to_have_text("工作台")
    page.click("nav.topnav >> text=台账")
    expect(page.locator("h1")).to_contain_text("台账")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_filter_and_page_the_ledger(request: pytest.FixtureRequest, size: str, live_server: LiveServer,
                                    ledger_data: int, screenshot: Callable[..., Path]) -> None:
    page: Page = request.getfixturevalue(f"{size}_page")
    sign_in_and_open_ledger(page, live_server)
    rows = page.locator("table.ledger tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator("h1 .count")).to_have_text("共 60 件")
    expect(rows.first).to_contain_text("26020001")
    expect(rows.first).to_contain_text("+8613800138000")  # the lead office sees the phone in full
    assert horizontal_overflow(page) == 0
    screenshot(page, f"ledger-{size}-first-page", full_page=size == "desktop")

    page.click("a[rel=next]")
    expect(rows).to_have_count(10)
    expect(page.locator(".pager")).to_contain_text("第 2 / 2 页")
    expect(rows.first).to_contain_text("26020051")

    page.click("nav.topnav >> text=台账")  # back to the unfiltered ledger
    page.click("summary:has-text('更多筛选')")
    page.select_option("select[name=status]", "investigating")
    page.select_option("select[name=severity]", "major")
    screenshot(page, f"ledger-{size}-filters")
    page.click("button:has-text('筛选')")
    expect(page).to_have_url(re.compile(r"status=investigating.*severity=major"))
    expect(rows).to_have_count(10)
    expect(page.locator("h1 .count")).to_have_text("共 10 件")
    for text in rows.all_inner_texts():
        assert "调查中" in text and "重大" in text
    assert horizontal_overflow(page) == 0
    screenshot(page, f"ledger-{size}-filtered", full_page=True)

    page.fill("#q", "第7件")
    page.click("button:has-text('搜索')")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("26020008")

