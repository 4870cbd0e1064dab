"""Staff tasks in a real browser: the lead office's 待办任务 on the dashboard, closing one with its outcome, and
the task on the case page — at 390×844 and on a desktop. Screenshots: tests/browser/screenshots/tasks-*.png."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers.workflow import notify
from storage.models import ComplaintStatus, Source
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "correct-horse-42"
RESULT = ("经调查，划痕系运输途中包装破损所致。我司已安排补发3吨6061-T6铝板，预计3月5日送达，"
          "破损部分按合同折价处理。如有疑问请联系品质保障处。")


@pytest.fixture
def open_tasks(db: Any, app_config: dict[str, Any]) -> list[str]:
    """Two call tasks for the quality office: a message WeChat refused (43004), a walk-in complaint."""
    from handlers import accounts

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    numbers = []
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"], now=now)
        accounts.create_account(s, name="李娜", userid="li.na", password=PASSWORD, now=now)
        for i, source in enumerate([Source.WECHAT, Source.WALK_IN]):
            c = make_complaint(world, number=f"2603{i + 1:04d}", source=source, received_at=now - dt.timedelta(days=3))
            c.status = ComplaintStatus.RESOLVED
            c.lead_office_id = world.dept("quality_office").id
            c.handling_department_id = world.dept("production").id
            c.responsible_staff_id = world["zhao.lei"].id
            s.flush()
            rows = notify.tell_customer(s, c, "result", now=now, policy=world.policy, dedupe_key=f"r{i}",
                                        text=RESULT, company="示例铝业有限公司")
            for row in rows:  # the dispatcher's verdict on the 客服消息: the customer unfollowed (43004)
                notify.call_instead(s, c, row.payload[notify.CASE_MESSAGE], now=now, cause="undelivered",
                                    errcode=43004)
            numbers.append(c.number)
    return numbers


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#login", "li.na")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('登录')")
    expect(page.locator("h1")).to_have_text("工作台")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_office_sees_its_call_tasks_and_closes_one(request: pytest.FixtureRequest, size: str,
                                                       live_server: LiveServer, open_tasks: list[str],
                                                       screenshot: Callable[..., Path]) -> None:
    page: Page = request.getfixturevalue(f"{size}_page")
    sign_in(page, live_server)
    section = page.locator("#staff-tasks")
    tasks = section.locator("li.task")
    expect(tasks).to_have_count(2)
    expect(section.locator("h2 .count")).to_have_text("2")
    expect(tasks.nth(0)).to_contain_text("客户未关注公众号（43004）")
    expect(tasks.nth(1)).to_contain_text("客户未通过微信投诉")
    expect(tasks.nth(0).locator(".task-text")).to_contain_text("补发3吨6061-T6铝板")
    assert horizontal_overflow(page) == 0
    section.scroll_into_view_if_needed()
    screenshot(page, f"tasks-{size}-dashboard", full_page=size == "desktop")

    first = tasks.nth(0)
    first.locator("textarea").fill("已电话告知客户处理结果，客户表示认可")
    first.locator("button:has-text('完成任务')").click()
    expect(page.locator(".flash")).to_have_text("任务已完成")
    expect(page.locator("#staff-tasks li.task")).to_have_count(1)
    screenshot(page, f"tasks-{size}-after-closing")

    page.click(f"#staff-tasks a:has-text('{open_tasks[1]}')")
    expect(page.locator("h1")).to_contain_text(open_tasks[1])
    expect(page.locator("#staff-tasks li.task")).to_have_count(1)
    expect(page.locator("#staff-tasks")).to_contain_text("电话告知客户")
    assert horizontal_overflow(page) == 0
    page.locator("#staff-tasks").scroll_into_view_if_needed()
    screenshot(page, f"tasks-{size}-case-page")
