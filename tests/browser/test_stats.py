"""统计 in a real browser: management opens the statistics from the menu, filters them, opens the stored monthly
report — at 390×844 and on a desktop, without sideways scrolling (wide tables scroll inside their own box).
Screenshots land in tests/browser/screenshots/stats-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers.stats.periods import last_month
from handlers.stats.report import ensure_report
from storage.models import ComplaintStatus, Severity, Source
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "correct-horse-42"
CATEGORIES = ["product_quality", "delivery", "service_attitude", "management"]


@pytest.fixture
def stats_data(db: Any, app_config: dict[str, Any]) -> str:
    """40 cases over the last 80 days, most closed with a score; last month's report built. Returns its period."""
    from handlers import accounts
    from handlers.config import load_policy

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"], now=now)
        accounts.create_account(s, name="陈刚", userid="chen.gang", password=PASSWORD, now=now)
        for i in range(40):
            received = now - dt.timedelta(days=2 * i + 1, hours=i % 5)
            c = make_complaint(world, received_at=received, number=f"2699{i + 1:04d}",
                               category=CATEGORIES[i % 4], severity=Severity.MAJOR if i % 9 == 0 else Severity.GENERAL,
                               source=[Source.WECHAT, Source.PHONE][i % 2], open_deadlines=i % 3 == 0)
            c.handling_department_id = world.dept(["production", "logistics", "sales"][i % 3]).id
            c.lead_office_id = world.dept("quality_office" if i % 4 == 0 else "general_office").id
            if i % 4 != 3:
                c.status = ComplaintStatus.CLOSED
                c.closed_at = received + dt.timedelta(days=1 + i % 6)
                c.satisfaction_stars = 5 - i % 5
                c.satisfaction_score = c.satisfaction_stars * 20
            else:
                c.status = ComplaintStatus.INVESTIGATING
        period = last_month(now)
        ensure_report(s, period, policy=load_policy(app_config["COMPANY"]), now=now)
    return period.key


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_statistics_and_the_monthly_report(request: pytest.FixtureRequest, size: str, live_server: LiveServer,
                                           stats_data: str, screenshot: Callable[..., Path]) -> None:
    page: Page = request.getfixturevalue(f"{size}_page")
    page.goto(f"{live_server.url}/console/login")
    page.fill("#login", "chen.gang")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.locator("h1")).to_have_text("工作台")
    page.click("nav.topnav >> text=统计")
    expect(page.locator("h1")).to_have_text("统计分析")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("#kpi-closure_rate")).to_contain_text("已办结 ÷ 有效投诉")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"stats-{size}-month", full_page=True)
    for part in ("主要指标", "月度趋势", "按承办部门"):
        page.locator(f"section.card:has(h2:has-text('{part}'))").scroll_into_view_if_needed()
        page.evaluate("s => document.evaluate(`//h2[contains(., '${s}')]`, document, null, 9, null)"
                      ".singleNodeValue.scrollIntoView()", part)
        screenshot(page, f"stats-{size}-month-{part}")

    page.fill("input[name=period]", stats_data[:4])  # the whole year
    page.select_option("select[name=channel]", "phone")
    page.click("button:has-text('统计')")
    expect(page).to_have_url(re.compile(r"period=\d{4}.*channel=phone"))
    expect(page.locator(".hint").first).to_contain_text("年度统计")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"stats-{size}-year-phone-channel", full_page=size == "desktop")

    page.click("a:has-text('统计报表')")
    page.click(f"a.case-link:has-text('{stats_data}')")
    expect(page.locator("h1")).to_contain_text("投诉统计月报")
    expect(page.locator("svg.chart")).to_have_count(2)  # the trend and the stars
    assert horizontal_overflow(page) == 0
    screenshot(page, f"stats-{size}-report", full_page=True)
