"""Real-browser tests: Playwright for Python driving Debian's Chromium (never a browser Playwright downloads).

`make test` installs what these need: the `playwright` package (the `[test]` extra) and, when it is missing and
we are root, Debian's `chromium` with a CJK font (Makefile target `browser`). Where no Chromium can be had the
tests skip with one line saying why; with TOUSU_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead. A Chromium
that is there but does not start fails the tests: that is a fault to see, not to skip.

Fixtures, for every page tousu serves (simulator now; console and customer pages next):

- ``browser``: one Chromium for the whole session (launching costs about a second; contexts are cheap);
- ``live_server`` (from tests/conftest.py): the app on a real loopback socket;
- ``phone_page`` (390×844, touch, mobile viewport rules) and ``desktop_page`` (1280×800): a fresh context each,
  and the test fails if the page logged a JavaScript error or a failed request (a 404 from a wrong URL);
- ``screenshot(page, name)``: a PNG under tests/browser/screenshots/ (git-ignored), to look at.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.conftest import LiveServer

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

#: Where Debian (and other distributions) put Chromium; TOUSU_CHROMIUM overrides.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/lib/chromium/chromium")


def chromium_path() -> str | None:
    """The Chromium to drive: $TOUSU_CHROMIUM, else the system's, else None."""
    override = os.environ.get("TOUSU_CHROMIUM")
    if override:
        return override
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    path = chromium_path()
    if path is None:
        return "no chromium on PATH (make test installs it as root: apt-get install chromium; or set TOUSU_CHROMIUM)"
    if not os.access(path, os.X_OK):
        return f"TOUSU_CHROMIUM={path} is not an executable file"
    return None


_WHY_NOT = _missing()  # decided once per run


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every browser test skips from this one line, so the summary folds them into one line saying why."""
    if _WHY_NOT is not None:
        if os.environ.get("TOUSU_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests need Chromium: {_WHY_NOT} (TOUSU_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(f"browser tests need Chromium: {_WHY_NOT}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path(), headless=True)
        yield instance
        instance.close()


class PageProblems:
    """JavaScript errors and failed requests a page had; a test's page must have none."""

    def __init__(self, page: Page) -> None:
        self.items: list[str] = []
        page.on("pageerror", lambda exc: self.items.append(f"JavaScript error: {exc}"))
        page.on("console", lambda msg: self.items.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.on("response", lambda r: self.items.append(f"HTTP {r.status} {r.request.method} {r.url}")
                if r.status >= 400 else None)
        page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        # ERR_ABORTED is the browser cancelling a request itself (the page navigated on or closed while, say,
        # the favicon was still loading): nothing the server or the page did wrong.
        if request.failure != "net::ERR_ABORTED":
            self.items.append(f"request failed {request.method} {request.url}: {request.failure}")


def _page(browser: Browser, **options: Any) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems(page)
    yield page
    context.close()
    assert problems.items == [], "the page had problems:\n" + "\n".join(problems.items)


# The page fixtures take the live server so that it starts before the page and stops after it: stopped
# first, it would reset a request still in flight (the favicon), and the page would fail on that.
@pytest.fixture
def phone_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A phone: 390×844 CSS pixels, touch, and the mobile viewport rules (a page without a viewport meta
    would be laid out 980 px wide, as on a real phone)."""
    yield from _page(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)


@pytest.fixture
def desktop_page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    yield from _page(browser, viewport=DESKTOP)


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, name, full_page=False)`` → the PNG's path, tests/browser/screenshots/<name>.png."""

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def expect(target: Any) -> Any:
    """Playwright's ``expect`` (waits until the assertion holds), imported when used: the test modules import
    this one, so they are collected, and skipped with one line, where playwright is not installed."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no sideways scrolling)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
