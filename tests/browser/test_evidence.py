"""Evidence on the case page in a real browser, after the download job copied it from (fake) WeChat: the
photo shown, the voice converted to MP3 for the player (when ffmpeg is installed), an expired one marked
下载失败 with its reason, one still waiting. Phone (390×844) and desktop; screenshots in tests/browser/screenshots/."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.channels.wechat import OfficialAccountClient
from handlers import accounts
from scheduler.media import run_media_downloads
from storage.models import Attachment, AttachmentKind, DownloadStatus
from tests.browser.conftest import expect, horizontal_overflow
from tests.browser.test_case_actions import PASSWORD, sign_in
from tests.conftest import LiveServer
from tests.fakes.fake_wechat import FakeWeChat, fake_wechat_fixture  # noqa: F401 (pytest fixture)
from tests.handlers.test_workflow_support import make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page


def png(width: int, height: int) -> bytes:
    """A real PNG (an orange gradient), so the browser has something to draw."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"".join(bytes((230, 120 + (x * 100) // width, 40)) for x in range(width))
                    for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


AMR = b"#!AMR\n" + (bytes([0x3C]) + bytes(31)) * 50


@pytest.fixture
def case(db: Any, app: Any, app_config: dict[str, Any], fake_wechat: FakeWeChat, tmp_path: Path) -> str:
    root = tmp_path / "attachments"
    app.config["TOUSU_ATTACHMENT_DIR"] = str(root)
    fake_wechat.add_media("PHOTO", png(320, 200), "image/png")
    fake_wechat.add_media("VOICE", AMR, "audio/amr")
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"])
        accounts.create_account(s, name=world["li.na"].name, userid="li.na", password=PASSWORD,
                                now=dt.datetime.now(dt.UTC))
        complaint = make_complaint(world, received_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        complaint.lead_office_id = world.dept("quality_office").id
        for kind, media_id in ((AttachmentKind.IMAGE, "PHOTO"), (AttachmentKind.VOICE, "VOICE"),
                               (AttachmentKind.IMAGE, "EXPIRED")):
            s.add(Attachment(complaint_id=complaint.id, kind=kind, media_id=media_id))
        s.add(Attachment(complaint_id=complaint.id, kind=AttachmentKind.FILE, media_id="LATER",
                         download_status=DownloadStatus.PENDING, download_attempts=1,
                         download_after=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
        number = complaint.number
    client = OfficialAccountClient(fake_wechat.appid, fake_wechat.secret, base_url=fake_wechat.url)
    stats = run_media_downloads(db, client, root, max_bytes=1 << 20)
    assert (stats.stored, stats.failed) == (2, 1)
    return number


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_downloaded_evidence_on_the_case_page(request: pytest.FixtureRequest, live_server: LiveServer, case: str,
                                              size: str, screenshot: Callable[..., Path]) -> None:
    page: Page = request.getfixturevalue(f"{size}_page")
    sign_in(page, live_server, "li.na")
    page.goto(f"{live_server.url}/console/cases/{case}")
    evidence = page.locator("ul.evidence")
    evidence.scroll_into_view_if_needed()
    image = evidence.locator("img.evidence-image")
    expect(image).to_have_count(1)
    assert page.evaluate("img => img.complete && img.naturalWidth", image.element_handle()) == 320
    expect(evidence.locator("audio.evidence-audio")).to_have_count(1)
    expect(evidence).to_contain_text("下载失败：微信素材已过期（超过 3 天），无法再下载")
    expect(evidence).to_contain_text("已尝试 1 次，稍后自动重试")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"evidence-{size}")
