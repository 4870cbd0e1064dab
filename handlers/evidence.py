"""Evidence that outlives WeChat: which attachments to download, what we accept, where it goes.

Photos, voice and videos a customer sends during intake reach us as WeChat *temporary media* (a
``media_id``), which WeChat deletes after 3 days. The download job (``scheduler/media.py``) copies each one
to our disk; this module holds its rules, as plain functions on a Session and on bytes:

* **what is pending** — `claim_next`: a row ``pending`` and due, or ``fetching`` whose worker's lease ran
  out (the worker died); claimed under ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers
  with BEGIN IMMEDIATE), committed as ``fetching`` before the download, so two workers never fetch one row;
* **what we accept** — `check_content`: the type is decided by the file's first bytes (magic numbers),
  never by the name or the header alone; the declared Content-Type must agree with the attachment's kind;
  anything else is refused with a reason code (`Refused`);
* **where it goes** — `stored_path`: ``<shard>/<attachment id>.<extension of the detected type>`` under the
  attachment folder, never a name the customer chose;
* **what happened** — `record_stored`, `record_retry`, `record_failed`; ``download_error`` starts with a
  reason code (`FailureReason`) that the console turns into Chinese (下载失败：原因).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import Attachment, AttachmentKind, DownloadStatus

#: Attempts before a download that keeps failing for a passing reason (busy, timeouts) is given up.
MAX_DOWNLOAD_ATTEMPTS = 8
#: How long a claimed row belongs to its worker; a worker gone longer than this (SIGKILL) loses it.
DOWNLOAD_LEASE = dt.timedelta(minutes=10)
#: Backoff between attempts: 1 min doubling to 2 h, so the last of 8 tries is about 4 h after the first,
#: well inside WeChat's 3 days.
RETRY_BASE = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=2)
#: WeChat: "invalid media_id" — the temporary media expired (3 days) or never existed. Retrying is useless.
MEDIA_EXPIRED_ERRCODE = 40007
#: Bytes read to detect a type (every magic number below fits).
SNIFF_BYTES = 64
ERROR_LENGTH = 300  # Attachment.download_error is VARCHAR(300)


class FailureReason(enum.StrEnum):
    """Why a download was given up; the console's wording per reason is in its template."""

    EXPIRED = "expired"  # 40007: WeChat no longer has the media
    TOO_LARGE = "too_large"  # over TOUSU_ATTACHMENT_MAX_MB
    UNSUPPORTED_TYPE = "unsupported_type"  # the bytes are not a type we accept for this kind
    TYPE_MISMATCH = "type_mismatch"  # the declared Content-Type is not one this kind may have
    REJECTED = "rejected"  # the platform refused for good (another permanent error code)
    GAVE_UP = "gave_up"  # MAX_DOWNLOAD_ATTEMPTS passing failures in a row


@dataclass(frozen=True)
class FileType:
    """A type we keep: the short name, the extension we give the file, the MIME type we serve it as."""

    name: str
    extension: str
    mimetype: str


_T = FileType
JPEG, PNG, GIF, WEBP = _T("jpeg", "jpg", "image/jpeg"), _T("png", "png", "image/png"), \
    _T("gif", "gif", "image/gif"), _T("webp", "webp", "image/webp")
AMR, SPEEX, MP3 = _T("amr", "amr", "audio/amr"), _T("speex", "spx", "audio/ogg"), _T("mp3", "mp3", "audio/mpeg")
MP4 = _T("mp4", "mp4", "video/mp4")
PDF, ZIP, TEXT = _T("pdf", "pdf", "application/pdf"), _T("zip", "zip", "application/zip"), \
    _T("text", "txt", "text/plain")
_OPENXML = "application/vnd.openxmlformats-officedocument"
_OOXML = {  # zip containers of the office formats, told apart by their declared type
    f"{_OPENXML}.{sub}": _T(ext, ext, f"{_OPENXML}.{sub}")
    for ext, sub in (("docx", "wordprocessingml.document"), ("xlsx", "spreadsheetml.sheet"),
                     ("pptx", "presentationml.presentation"))
}
_OLE = {  # the old binary office formats share one container (so do .msi installers: declared type decides)
    "application/msword": _T("doc", "doc", "application/msword"),
    "application/vnd.ms-excel": _T("xls", "xls", "application/vnd.ms-excel"),
    "application/vnd.ms-powerpoint": _T("ppt", "ppt", "application/vnd.ms-powerpoint"),
}
GENERIC = "application/octet-stream"  # a platform that does not say: the bytes decide alone

#: Declared Content-Types each kind may arrive with (besides `GENERIC`).
DECLARED: dict[AttachmentKind, frozenset[str]] = {
    AttachmentKind.IMAGE: frozenset({"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/gif",
                                     "image/webp"}),
    AttachmentKind.VOICE: frozenset({"audio/amr", "audio/amr-wb", "audio/speex", "audio/x-speex", "audio/ogg",
                                     "audio/mpeg", "audio/mp3"}),
    AttachmentKind.VIDEO: frozenset({"video/mp4", "video/mpeg4"}),
    AttachmentKind.FILE: frozenset({"application/pdf", "application/zip", "application/x-zip-compressed",
                                    "text/plain", *_OOXML, *_OLE}),
}
#: Detected types each kind accepts.
ACCEPTED: dict[AttachmentKind, frozenset[str]] = {
    AttachmentKind.IMAGE: frozenset({"jpeg", "png", "gif", "webp"}),
    AttachmentKind.VOICE: frozenset({"amr", "speex", "mp3"}),
    AttachmentKind.VIDEO: frozenset({"mp4"}),
    AttachmentKind.FILE: frozenset({"pdf", "zip", "text", *(t.name for t in _OOXML.values()),
                                    *(t.name for t in _OLE.values())}),
}


class Refused(Exception):
    """The downloaded bytes are not kept: ``reason`` for the record, ``detail`` for the operator."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


def base_type(content_type: str | None) -> str:
    """``Image/JPEG; charset=x`` → ``image/jpeg``; nothing declared → `GENERIC`."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return value or GENERIC


def sniff(head: bytes, declared: str) -> FileType | None:
    """The type the first bytes say, None when they name none we know. ``declared`` only tells apart
    formats that share a container (docx/xlsx/pptx in a zip, doc/xls/ppt in OLE) and confirms plain text."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"#!AMR\n", b"#!AMR-WB\n")):
        return AMR
    if head[:4] == b"OggS" and b"Speex   " in head:
        return SPEEX
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    if head[4:8] == b"ftyp":
        return MP4
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _OOXML.get(declared, ZIP)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _OLE.get(declared)
    if declared == "text/plain" and head and b"\x00" not in head:
        return TEXT  # confirmed over the whole file by `check_text`
    return None


def check_content(kind: AttachmentKind, content_type: str | None, head: bytes) -> FileType:
    """The type to keep the file as, or `Refused`: the declared type must suit the kind, and the first
    bytes must be a type the kind accepts (a "photo" that is really an .exe is refused, whatever it says)."""
    declared = base_type(content_type)
    if declared != GENERIC and declared not in DECLARED.get(kind, frozenset()):
        raise Refused(FailureReason.TYPE_MISMATCH, f"declared {declared} for a {kind.value}")
    found = sniff(head, declared)
    if found is None or found.name not in ACCEPTED.get(kind, frozenset()):
        what = found.name if found else f"unknown bytes {head[:8].hex()}"
        raise Refused(FailureReason.UNSUPPORTED_TYPE,
                      f"{what} is not accepted for a {kind.value} (declared {declared})")
    return found


def check_text(data: bytes) -> None:
    """A .txt must be text all through: UTF-8 or GB18030 (what Chinese Windows writes), no NUL bytes."""
    if b"\x00" in data:
        raise Refused(FailureReason.UNSUPPORTED_TYPE, "text/plain with NUL bytes (binary)")
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return
        except UnicodeDecodeError:
            continue
    raise Refused(FailureReason.UNSUPPORTED_TYPE, "text/plain that is neither UTF-8 nor GB18030")


def check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise Refused(FailureReason.TOO_LARGE, f"{size} bytes over the {max_bytes} byte limit")


def stored_path(attachment_id: int, extension: str) -> PurePosixPath:
    """Where an attachment's file lives, relative to the attachment folder: ``000/123.jpg`` (a thousand
    files per folder). Only our id and the detected type's extension: nothing the customer chose."""
    if not extension.isalnum():
        raise ValueError(f"bad extension {extension!r}")
    return PurePosixPath(f"{attachment_id // 1000:03d}") / f"{int(attachment_id)}.{extension}"


def stored_files(meta: dict[str, Any] | None) -> list[PurePosixPath]:
    """The files an attachment's ``meta`` names, relative to the attachment folder: the served file and, for
    a converted voice, its original."""
    meta = meta or {}
    return [PurePosixPath(str(meta[key])) for key in ("path", "original_path") if meta.get(key)]


def attachment_id_of(name: str) -> int | None:
    """The attachment id a stored file's name starts with (``123.jpg`` → 123); None for anything else
    (a ``.part`` file of a download in progress, a stray file)."""
    stem = name.split(".", 1)[0]
    return int(stem) if not name.startswith(".") and stem.isdigit() and "." in name else None


def remove_files(root: Path, files: Iterable[PurePosixPath]) -> int:
    """Delete these evidence files under ``root`` (call it after the commit that dropped their rows);
    returns how many were there. A path that would leave ``root`` is ignored."""
    base = root.resolve()
    removed = 0
    for relative in files:
        path = (base / relative).resolve()
        if not path.is_relative_to(base):
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


# -- the rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One claimed download, detached from its session (the download holds no transaction open)."""

    id: int
    kind: AttachmentKind
    media_id: str
    attempts: int
    lease_until: dt.datetime


def due_clause(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Rows a worker may take now: pending and due, or fetching with an expired lease (a dead worker)."""
    return sa.or_(
        sa.and_(Attachment.download_status == DownloadStatus.PENDING,
                sa.or_(Attachment.download_after.is_(None), Attachment.download_after <= now)),
        sa.and_(Attachment.download_status == DownloadStatus.FETCHING, Attachment.download_after <= now),
    )


def claim_next(session: Session, now: dt.datetime, *, skip_locked: bool,
               max_attempts: int = MAX_DOWNLOAD_ATTEMPTS, lease: dt.timedelta = DOWNLOAD_LEASE) -> Claim | None:
    """Mark the next due row ``fetching`` (counting the attempt) and return it; None when nothing is due.

    The caller commits before downloading. A row whose attempts are used up (its last worker died
    mid-download) is failed here instead of tried again. Flushes.
    """
    query = (sa.select(Attachment).where(due_clause(now))
             .order_by(Attachment.download_after.asc().nulls_first(), Attachment.id).limit(1))
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    while (row := session.scalar(query)) is not None:
        if not row.media_id:
            row.download_status = DownloadStatus.NONE
        elif row.download_attempts >= max_attempts:
            _fail(row, FailureReason.GAVE_UP, f"{row.download_attempts} attempts; the last one never finished")
        else:
            row.download_status = DownloadStatus.FETCHING
            row.download_attempts += 1
            row.download_after = now + lease
            session.flush()
            return Claim(row.id, row.kind, row.media_id, row.download_attempts, row.download_after)
        session.flush()
    return None


def _mine(session: Session, claim: Claim) -> Attachment | None:
    """The claimed row, if it is still ours (a worker whose lease ran out and was re-claimed is not)."""
    row = session.get(Attachment, claim.id, with_for_update=True)
    if row is None or row.download_status is not DownloadStatus.FETCHING:
        return None
    if row.download_attempts != claim.attempts or row.download_after != claim.lease_until:
        return None
    return row


def record_stored(session: Session, claim: Claim, meta: dict[str, Any]) -> bool:
    """The file is on disk: ``meta`` (path, content type, size, sha256…) joins the row's meta."""
    row = _mine(session, claim)
    if row is None:
        return False
    row.meta = {**(row.meta or {}), **meta}
    row.download_status = DownloadStatus.STORED
    row.download_after = None
    row.download_error = None
    session.flush()
    return True


def record_retry(session: Session, claim: Claim, error: str, at: dt.datetime) -> bool:
    """A passing failure: try again at ``at`` (the caller's backoff), keeping the error for the operator."""
    row = _mine(session, claim)
    if row is None:
        return False
    row.download_status = DownloadStatus.PENDING
    row.download_after = at
    row.download_error = error[:ERROR_LENGTH]
    session.flush()
    return True


def record_failed(session: Session, claim: Claim, reason: FailureReason, detail: str) -> bool:
    """Given up: the row shows ``下载失败：<reason>`` to staff; nothing retries it."""
    row = _mine(session, claim)
    if row is None:
        return False
    _fail(row, reason, detail)
    session.flush()
    return True


def _fail(row: Attachment, reason: FailureReason, detail: str) -> None:
    row.download_status = DownloadStatus.FAILED
    row.download_after = None
    row.download_error = f"{reason.value}: {detail}"[:ERROR_LENGTH]


def failure_reason(attachment: Attachment) -> str | None:
    """The reason code of a failed download (for the console's wording), None otherwise."""
    if attachment.download_status is not DownloadStatus.FAILED:
        return None
    return (attachment.download_error or FailureReason.GAVE_UP.value).split(":", 1)[0]


__all__ = [
    "ACCEPTED",
    "DECLARED",
    "DOWNLOAD_LEASE",
    "MAX_DOWNLOAD_ATTEMPTS",
    "MEDIA_EXPIRED_ERRCODE",
    "SNIFF_BYTES",
    "Claim",
    "FailureReason",
    "FileType",
    "Refused",
    "attachment_id_of",
    "base_type",
    "check_content",
    "check_size",
    "check_text",
    "claim_next",
    "due_clause",
    "failure_reason",
    "record_failed",
    "record_retry",
    "record_stored",
    "remove_files",
    "sniff",
    "stored_files",
    "stored_path",
]
