"""The case page says what became of evidence still held by WeChat: waiting (and retried), or 下载失败 with
the reason, which the download job (scheduler/media.py) recorded. Nothing remote is ever loaded."""

from __future__ import annotations

import pytest

from storage.models import Attachment, AttachmentKind, DownloadStatus
from tests.bot.console.support import START, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import make_complaint


@pytest.fixture
def number(db, world, app, tmp_path) -> str:
    app.config["TOUSU_ATTACHMENT_DIR"] = str(tmp_path)
    with in_transaction(db, world) as w:
        c = make_complaint(w, received_at=START)
        c.lead_office_id = w.dept("quality_office").id
        w.session.add_all([
            Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id="GONE",
                       download_status=DownloadStatus.FAILED, download_attempts=1,
                       download_error="expired: 40007: invalid media_id"),
            Attachment(complaint_id=c.id, kind=AttachmentKind.FILE, media_id="BIG",
                       download_status=DownloadStatus.FAILED, download_attempts=1,
                       download_error="too_large: 30000000 bytes over the 20971520 byte limit"),
            Attachment(complaint_id=c.id, kind=AttachmentKind.VOICE, media_id="BUSY",
                       download_status=DownloadStatus.PENDING, download_attempts=2, download_error="-1: busy"),
            Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id="NEW"),
        ])
        w.session.flush()
        return c.number


@pytest.mark.parametrize("userid", ["li.na", "chen.gang"])
def test_failed_downloads_show_their_reason_and_pending_ones_their_retries(client, db, world, number,
                                                                           userid) -> None:
    give_accounts(db, world, userid)
    sign_in(client, userid)
    html = client.get(f"/console/cases/{number}").text
    assert "下载失败：微信素材已过期（超过 3 天），无法再下载" in html
    assert "下载失败：文件超过大小上限" in html
    assert "已尝试 2 次，稍后自动重试" in html
    assert html.count("尚未下载") == 2  # the one being retried and the new one
    assert "40007" not in html and "bytes over" not in html, "operator detail stays in the database"


def test_someone_outside_the_scope_sees_none_of_it(client, db, world, number) -> None:
    give_accounts(db, world, "wang.qiang")  # 销售部: neither the ledger nor the handling department
    sign_in(client, "wang.qiang")
    response = client.get(f"/console/cases/{number}")
    assert response.status_code == 404 and "下载失败" not in response.text
