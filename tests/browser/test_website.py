"""The website's complaint page in a real browser: a visitor on a phone (390×844) and on a desktop picks the
category (the quality steps appear only then), fills the chat's form, adds a photo, submits, gets the number
and opens the case page by its link. Screenshots under tests/browser/screenshots/website-*.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from storage.models import Attachment, Complaint, Source
from tests.bot.console.support import START, Clock
from tests.bot.website_support import png
from tests.browser.conftest import PHONE, expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import make_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def app(db: Any, app_config: dict[str, Any], tmp_path: Path) -> Any:
    from bot import create_app

    config = app_config | {"CLOCK": Clock(START), "TOUSU_ATTACHMENT_DIR": str(tmp_path / "evidence")}
    built = create_app(config, database=db)
    with db.transaction() as s:
        make_world(s, app_config["COMPANY"], now=START)
    return built


def _file_a_quality_complaint(page: Page, live_server: LiveServer, tmp_path: Path,
                              screenshot: Callable[..., Path], name: str) -> str:
    page.goto(live_server.url + "/w/complaint?from=site")
    expect(page.locator("h1")).to_have_text("在线投诉")
    product = page.locator("#field-product_name")
    expect(product).to_be_hidden()  # a quality step, before the category says so
    assert horizontal_overflow(page) == 0
    screenshot(page, f"website-{name}-empty", full_page=True)

    page.locator("label.option", has_text="产品质量").click()
    expect(product).to_be_visible()
    page.fill("#f-complainant_name", "洛阳某某机械厂")
    page.fill("#f-contact_person", "王工")
    page.fill("#f-phone", "138 0013 8000")
    page.fill("#f-product_name", "6061-T6铝板")
    page.fill("#f-batch", "B2602-01")
    page.fill("#f-purchase_date", "1月15日")
    page.fill("#f-quantity", "3吨")
    page.locator("#field-problem_type label.option", has_text="表面").first.click()
    page.fill("#f-description", "铝板表面有划痕，影响使用")
    page.fill("#f-loss", "无")
    page.locator("#field-demands label.option").first.click()
    photo = tmp_path / "IMG_0001.png"
    photo.write_bytes(png(64, 48))
    page.set_input_files("#f-photos", str(photo))
    assert horizontal_overflow(page) == 0
    screenshot(page, f"website-{name}-filled", full_page=True)
    page.locator("button[type=submit]").click()

    expect(page.locator(".hero-status")).to_have_text("投诉已提交")
    number = page.locator("#case-number").inner_text()
    assert number.isdigit()
    assert horizontal_overflow(page) == 0
    screenshot(page, f"website-{name}-done", full_page=True)
    page.locator("#case-link").click()
    expect(page.locator(".hero-label")).to_have_text(f"投诉编号 {number}")
    screenshot(page, f"website-{name}-case", full_page=True)
    return number


def _check_filed(db: Any, number: str) -> None:
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c is not None and c.source is Source.WEBSITE and c.received_at == START
        assert c.category == "product_quality" and c.product_name == "6061-T6铝板" and c.phone == "+8613800138000"
        [a] = s.scalars(sa.select(Attachment).where(Attachment.complaint_id == c.id))
        assert a.meta["content_type"] == "image/png"


def test_a_visitor_on_a_phone_files_a_complaint_with_a_photo(phone_page: Page, live_server: LiveServer, db: Any,
                                                             tmp_path: Path, screenshot: Callable[..., Path]) -> None:
    number = _file_a_quality_complaint(phone_page, live_server, tmp_path, screenshot, "phone")
    _check_filed(db, number)


def test_a_visitor_on_a_desktop_files_a_complaint_with_a_photo(desktop_page: Page, live_server: LiveServer, db: Any,
                                                               tmp_path: Path,
                                                               screenshot: Callable[..., Path]) -> None:
    number = _file_a_quality_complaint(desktop_page, live_server, tmp_path, screenshot, "desktop")
    _check_filed(db, number)


def test_the_page_checks_a_photos_size_before_sending(phone_page: Page, live_server: LiveServer,
                                                     tmp_path: Path, screenshot: Callable[..., Path]) -> None:
    page = phone_page
    page.goto(live_server.url + "/w/complaint")
    big = tmp_path / "big.png"
    big.write_bytes(png() + b"\x00" * (11 * 1024 * 1024))
    page.set_input_files("#f-photos", str(big))
    expect(page.locator("#f-photos-error")).to_have_text("照片“big.png”超过 10 MB，请选择较小的照片。")
    page.locator("button[type=submit]").click()
    expect(page.locator("#f-photos-error")).to_be_visible()  # not sent: still the form, nothing lost
    expect(page.locator("h1")).to_have_text("在线投诉")
    screenshot(page, "website-phone-photo-too-large")


def test_a_wrong_answer_comes_back_with_the_chats_hint_and_the_input_kept(
        browser: Browser, live_server: LiveServer, db: Any, screenshot: Callable[..., Path]) -> None:
    """The refused form is an HTTP 422 (which the phone_page fixture would count as a fault): its own context."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(live_server.url + "/w/complaint")
        page.locator("label.option", has_text="服务态度").click()
        expect(page.locator("#field-product_name")).to_be_hidden()
        page.fill("#f-complainant_name", "张三")
        page.fill("#f-phone", "12345")
        page.fill("#f-description", "送货司机态度很差，还乱扔包装")
        page.fill("#f-loss", "无")
        page.locator("#field-demands label.option").first.click()
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.locator("button[type=submit]").click()
        assert posted.value.status == 422
        expect(page.locator("#f-phone-error")).to_contain_text("手机号应为11位数字（您输入了5位）")
        expect(page.locator("#f-phone")).to_have_value("12345")
        expect(page.locator("#f-description")).to_have_value("送货司机态度很差，还乱扔包装")
        expect(page.locator("#field-product_name")).to_be_hidden()  # still a service complaint
        assert horizontal_overflow(page) == 0
        screenshot(page, "website-phone-refused", full_page=True)
        page.fill("#f-phone", "13900139000")
        page.locator("button[type=submit]").click()
        expect(page.locator(".hero-status")).to_have_text("投诉已提交")
    finally:
        context.close()
    assert errors == []
    with db.read_sessions() as s:
        assert s.scalar(sa.select(Complaint.phone).where(Complaint.source == Source.WEBSITE)) == "+8613900139000"


def test_the_page_works_inside_the_company_sites_iframe(app: Any, desktop_page: Page, live_server: LiveServer,
                                                        db: Any, screenshot: Callable[..., Path]) -> None:
    """The <iframe> snippet of 管理 → 网站投诉入口 on the company's site (another origin, named in
    ``[website] embed_origins``): the form loads and files inside the frame (no cookie is needed), and the case
    link opens the case page in the whole window."""
    from dataclasses import replace

    # The "company site": another origin (localhost, not 127.0.0.1).
    site = live_server.url.replace("127.0.0.1", "localhost")
    rt = app.extensions["tousu"]
    rt.settings = replace(rt.settings, policy=replace(rt.settings.policy, website=replace(
        rt.settings.policy.website, embed_origins=(site,))))
    page = desktop_page
    host = ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            '<title>示例铝业 · 客户服务</title></head><body><h1>客户服务</h1>'
            f'<iframe src="{live_server.url}/w/complaint?from=site" title="在线投诉" width="100%" height="1400" '
            'loading="lazy"></iframe></body></html>')
    # served by the same loopback server under another host name (a page fulfilled by the test itself counts
    # as public, and Chromium blocks a public page framing a loopback one)
    app.add_url_rule("/test-host/service", "test_host",
                     lambda: (host, 200, {"Content-Type": "text/html; charset=utf-8"}))
    page.goto(f"{site}/test-host/service")
    frame = page.frame_locator("iframe")
    expect(frame.locator("h1")).to_have_text("在线投诉")
    frame.locator("label.option", has_text="交付物流").click()
    frame.locator("#f-complainant_name").fill("李四")
    frame.locator("#f-phone").fill("13700137000")
    frame.locator("#f-description").fill("到货晚了三天，耽误了生产")
    frame.locator("#f-loss").fill("停工半天，约2000元")
    frame.locator("#field-demands label.option").first.click()
    frame.locator("button[type=submit]").click()
    expect(frame.locator(".hero-status")).to_have_text("投诉已提交")
    number = frame.locator("#case-number").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "website-desktop-iframe-done")
    frame.locator("#case-link").click()
    page.wait_for_url(f"{live_server.url}/c/{number}?t=*")  # target=_top: the case page owns the window
    expect(page.locator(".hero-label")).to_have_text(f"投诉编号 {number}")
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c is not None and c.source is Source.WEBSITE and c.category == "delivery"
