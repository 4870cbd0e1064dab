"""The printable 《客户投诉处理闭环管理单》 in a real browser: on screen (phone and an A4-shaped desktop window)
and printed to PDF by Chromium itself on A4, turned into a PNG (pdftoppm, when installed) to look at."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from handlers.workflow import operations as ops
from tests.bot.console.support import START, in_transaction
from tests.browser.conftest import SCREENSHOTS, expect, horizontal_overflow
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
def fed_back_case(db: Any, world: World) -> str:
    """A quality case worked to feedback: every part of the form has something in it."""
    with in_transaction(db, world) as w:
        c = assigned(w, make_complaint(
            w, number="26020077", complainant_name="洛阳某某机械厂", address="洛阳市涧西区某路1号",
            description="6061-T6铝板表面有划痕，约3吨，影响后续阳极氧化，请尽快处理。"), responsible="zhao.lei")
        ops.start_investigation(w.session, w["zhao.lei"], c, ctx=w.ctx())
        ops.record_investigation(
            w.session, w["zhao.lei"], c, ctx=w.ctx(), methods=["site_check", "retest"], findings="包装衬纸缺失",
            cause="transport_storage", responsibility="company", responsible_department=w.dept("logistics"),
            responsibility_type="direct")
        ops.submit_report(w.session, w["zhao.lei"], c, ctx=w.ctx(), report_text="包装衬纸缺失导致运输中摩擦划伤。")
        ops.propose_plan(w.session, w["zhao.lei"], c, ctx=w.ctx(), measures=["replace"], description="更换3吨铝板",
                         due_date=dt.date(2026, 3, 3))
        ops.start_implementation(w.session, w["zhao.lei"], c, ctx=w.ctx())
        ops.complete_implementation(w.session, w["zhao.lei"], c, ctx=w.ctx(), note="已更换")
        ops.feed_back_result(w.session, w["li.na"], c, ctx=w.ctx(),
                             text="经调查系运输包装衬纸缺失所致，已为您更换3吨铝板，并改进包装。")
        return c.number


def open_form(page: Page, server: LiveServer, number: str) -> None:
    """Signed in as 李娜 (品质保障处, the lead office) through the dev sign-in, straight onto the form."""
    page.goto(f"{server.url}/dev/simulator/wecom/signin?userid=li.na&next=/console/cases/{number}/print")
    page.wait_for_url(f"{server.url}/console/cases/{number}/print")
    expect(page.locator("h1")).to_have_text("客户投诉处理闭环管理单")


def test_the_form_on_a_desktop_and_on_paper(desktop_page: Page, live_server: LiveServer, fed_back_case: str,
                                            screenshot: Callable[..., Path]) -> None:
    page = desktop_page
    page.set_viewport_size({"width": 900, "height": 1270})  # about the shape of A4
    open_form(page, live_server, fed_back_case)
    expect(page.locator("table.form")).to_contain_text("洛阳某某机械厂")
    expect(page.locator("table.form")).to_contain_text("承办部门（签章）")
    screenshot(page, "print-desktop", full_page=True)

    pdf = SCREENSHOTS / "print-a4.pdf"
    page.emulate_media(media="print")
    expect(page.locator(".toolbar")).to_be_hidden()
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdfinfo") and shutil.which("pdftoppm"):  # poppler-utils: `apt-get install poppler-utils`
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True, timeout=60).stdout
        assert re.search(r"^Pages:\s+1$", info, flags=re.M), "the form fits on one A4 page"
        assert "(A4)" in info, info
        subprocess.run(["pdftoppm", "-png", "-r", "70", "-singlefile", str(pdf), str(SCREENSHOTS / "print-a4")],
                       check=True, timeout=60)
        assert (SCREENSHOTS / "print-a4.png").stat().st_size > 10_000


def test_the_form_on_a_phone(phone_page: Page, live_server: LiveServer, fed_back_case: str,
                             screenshot: Callable[..., Path]) -> None:
    open_form(phone_page, live_server, fed_back_case)
    phone_page.wait_for_load_state("networkidle")
    assert horizontal_overflow(phone_page) == 0
    screenshot(phone_page, "print-phone", full_page=True)


def test_the_case_page_links_to_the_form(phone_page: Page, live_server: LiveServer, fed_back_case: str) -> None:
    page = phone_page
    page.goto(f"{live_server.url}/dev/simulator/wecom/signin?userid=li.na&next=/console/cases/{fed_back_case}")
    page.get_by_role("link", name="打印《客户投诉处理闭环管理单》").click()
    page.wait_for_url(f"{live_server.url}/console/cases/{fed_back_case}/print")
    page.get_by_role("link", name=f"‹ 返回案件 {fed_back_case}").click()
    page.wait_for_url(f"{live_server.url}/console/cases/{fed_back_case}")
    page.wait_for_load_state("networkidle")  # the icon too, before the server stops
