"""Issue 9's "done when", as a newcomer would try it after `make run`, in one real browser.

A follower files a complaint in the simulator; it appears on the general office's dashboard; the office
triages and assigns it; the handler, signed in by tapping the WeCom card in the simulator's staff pane (dev
mode plays WeCom's OAuth step), works it to feedback; the office prints its 闭环管理单.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers import accounts
from tests.browser.conftest import expect
from tests.browser.test_case_actions import PASSWORD, act, sign_in, sign_out, work_to_feedback
from tests.browser.test_simulator import SERVICE_COMPLAINT, dispatch, next_poll, open_simulator, say, start_complaint
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def office(db: Any, app_config: dict[str, Any]) -> None:
    """The demo org chart synced (as `make run` does) and the general office's head with a password."""
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"])
        accounts.create_account(s, name=world["zhang.wei"].name, userid="zhang.wei", password=PASSWORD,
                                now=dt.datetime.now(dt.UTC))


def test_a_complaint_from_the_simulator_to_its_printed_form(
    desktop_page: Page, live_server: LiveServer, office: None, app: Any, screenshot: Callable[..., Path]
) -> None:
    page = desktop_page
    open_simulator(page, live_server)
    start_complaint(page)
    for answer in SERVICE_COMPLAINT:
        say(page, answer)
    found = re.search(r"投诉编号 (\d{8})", say(page, "确认"))
    assert found
    number = found.group(1)

    # The general office (服务态度 goes to its ledger) finds it waiting for triage on the dashboard.
    sign_in(page, live_server, "zhang.wei")
    new = page.locator("#new")
    expect(new).to_contain_text(number)
    screenshot(page, "newcomer-dashboard-new-case", full_page=True)
    new.get_by_role("link", name=re.compile(number)).first.click()
    expect(page.locator("h1")).to_contain_text(number)
    act(page, "triage", "分类", lambda d: (d.get_by_label("有效投诉").check(),
                                          d.locator("#triage-severity").select_option("general")))
    act(page, "assign", "交办", lambda d: (d.locator("#assign-handling_department").select_option(label="销售部"),
                                          d.locator("#assign-responsible").select_option(label="销售部 · 王强")))
    sign_out(page)

    # 王强 is told by a WeCom card; tapping it in the simulator's staff pane opens the case, signed in.
    dispatch(app)
    open_simulator(page, live_server)  # at desktop width the staff pane sits beside the chat
    next_poll(page)
    card = page.locator("#staffFeed > div", has_text="您被指定为以下投诉的责任人").filter(has_text=number)
    expect(card).to_have_count(1)
    card.locator(".card-open", has_text="以 王强 身份打开").click()
    page.wait_for_url(f"{live_server.url}/console/cases/{number}")
    expect(page.locator(".who-name")).to_have_text("王强")

    work_to_feedback(
        page, methods=("电话沟通",), findings="业务员通话时态度生硬并提前挂断", cause="service_fault",
        department="销售部", report="业务员服务态度问题属实；已批评教育并培训。", measure="道歉",
        plan="电话致歉并安排专人对接", done="已致歉，客户接受", result="已向您致歉并安排专人对接，感谢您的监督。",
    )
    sign_out(page)

    # The office prints the form, filled from the record.
    sign_in(page, live_server, "zhang.wei")
    page.goto(f"{live_server.url}/console/cases/{number}")
    page.get_by_role("link", name=re.compile("打印")).click()
    expect(page.locator("h1")).to_have_text("客户投诉处理闭环管理单")
    form = page.locator("body")
    for expected in (number, "张三", "业务员电话里态度很差", "销售部", "已向您致歉并安排专人对接"):
        expect(form).to_contain_text(expected)
    screenshot(page, "newcomer-printed-form", full_page=True)
