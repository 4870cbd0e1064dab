"""Working a case in a real browser: the office registers a phone complaint by hand, triages and assigns it;
the handler investigates, plans, implements and feeds back — every step a form on the case page. Then the
case page and the registration page on a phone (390×844). Screenshots in tests/browser/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from handlers import accounts
from storage.base import SHANGHAI
from storage.models import Complaint
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "correct-horse-42"


@pytest.fixture
def people(db: Any, app_config: dict[str, Any]) -> None:
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"])
        for userid in ("li.na", "zhao.lei"):
            accounts.create_account(s, name=world[userid].name, userid=userid, password=PASSWORD,
                                    now=dt.datetime.now(dt.UTC))


def sign_in(page: Page, server: LiveServer, login: str) -> None:
    page.goto(f"{server.url}/console/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    expect(page.locator("h1")).to_have_text("工作台")


def sign_out(page: Page) -> None:
    page.locator(".who button.link").click()
    expect(page.locator("h1")).to_have_text("工作人员登录")


def act(page: Page, action: str, label: str, fill: Callable[[Any], None] | None = None) -> None:
    """Open the action's form on the case page, fill it, submit, and see it done."""
    details = page.locator(f"#act-{action}")
    details.locator("summary").click()
    if fill is not None:
        fill(details)
    details.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text(f"已完成：{label}")


def work_to_feedback(page: Page, *, methods: tuple[str, ...], findings: str, cause: str, department: str,
                     report: str, measure: str, plan: str, done: str, result: str) -> None:
    """The handler's part on the case page: investigate, report, plan, implement and feed back."""
    act(page, "start_investigation", "开始调查")
    act(page, "record_investigation", "记录调查情况", lambda d: (
        *(d.get_by_label(method).check() for method in methods),
        d.locator("#record_investigation-findings").fill(findings),
        d.locator("#record_investigation-cause").select_option(cause),
        d.get_by_role("radio", name="公司责任", exact=True).check(),
        d.locator("#record_investigation-responsible_department").select_option(label=department),
        d.locator("#record_investigation-responsibility_type").select_option("direct")))
    act(page, "submit_report", "提交调查分析报告", lambda d: d.locator("#submit_report-report_text").fill(report))
    due = (dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=7)).isoformat()
    act(page, "propose_plan", "制定处置方案", lambda d: (
        d.get_by_label(measure).check(), d.locator("#propose_plan-description").fill(plan),
        d.locator("#propose_plan-due_date").fill(due)))
    act(page, "start_implementation", "启动实施")
    act(page, "complete_implementation", "实施完成", lambda d: d.locator("#complete_implementation-note").fill(done))
    act(page, "feed_back_result", "反馈处理结果", lambda d: (
        d.locator("#feed_back_result-text").fill(result),
        d.locator("#feed_back_result-channel").select_option("phone")))
    expect(page.locator("h1 .badge").first).to_have_text("已反馈")


def register_by_phone(page: Page) -> str:
    page.get_by_role("link", name="登记投诉").click()
    expect(page.locator("h1")).to_have_text("登记投诉")
    called = (dt.datetime.now(SHANGHAI) - dt.timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M")
    page.select_option("#source", "phone")
    page.fill("#received_at", called)
    page.select_option("#step-category", "product_quality")
    page.fill("#step-complainant_name", "洛阳某某机械厂")
    page.fill("#step-contact_person", "王工")
    page.fill("#step-phone", "13800138000")
    page.fill("#step-address", "洛阳市涧西区某路1号")
    page.fill("#step-product_name", "6061-T6铝板")
    page.fill("#step-batch", "B2602-01")
    page.fill("#step-purchase_date", "2026-01-15")
    page.fill("#step-quantity", "3吨")
    page.select_option("#step-problem_type", "surface")
    page.fill("#step-description", "铝板表面有划痕，影响冲压使用")
    page.fill("#step-loss", "无")
    page.locator("#step-demands").get_by_label("更换").check()
    page.get_by_role("button", name="登记").click()
    expect(page.locator(".flash")).to_contain_text("已登记投诉")
    number = re.search(r"/console/cases/(\d+)$", page.url)
    assert number, page.url
    return number.group(1)


def test_a_phone_complaint_from_registration_to_feedback(
    desktop_page: Page, live_server: LiveServer, people: None, db: Any, screenshot: Callable[..., Path]
) -> None:
    page = desktop_page
    sign_in(page, live_server, "li.na")
    number = register_by_phone(page)
    expect(page.locator("h1 .badge").first).to_have_text("已登记")
    # the case's own field (the timeline names the source too)
    expect(page.locator("dl.fields dd", has_text="电话/热线")).to_have_count(1)
    screenshot(page, "case-desktop-registered", full_page=True)

    act(page, "triage", "分类", lambda d: (d.get_by_label("有效投诉").check(),
                                          d.locator("#triage-severity").select_option("general")))
    act(page, "assign", "交办", lambda d: (d.locator("#assign-handling_department").select_option(label="生产部"),
                                          d.locator("#assign-responsible").select_option(label="生产部 · 赵磊"),
                                          d.locator("#assign-note").fill("请两日内组织调查")))
    expect(page.locator("h1 .badge").first).to_have_text("已交办")
    sign_out(page)

    sign_in(page, live_server, "zhao.lei")
    page.goto(f"{live_server.url}/console/cases/{number}")
    work_to_feedback(
        page, methods=("现场核查", "产品复检"), findings="包装衬纸缺失，运输中摩擦划伤", cause="transport_storage",
        department="物流部", report="包装衬纸缺失导致运输中摩擦划伤；整改：加衬纸。", measure="更换",
        plan="更换同规格铝板3吨", done="已更换并签收", result="已为您更换同规格铝板3吨，感谢反馈。",
    )
    expect(page.locator(".timeline")).to_contain_text("反馈处理结果")
    screenshot(page, "case-desktop-resolved", full_page=True)
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c.status.value == "resolved" and c.source.value == "phone"
        assert c.received_at < c.registered_at  # the call came before it was typed in


def test_the_case_page_and_registration_on_a_phone(
    phone_page: Page, live_server: LiveServer, people: None, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    sign_in(page, live_server, "li.na")
    page.get_by_role("link", name="登记投诉").click()
    assert horizontal_overflow(page) == 0
    screenshot(page, "register-phone", full_page=True)
    page.goto(f"{live_server.url}/console/")
    register_by_phone(page)
    assert horizontal_overflow(page) == 0
    screenshot(page, "case-phone", full_page=False)
    page.locator("#act-triage summary").click()
    expect(page.locator("#act-triage button[type=submit]")).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "case-phone-triage-form")
    page.locator("table.deadlines").scroll_into_view_if_needed()
    screenshot(page, "case-phone-deadlines")
    page.locator(".timeline").scroll_into_view_if_needed()
    screenshot(page, "case-phone-timeline")
