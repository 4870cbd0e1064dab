"""A staff card in the simulator's staff pane, tapped on a phone: the case page opens, signed in as the
card's recipient (dev mode plays WeCom's OAuth step), at 390×844 like WeCom's in-app browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.bot.console.support import START, in_transaction
from tests.browser.conftest import DESKTOP, PHONE, expect, horizontal_overflow
from tests.browser.test_simulator import dispatch, next_poll, open_simulator
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import World, assigned, make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def world(db: Any, app_config: dict[str, Any]) -> Iterator[World]:
    with db.transaction() as s:
        w = make_world(s, app_config["COMPANY"], now=START)
    yield w


@pytest.fixture
def assigned_case(db: Any, world: World, app: Any) -> str:
    """A case assigned to 赵磊 (生产部): the assignment card is queued, then delivered to the dev sink."""
    with in_transaction(db, world) as w:
        complaint = assigned(w, make_complaint(w, number="26020042", complainant_name="洛阳某某机械厂"),
                             responsible="zhao.lei")
        number = complaint.number
    dispatch(app)
    return number


def test_tapping_a_staff_card_opens_the_case_signed_in(
    phone_page: Page, live_server: LiveServer, assigned_case: str, screenshot: Callable[..., Path]
) -> None:
    page = phone_page
    open_simulator(page, live_server)
    page.locator("[data-tab=staff]").click()
    next_poll(page)
    card = page.locator("#staffFeed > div", has_text="您被指定为以下投诉的责任人")
    expect(card).to_have_count(1)
    expect(card.locator(".card-url")).to_contain_text(f"/console/wecom/login?next=/console/cases/{assigned_case}")
    screenshot(page, "wecom-card-in-simulator-phone")

    card.locator(".card-open", has_text="以 赵磊 身份打开").click()
    page.wait_for_url(f"{live_server.url}/console/cases/{assigned_case}")
    expect(page.locator("h1")).to_contain_text(assigned_case)
    expect(page.locator(".who-name")).to_have_text("赵磊")
    page.wait_for_load_state("networkidle")
    assert horizontal_overflow(page) == 0
    screenshot(page, "wecom-card-landed-on-case-phone")


def test_the_card_link_without_wecom_explains_the_dev_way(
    browser: Any, live_server: LiveServer, assigned_case: str, screenshot: Callable[..., Path]
) -> None:
    """The refusal page (an HTTP 503, so not through the fixtures that fail on any error status)."""
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, seen=errors: seen.append(str(exc)))
        page.on("requestfailed", lambda r, seen=errors: seen.append(r.url))
        response = page.goto(f"{live_server.url}/console/wecom/login?next=/console/cases/{assigned_case}")
        assert response is not None and response.status == 503
        expect(page.locator("h1")).to_have_text("企业微信登录未完成")
        expect(page.locator("main")).to_contain_text("模拟器")
        assert horizontal_overflow(page) == 0 and errors == []
        screenshot(page, f"wecom-not-configured-{size}")
        context.close()
