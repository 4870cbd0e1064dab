"""The scheduler runs the evidence download every minute (with an AppSecret) and the digest at 09:00."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from scheduler import build_scheduler
from storage.db import Database
from storage.models import Attachment, AttachmentKind, DownloadStatus
from tests.fakes.fake_wechat import (  # noqa: F401 (pytest fixture)
    MEDIA_GET,
    FakeWeChat,
    fake_settings,
    fake_wechat_fixture,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(500)


def test_the_jobs_are_registered_and_the_download_uses_the_one_folder_setting(
        db: Database, fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    settings = fake_settings(fake_wechat, TOUSU_ATTACHMENT_DIR=str(tmp_path / "evidence"), TOUSU_ATTACHMENT_MAX_MB="1")
    jobs = {job.id: job for job in build_scheduler(db, settings).get_jobs()}

    digest = jobs["overdue-digest"]
    assert isinstance(digest.trigger, CronTrigger) and str(digest.trigger.timezone) == "Asia/Shanghai"
    fields = {f.name: str(f) for f in digest.trigger.fields}
    assert (fields["hour"], fields["minute"], fields["day_of_week"]) == ("9", "0", "*")  # the calendar decides
    assert digest.misfire_grace_time == 3 * 3600
    assert jobs["evidence-download"].trigger.interval == dt.timedelta(minutes=1)

    fake_wechat.add_media("M-1", JPEG, "image/jpeg")
    fake_wechat.add_media("BIG", JPEG + bytes(2 * 1024 * 1024), "image/jpeg")
    with db.transaction() as s:
        small = Attachment(kind=AttachmentKind.IMAGE, media_id="M-1", draft_openid="o1")
        big = Attachment(kind=AttachmentKind.IMAGE, media_id="BIG", draft_openid="o1")
        s.add_all([small, big])
        s.flush()
        ids = small.id, big.id
    jobs["evidence-download"].func()  # what the scheduler runs every minute
    with db.read_sessions() as s:
        small_row, big_row = s.get(Attachment, ids[0]), s.get(Attachment, ids[1])
        assert small_row is not None and big_row is not None
        assert small_row.download_status is DownloadStatus.STORED
        assert (tmp_path / "evidence" / small_row.meta["path"]).read_bytes() == JPEG
        assert big_row.download_status is DownloadStatus.FAILED  # TOUSU_ATTACHMENT_MAX_MB=1
        assert (big_row.download_error or "").startswith("too_large")


def test_without_an_appsecret_there_is_no_download_job(db: Database, fake_wechat: FakeWeChat) -> None:
    jobs = {job.id for job in build_scheduler(db, fake_settings(fake_wechat, WECHAT_SECRET=None)).get_jobs()}
    assert "evidence-download" not in jobs and "overdue-digest" in jobs
    assert fake_wechat.calls_to(MEDIA_GET) == []
