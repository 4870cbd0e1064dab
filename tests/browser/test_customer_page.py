"""The customer's case page in a real browser, opened from the survey message's link: a phone at 390×844 (WeChat's
in-app browser) gives the stars, and the desktop view; the expired-link page. Screenshots under
tests/browser/screenshots/customer-*.png."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from handlers import customer, survey
from storage.models import Complaint, ComplaintStatus, OutboxMessage
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_survey import CUSTOMER, FED_BACK, resolved
from tests.handlers.test_workflow_support import make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page

NOW = FED_BACK + dt.timedelta(hours=3)


@pytest.fixture
def clock() -> list[dt.datetime]:
    return [NOW]


@pytest.fixture
def app(db: Any, app_config: dict[str, Any], clock: list[dt.datetime]) -> Any:
    """The app on the test clock (the case's links are issued at its time)."""
    from bot import create_app

    return create_app(app_config | {"CLOCK": lambda: clock[0]}, database=db)


@pytest.fixture
def message_link(db: Any, app: Any, company_config: dict[str, Any], live_server: LiveServer) -> str:
    """The link in the survey message the customer received, pointed at the live server."""
    with db.transaction() as s:
        world = make_world(s, company_config)
        c = resolved(world, category="delivery", description="上周送货晚了三天，司机态度也不好")
        survey.send_survey(s, c, ctx=world.at(FED_BACK + dt.timedelta(hours=2)))
    with db.read_sessions() as s:
        texts = [m.payload["text"] for m in s.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.recipient == CUSTOMER).order_by(OutboxMessage.id))]
    found = re.search(r'href="https?://[^"/]+(/c/\d+\?t=[^"]+)"', texts[-1])
    assert found is not None, "the survey message carries the page's link"
    return live_server.url + found.group(1)


def test_a_phone_opens_the_message_link_and_gives_stars(phone_page: Page, message_link: str, db: Any,
                                                       screenshot: Callable[..., Path]) -> None:
    page = phone_page
    page.goto(message_link)
    expect(page.locator(".hero-status")).to_have_text("待您评价")
    expect(page.locator(".result")).to_contain_text("已为您更换同规格铝板")
    assert horizontal_overflow(page) == 0
    screenshot(page, "customer-case-phone", full_page=True)

    page.locator("label[for=star-4]").click()
    page.fill("#comment", "送货还是慢了点")
    screenshot(page, "customer-survey-phone")
    page.locator("button.btn-primary").click()
    expect(page.locator(".notice-ok")).to_contain_text("感谢您的评价")
    expect(page.locator(".given")).to_have_attribute("aria-label", "4 星")
    expect(page.locator(".hero-status")).to_have_text("重新处理中")  # 80 < 85 on the general preset: reopened
    assert horizontal_overflow(page) == 0
    screenshot(page, "customer-answered-phone", full_page=True)
    with db.read_sessions() as s:
        status = s.scalar(sa.select(Complaint.status).where(Complaint.openid == CUSTOMER))
    assert status is ComplaintStatus.REOPENED


def test_the_stars_need_choosing_before_the_form_goes(phone_page: Page, message_link: str) -> None:
    page = phone_page
    page.goto(message_link)
    page.locator("button.btn-primary").click()  # the browser's own check: a star is required
    expect(page.locator(".hero-status")).to_have_text("待您评价")
    assert page.evaluate("document.querySelector('#star-1').validity.valueMissing") is True


def test_the_page_on_a_desktop(desktop_page: Page, message_link: str, screenshot: Callable[..., Path]) -> None:
    page = desktop_page
    page.goto(message_link)
    expect(page.locator(".hero-status")).to_have_text("待您评价")
    expect(page.locator(".steps li").first).to_contain_text("邀请您评价")
    assert horizontal_overflow(page) == 0
    screenshot(page, "customer-case-desktop", full_page=True)


def test_an_expired_link_on_a_phone(browser: Any, message_link: str, clock: list[dt.datetime],
                                    screenshot: Callable[..., Path]) -> None:
    clock[0] = NOW + customer.LINK_MAX_AGE + dt.timedelta(days=1)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        response = page.goto(message_link)
        assert response is not None and response.status == 410
        expect(page.locator(".msg-h")).to_have_text("链接已过期")
        assert "已为您更换" not in page.content()
        screenshot(page, "customer-expired-phone")
    finally:
        context.close()
