"""The REST API's browsable documentation (Swagger UI at /api/v1/swagger) in a real browser: it renders every
operation from /api/v1/openapi.json with assets served by tousu itself (no request leaves the server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import expect
from tests.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def _open(page: Page, live_server: LiveServer) -> list[str]:
    hosts: list[str] = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).netloc))
    page.goto(f"{live_server.url}/api/v1/swagger")
    expect(page.locator(".opblock").first).to_be_visible()
    return hosts


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_swagger_ui_shows_the_api_from_local_assets(request: pytest.FixtureRequest, live_server: LiveServer,
                                                    screenshot: Callable[..., Path], size: str) -> None:
    page: Page = request.getfixturevalue(f"{size}_page")
    hosts = _open(page, live_server)
    expect(page.locator(".info .title")).to_contain_text("投诉通 tousu API")
    # every operation of the document is listed, the workflow operations among them
    assert page.locator(".opblock").count() >= 33
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/complaints/{number}/triage")).to_be_visible()
    assert set(hosts) == {urlsplit(live_server.url).netloc}, hosts  # nothing from a CDN
    screenshot(page, f"api-docs-{size}")


def test_the_docs_index_links_to_the_swagger_page(desktop_page: Page, live_server: LiveServer,
                                                  screenshot: Callable[..., Path]) -> None:
    desktop_page.goto(f"{live_server.url}/api/v1/")
    link = desktop_page.get_by_text("Swagger", exact=True)
    expect(link).to_be_visible()
    screenshot(desktop_page, "api-docs-index")
    link.click()
    expect(desktop_page.locator(".opblock").first).to_be_visible()
