"""The evidence download job against the fake WeChat server: bytes stored under our own name after their
type is checked, refusals and expiries visible, passing failures retried, two workers never fetching one
row twice, and a worker killed mid-download leaving no half file under a final name."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.channels.wechat import OfficialAccountClient
from handlers import evidence
from scheduler.media import run_media_downloads
from storage.db import Database
from storage.models import Attachment, AttachmentKind, DownloadStatus
from tests.conftest import TEST_DATABASE_URL, repo_root, run_concurrently
from tests.fakes.fake_wechat import (  # noqa: F401 (pytest fixture)
    MEDIA_GET,
    TOKEN,
    VIDEO_DOWNLOAD,
    FakeWeChat,
    fake_wechat_fixture,
)

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MB = 1024 * 1024

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x01" * 600
GIF = b"GIF89a" + b"\x02" * 300
WEBP = b"RIFF\x00\x10\x00\x00WEBPVP8 " + b"\x03" * 300
# AMR-NB: the file header, then 12.2 kbit/s frames (a header byte and 31 bytes each): 1 s of silence.
AMR = b"#!AMR\n" + (bytes([0x3C]) + bytes(31)) * 50
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400)
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(500)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b"%" * 200
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + bytes(300)
TXT = "铝板表面划痕，批次 2602-A。\n".encode() * 10
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(300)
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def client_for(fake: FakeWeChat) -> OfficialAccountClient:
    return OfficialAccountClient(fake.appid, fake.secret, base_url=fake.url, timeout=5.0)


def add(db: Database, kind: AttachmentKind, media_id: str | None, **fields: object) -> int:
    with db.transaction() as s:
        row = Attachment(draft_openid="oCUSTOMER0000000000000001", kind=kind, media_id=media_id,
                         meta={"msg_id": "1"}, created_at=NOW, **fields)
        s.add(row)
        s.flush()
        return row.id


def load(db: Database, attachment_id: int) -> Attachment:
    with db.read_sessions() as s:
        row = s.get(Attachment, attachment_id)
        assert row is not None
        s.expunge(row)
        return row


def run(db: Database, fake: FakeWeChat, root: Path, **kwargs: object):
    kwargs.setdefault("max_bytes", 20 * MB)
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("ffmpeg", None)
    return run_media_downloads(db, client_for(fake), root, **kwargs)  # type: ignore[arg-type]


def stored(root: Path, row: Attachment) -> Path:
    path = (root / row.meta["path"]).resolve()
    assert path.is_relative_to(root.resolve()), "the file stays inside the attachment folder"
    return path


def no_leftovers(root: Path) -> None:
    assert [p.name for p in root.rglob("*.part")] == []


@pytest.mark.parametrize(("kind", "data", "declared", "extension", "mimetype"), [
    (AttachmentKind.IMAGE, JPEG, "image/jpeg", "jpg", "image/jpeg"),
    (AttachmentKind.IMAGE, PNG, "image/png", "png", "image/png"),
    (AttachmentKind.IMAGE, GIF, "image/gif", "gif", "image/gif"),
    (AttachmentKind.IMAGE, WEBP, "image/webp", "webp", "image/webp"),
    (AttachmentKind.IMAGE, PNG, "image/jpeg", "png", "image/png"),  # the bytes decide, not the header
    (AttachmentKind.VOICE, AMR, "audio/amr", "amr", "audio/amr"),
    (AttachmentKind.VOICE, MP3, "audio/mpeg", "mp3", "audio/mpeg"),
    (AttachmentKind.FILE, PDF, "application/pdf", "pdf", "application/pdf"),
    (AttachmentKind.FILE, DOCX, DOCX_TYPE, "docx", DOCX_TYPE),
    (AttachmentKind.FILE, TXT, "text/plain", "txt", "text/plain"),
])
def test_each_kind_is_stored_under_our_own_name(db: Database, fake_wechat: FakeWeChat, tmp_path: Path,
                                                kind: AttachmentKind, data: bytes, declared: str,
                                                extension: str, mimetype: str) -> None:
    fake_wechat.add_media("M-1", data, declared)
    attachment_id = add(db, kind, "M-1")
    assert load(db, attachment_id).download_status is DownloadStatus.PENDING

    stats = run(db, fake_wechat, tmp_path)

    assert (stats.stored, stats.retried, stats.failed) == (1, 0, 0)
    row = load(db, attachment_id)
    assert row.download_status is DownloadStatus.STORED and row.download_error is None
    assert row.meta["path"] == f"000/{attachment_id}.{extension}"  # our id, the detected type: no customer name
    assert stored(tmp_path, row).read_bytes() == data
    assert row.meta["content_type"] == mimetype and row.meta["size"] == len(data)
    assert row.meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert row.meta["msg_id"] == "1", "what intake recorded is kept"
    no_leftovers(tmp_path)
    assert [c.query["media_id"] for c in fake_wechat.calls_to(MEDIA_GET)] == ["M-1"]
    assert run(db, fake_wechat, tmp_path).attempted == 0, "a stored row is not fetched again"


def test_a_video_is_fetched_from_the_url_media_get_answers(db: Database, fake_wechat: FakeWeChat,
                                                            tmp_path: Path) -> None:
    fake_wechat.add_media("V-1", MP4, "video/mp4", video=True)
    attachment_id = add(db, AttachmentKind.VIDEO, "V-1")
    assert run(db, fake_wechat, tmp_path).stored == 1
    row = load(db, attachment_id)
    assert stored(tmp_path, row).read_bytes() == MP4 and row.meta["path"].endswith(".mp4")
    assert [c.path for c in fake_wechat.calls if c.path != TOKEN] == [MEDIA_GET, f"{VIDEO_DOWNLOAD}V-1"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg (Debian package) is not installed")
def test_voice_gets_a_playable_mp3_beside_the_amr_original(db: Database, fake_wechat: FakeWeChat,
                                                            tmp_path: Path) -> None:
    fake_wechat.add_media("VOICE-1", AMR, "audio/amr")
    attachment_id = add(db, AttachmentKind.VOICE, "VOICE-1")
    assert run(db, fake_wechat, tmp_path, ffmpeg="auto").stored == 1
    row = load(db, attachment_id)
    assert row.meta["path"] == f"000/{attachment_id}.mp3" and row.meta["content_type"] == "audio/mpeg"
    assert row.meta["playable"] is True
    assert stored(tmp_path, row).read_bytes()[:3] == b"ID3"  # what the console's <audio> plays
    original = tmp_path / row.meta["original_path"]
    assert original.name == f"{attachment_id}.amr" and original.read_bytes() == AMR  # the evidence itself
    no_leftovers(tmp_path)


def test_without_ffmpeg_the_amr_is_kept_for_download(db: Database, fake_wechat: FakeWeChat,
                                                      tmp_path: Path) -> None:
    fake_wechat.add_media("VOICE-1", AMR, "audio/amr")
    attachment_id = add(db, AttachmentKind.VOICE, "VOICE-1")
    assert run(db, fake_wechat, tmp_path, ffmpeg=None).stored == 1
    row = load(db, attachment_id)
    assert row.meta["path"] == f"000/{attachment_id}.amr" and row.meta["playable"] is False
    assert "ffmpeg not installed" in row.meta["conversion"]
    assert "original_path" not in row.meta


def test_a_failing_conversion_keeps_the_original(db: Database, fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    fake_wechat.add_media("VOICE-1", AMR, "audio/amr")
    attachment_id = add(db, AttachmentKind.VOICE, "VOICE-1")
    assert run(db, fake_wechat, tmp_path, ffmpeg="/bin/false").stored == 1
    row = load(db, attachment_id)
    assert row.meta["path"].endswith(".amr") and row.meta["playable"] is False
    assert row.meta["conversion"].startswith("ffmpeg failed")
    no_leftovers(tmp_path)


# -- refused ---------------------------------------------------------------------------------------------


def test_oversize_media_is_refused_before_it_is_read(db: Database, fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    fake_wechat.add_media("BIG", JPEG + bytes(2 * MB), "image/jpeg")
    attachment_id = add(db, AttachmentKind.IMAGE, "BIG")
    stats = run(db, fake_wechat, tmp_path, max_bytes=1 * MB)
    assert (stats.stored, stats.failed) == (0, 1)
    row = load(db, attachment_id)
    assert row.download_status is DownloadStatus.FAILED
    assert row.download_error is not None and row.download_error.startswith("too_large:")
    assert "path" not in row.meta
    assert list(tmp_path.rglob("*.*")) == [], "nothing of it is left on disk"
    assert run(db, fake_wechat, tmp_path).attempted == 0, "a refusal is final"


@pytest.mark.parametrize(("kind", "data", "declared", "reason"), [
    (AttachmentKind.IMAGE, EXE, "image/jpeg", "unsupported_type"),  # a "photo" that is a Windows program
    (AttachmentKind.IMAGE, JPEG, "text/html", "type_mismatch"),
    (AttachmentKind.FILE, EXE, "application/octet-stream", "unsupported_type"),
    (AttachmentKind.FILE, EXE, "application/x-msdownload", "type_mismatch"),
    (AttachmentKind.FILE, b"\x00\x01binary\x00" * 20, "text/plain", "unsupported_type"),
    (AttachmentKind.VOICE, JPEG, "audio/amr", "unsupported_type"),
    (AttachmentKind.FILE, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "application/x-msi", "type_mismatch"),
])
def test_wrong_types_are_refused_with_a_reason(db: Database, fake_wechat: FakeWeChat, tmp_path: Path,
                                               kind: AttachmentKind, data: bytes, declared: str,
                                               reason: str) -> None:
    fake_wechat.add_media("X", data, declared)
    attachment_id = add(db, kind, "X")
    assert run(db, fake_wechat, tmp_path).failed == 1
    row = load(db, attachment_id)
    assert row.download_status is DownloadStatus.FAILED
    assert row.download_error is not None and row.download_error.split(":")[0] == reason
    assert evidence.failure_reason(row) == reason
    assert list(tmp_path.rglob("*.*")) == []


# -- expired and passing failures -------------------------------------------------------------------------


def test_expired_media_fails_at_once_and_says_so(db: Database, fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    attachment_id = add(db, AttachmentKind.IMAGE, "GONE")  # the fake does not have it: 40007
    stats = run(db, fake_wechat, tmp_path)
    assert (stats.failed, stats.retried) == (0 + 1, 0)
    row = load(db, attachment_id)
    assert row.download_status is DownloadStatus.FAILED and row.download_attempts == 1
    assert row.download_error is not None and row.download_error.startswith("expired: 40007")
    assert evidence.failure_reason(row) == "expired"
    assert run(db, fake_wechat, tmp_path, now=NOW + dt.timedelta(days=1)).attempted == 0


@pytest.mark.parametrize("failure", [{"errcode": -1}, {"errcode": None, "status": 500}])
def test_a_passing_failure_is_retried_later_then_stored(db: Database, fake_wechat: FakeWeChat, tmp_path: Path,
                                                        failure: dict[str, int | None]) -> None:
    fake_wechat.add_media("M-1", JPEG, "image/jpeg")
    fake_wechat.fail_next(MEDIA_GET, **failure)  # type: ignore[arg-type]
    attachment_id = add(db, AttachmentKind.IMAGE, "M-1")

    assert run(db, fake_wechat, tmp_path).retried == 1
    row = load(db, attachment_id)
    assert (row.download_status, row.download_attempts) == (DownloadStatus.PENDING, 1)
    assert row.download_error and row.download_after is not None
    assert NOW + dt.timedelta(seconds=30) <= row.download_after <= NOW + dt.timedelta(minutes=1)

    assert run(db, fake_wechat, tmp_path).attempted == 0, "not before its backoff"
    assert run(db, fake_wechat, tmp_path, now=row.download_after).stored == 1
    row = load(db, attachment_id)
    assert (row.download_status, row.download_attempts, row.download_error) == (DownloadStatus.STORED, 2, None)


def test_a_timeout_is_retried(db: Database, fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    fake_wechat.add_media("M-1", JPEG, "image/jpeg")
    fake_wechat.delay(1.5, path=MEDIA_GET, times=1)
    attachment_id = add(db, AttachmentKind.IMAGE, "M-1")
    client = client_for(fake_wechat)
    client.media_read_timeout = 0.5
    stats = run_media_downloads(db, client, tmp_path, max_bytes=MB, now=NOW, ffmpeg=None)
    assert stats.retried == 1
    assert "timeout" in (load(db, attachment_id).download_error or "")
    no_leftovers(tmp_path)


def test_an_expired_token_is_refreshed_once_within_the_attempt(db: Database, fake_wechat: FakeWeChat,
                                                               tmp_path: Path) -> None:
    fake_wechat.add_media("M-1", JPEG, "image/jpeg")
    client = client_for(fake_wechat)
    client.access_token  # noqa: B018 (fetch one, then let the fake forget it)
    fake_wechat.expire_tokens()
    assert run_media_downloads(db, client, tmp_path, max_bytes=MB, now=NOW, ffmpeg=None).attempted == 0
    add(db, AttachmentKind.IMAGE, "M-1")
    assert run_media_downloads(db, client, tmp_path, max_bytes=MB, now=NOW, ffmpeg=None).stored == 1
    assert len(fake_wechat.calls_to(TOKEN)) == 2 and len(fake_wechat.calls_to(MEDIA_GET)) == 2


def test_after_the_last_attempt_it_fails_and_is_visible(db: Database, fake_wechat: FakeWeChat,
                                                        tmp_path: Path) -> None:
    fake_wechat.add_media("M-1", JPEG, "image/jpeg")
    fake_wechat.fail_next(MEDIA_GET, errcode=-1, times=3)
    attachment_id = add(db, AttachmentKind.IMAGE, "M-1")
    moment = NOW
    for _ in range(3):
        run(db, fake_wechat, tmp_path, now=moment, max_attempts=3)
        moment += dt.timedelta(hours=3)
    row = load(db, attachment_id)
    assert (row.download_status, row.download_attempts) == (DownloadStatus.FAILED, 3)
    assert row.download_error is not None and row.download_error.startswith("gave_up: 3 attempts; last: -1")


def test_rows_with_nothing_to_download_are_left_alone(db: Database, fake_wechat: FakeWeChat, tmp_path: Path) -> None:
    location = add(db, AttachmentKind.LOCATION, None)
    link = add(db, AttachmentKind.FILE, None, url="https://example.com/article")
    assert run(db, fake_wechat, tmp_path).attempted == 0
    assert load(db, location).download_status is DownloadStatus.NONE
    assert load(db, link).download_status is DownloadStatus.NONE
    assert fake_wechat.calls_to(MEDIA_GET) == []


# -- never twice, never half --------------------------------------------------------------------------------


def test_two_workers_never_download_one_attachment_twice(db: Database, fake_wechat: FakeWeChat,
                                                         tmp_path: Path) -> None:
    """On PostgreSQL this exercises FOR UPDATE SKIP LOCKED; on SQLite, BEGIN IMMEDIATE serialising claims."""
    count = 24
    ids = []
    for n in range(count):
        fake_wechat.add_media(f"M-{n}", JPEG + n.to_bytes(2, "big"), "image/jpeg")
        ids.append(add(db, AttachmentKind.IMAGE, f"M-{n}"))
    fake_wechat.delay(0.01, path=MEDIA_GET)

    def worker() -> int:
        client = client_for(fake_wechat)
        done = 0
        while (stats := run_media_downloads(db, client, tmp_path, max_bytes=MB, now=NOW, limit=3,
                                            ffmpeg=None)).attempted:
            done += stats.stored
        return done

    results, errors = run_concurrently(worker, [()] * 2)
    assert errors == []
    assert sum(results) == count
    fetched = [c.query["media_id"] for c in fake_wechat.calls_to(MEDIA_GET)]
    assert sorted(fetched) == sorted(f"M-{n}" for n in range(count)), "each media fetched exactly once"
    assert len({c.access_token for c in fake_wechat.calls_to(MEDIA_GET)}) == 2, "both workers took part"
    with db.read_sessions() as s:
        rows = s.scalars(sa.select(Attachment).where(Attachment.id.in_(ids))).all()
        assert {(r.download_status, r.download_attempts) for r in rows} == {(DownloadStatus.STORED, 1)}


WORKER = textwrap.dedent("""
    import datetime as dt, sys
    from pathlib import Path
    from bot.channels.wechat import OfficialAccountClient
    from scheduler.media import run_media_downloads
    from storage.db import Database
    url, appid, secret, database_url, root = sys.argv[1:6]
    client = OfficialAccountClient(appid, secret, base_url=url, timeout=30.0)
    now = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
    run_media_downloads(Database(database_url), client, Path(root), max_bytes=2**24, now=now, ffmpeg=None)
""")


def test_a_worker_killed_mid_download_leaves_no_half_file_and_the_next_one_finishes(
        db: Database, fake_wechat: FakeWeChat, tmp_path: Path, database_url: str) -> None:
    data = JPEG * 200  # 400 KB: its first half is several 64 KB chunks, written before the pause
    fake_wechat.add_media("SLOW", data, "image/jpeg")
    fake_wechat.stall_media("SLOW", 30.0)  # half the bytes, then a long pause: the worker is killed in it
    attachment_id = add(db, AttachmentKind.IMAGE, "SLOW")
    env = {**os.environ, "PYTHONPATH": str(repo_root())}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, fake_wechat.url, fake_wechat.appid, fake_wechat.secret,
                               database_url, str(tmp_path)], cwd=repo_root(), env=env)
    try:
        deadline = time.monotonic() + 30
        while sum(part.stat().st_size for part in tmp_path.rglob("*.part")) == 0:
            assert worker.poll() is None, "the worker ended before it was killed"
            assert time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL

    final = tmp_path / "000" / f"{attachment_id}.jpg"
    assert not final.exists(), "no file under the final name: nothing half-written can be served"
    row = load(db, attachment_id)
    assert (row.download_status, row.download_attempts) == (DownloadStatus.FETCHING, 1)
    assert "path" not in row.meta
    assert run(db, fake_wechat, tmp_path).attempted == 0, "its lease holds until it ends"

    fake_wechat.stall_media("SLOW", 0.0)
    later = NOW + evidence.DOWNLOAD_LEASE + dt.timedelta(seconds=1)
    for leftover in tmp_path.rglob("*.part"):  # the dead worker's partial file, as old as its lease
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    assert run(db, fake_wechat, tmp_path, now=later).stored == 1
    row = load(db, attachment_id)
    assert (row.download_status, row.download_attempts) == (DownloadStatus.STORED, 2)
    assert final.read_bytes() == data
    no_leftovers(tmp_path)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_claims_skip_rows_another_transaction_holds(db: Database) -> None:
    first = add(db, AttachmentKind.IMAGE, "A")
    second = add(db, AttachmentKind.IMAGE, "B")
    with db.transaction() as holder:
        held = evidence.claim_next(holder, NOW, skip_locked=True)
        assert held is not None and held.id == first
        with db.transaction() as other:  # while the first claim is uncommitted
            claim = evidence.claim_next(other, NOW, skip_locked=True)
            assert claim is not None and claim.id == second
