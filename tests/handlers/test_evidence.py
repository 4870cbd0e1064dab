"""The evidence rules on their own: types by magic bytes, our own file names, reasons, the initial status."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from handlers import evidence
from handlers.evidence import FailureReason, Refused
from storage.models import Attachment, AttachmentKind, DownloadStatus


@pytest.mark.parametrize(("head", "declared", "name"), [
    (b"\xff\xd8\xff\xdb", "image/jpeg", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "application/octet-stream", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8L", "image/webp", "webp"),
    (b"#!AMR\n\x3c", "audio/amr", "amr"),
    (b"OggS\x00\x02" + bytes(22) + b"Speex   1.2", "audio/speex", "speex"),
    (b"ID3\x04", "audio/mpeg", "mp3"),
    (b"\x00\x00\x00\x20ftypisom", "video/mp4", "mp4"),
    (b"%PDF-1.7", "application/pdf", "pdf"),
    (b"PK\x03\x04", "application/zip", "zip"),
    (b"PK\x03\x04", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword", "doc"),
    ("投诉说明".encode(), "text/plain", "text"),
])
def test_types_come_from_the_bytes(head: bytes, declared: str, name: str) -> None:
    found = evidence.sniff(head, declared)
    assert found is not None and found.name == name


def test_a_declared_type_alone_is_not_enough() -> None:
    with pytest.raises(Refused) as refused:
        evidence.check_content(AttachmentKind.IMAGE, "image/png", b"<html><script>")
    assert refused.value.reason is FailureReason.UNSUPPORTED_TYPE
    with pytest.raises(Refused) as mismatch:
        evidence.check_content(AttachmentKind.VOICE, "image/jpeg", b"#!AMR\n")
    assert mismatch.value.reason is FailureReason.TYPE_MISMATCH
    assert evidence.check_content(AttachmentKind.IMAGE, "IMAGE/JPEG; charset=binary", b"\xff\xd8\xff").name == "jpeg"


def test_text_must_be_text_all_through() -> None:
    evidence.check_text("中文说明".encode())
    evidence.check_text("中文说明".encode("gb18030"))
    with pytest.raises(Refused):
        evidence.check_text(b"text\x00binary")


def test_paths_are_ours_and_sharded() -> None:
    assert str(evidence.stored_path(7, "jpg")) == "000/7.jpg"
    assert str(evidence.stored_path(12345, "mp3")) == "012/12345.mp3"
    with pytest.raises(ValueError):
        evidence.stored_path(1, "../x")


def test_a_new_row_is_pending_only_when_there_is_media_to_fetch(session: Session) -> None:
    rows = [Attachment(kind=AttachmentKind.IMAGE, media_id="M1", draft_openid="o"),
            Attachment(kind=AttachmentKind.VOICE, media_id="M2", draft_openid="o"),
            Attachment(kind=AttachmentKind.LOCATION, draft_openid="o", meta={"label": "厂区"}),
            Attachment(kind=AttachmentKind.FILE, url="https://example.com", draft_openid="o")]
    session.add_all(rows)
    session.flush()
    assert [r.download_status for r in rows] == [DownloadStatus.PENDING, DownloadStatus.PENDING,
                                                 DownloadStatus.NONE, DownloadStatus.NONE]
    assert [r.download_attempts for r in rows] == [0, 0, 0, 0]
