"""The evidence download job: WeChat's temporary media (kept 3 days) copied to the attachment folder.

Each attachment goes through three steps, like an outbox message (scheduler/outbox.py):

1. **claim** (transaction): `handlers.evidence.claim_next` marks one due row ``fetching`` with a lease and
   counts the attempt; committed, so another worker skips it (``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
2. **download** (no transaction): ``media/get`` through the configured Official Account client, streamed
   into a temporary file beside the final one, checked (size, type by magic bytes), fsynced, then renamed
   into place — a reader, or a worker killed mid-download, never sees half a file under the final name;
3. **record** (transaction): stored (path, type, size, sha256 in ``meta``), retried later with backoff, or
   failed with a reason staff see on the case page (下载失败：原因).

A worker killed between 1 and 3 leaves the row ``fetching``; when its lease ends another worker takes it
again (downloading is repeatable: same bytes, same final path). Leftover ``.part`` files of dead workers are
removed by the next attempt on the same attachment.

Voice: WeChat sends AMR (or Speex), which browsers cannot play. When ``ffmpeg`` is installed (Debian
package ``ffmpeg``) the job keeps the original and adds an MP3 beside it, which ``meta["path"]`` then names
(the console plays it); without ffmpeg ``meta["path"]`` names the original, which staff download.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from wechatpy.exceptions import WeChatClientException

from bot.channels.errors import ErrorKind, backoff, channel_error, next_quota_reset
from bot.channels.wechat import MediaTooLarge, OfficialAccountClient
from bot.config import Settings
from handlers import evidence
from handlers.evidence import Claim, FailureReason, Refused
from storage.base import file_sha256, utcnow
from storage.db import Database
from storage.models import Attachment, AttachmentKind

logger = logging.getLogger("tousu.scheduler.media")

FFMPEG_TIMEOUT = 120.0  # seconds; a 60 s WeChat voice converts in well under one


@dataclass
class DownloadStats:
    stored: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.stored + self.retried + self.failed


@dataclass(frozen=True)
class _Stored:
    meta: dict[str, Any]


@dataclass(frozen=True)
class _Retry:
    error: str
    at: dt.datetime


@dataclass(frozen=True)
class _Failed:
    reason: FailureReason
    detail: str


_Outcome = _Stored | _Retry | _Failed


def run_media_downloads(
    db: Database,
    client: OfficialAccountClient,
    root: Path,
    *,
    max_bytes: int,
    now: dt.datetime | None = None,
    limit: int = 20,
    ffmpeg: str | None = "auto",
    max_attempts: int = evidence.MAX_DOWNLOAD_ATTEMPTS,
    rng: random.Random | None = None,
) -> DownloadStats:
    """Download up to ``limit`` due attachments, one claim at a time; safe in several processes at once.

    ``ffmpeg``: the binary to convert voice with; ``"auto"`` looks it up on PATH, None converts nothing.
    """
    converter = shutil.which("ffmpeg") if ffmpeg == "auto" else ffmpeg
    stats = DownloadStats()
    root = root.resolve()
    for _ in range(limit):
        current = now or utcnow()
        with db.transaction() as session:
            claim = evidence.claim_next(session, current, skip_locked=db.dialect == "postgresql",
                                        max_attempts=max_attempts)
        if claim is None:
            break
        outcome = _download(client, claim, root, max_bytes, converter, current, max_attempts, rng)
        with db.transaction() as session:
            if isinstance(outcome, _Stored):
                recorded = evidence.record_stored(session, claim, outcome.meta)
                stats.stored += recorded
            elif isinstance(outcome, _Retry):
                recorded = evidence.record_retry(session, claim, outcome.error, outcome.at)
                stats.retried += recorded
            else:
                recorded = evidence.record_failed(session, claim, outcome.reason, outcome.detail)
                stats.failed += recorded
        if not recorded:
            logger.warning("attachment %s: lease lost before the outcome was recorded (another worker has it)",
                           claim.id)
        elif not isinstance(outcome, _Stored):
            logger.warning("attachment %s (attempt %s): %s", claim.id, claim.attempts,
                           outcome.error if isinstance(outcome, _Retry) else f"{outcome.reason}: {outcome.detail}")
    if stats.attempted:
        logger.info("evidence downloads: %s stored, %s retried, %s failed", stats.stored, stats.retried, stats.failed)
    return stats


def _download(client: OfficialAccountClient, claim: Claim, root: Path, max_bytes: int, ffmpeg: str | None,
              now: dt.datetime, max_attempts: int, rng: random.Random | None) -> _Outcome:
    """One attempt, to an outcome; nothing here touches the database."""
    try:
        return _Stored(_fetch_and_store(client, claim, root, max_bytes, ffmpeg))
    except Refused as exc:
        return _Failed(exc.reason, exc.detail)
    except MediaTooLarge as exc:
        return _Failed(FailureReason.TOO_LARGE, str(exc))
    except Exception as exc:
        if isinstance(exc, WeChatClientException) and exc.errcode == evidence.MEDIA_EXPIRED_ERRCODE:
            return _Failed(FailureReason.EXPIRED, f"{exc.errcode}: {exc.errmsg}")
        error = channel_error(exc)
        if error is None:
            if isinstance(exc, OSError):  # our disk (full, permissions): worth another try later
                error_text = f"storage error ({type(exc).__name__}: {exc})"
            else:
                raise
        elif error.kind is ErrorKind.PERMANENT:
            return _Failed(FailureReason.REJECTED, str(error))
        elif error.kind is ErrorKind.DAILY_QUOTA:
            return _Retry(str(error), next_quota_reset(now))
        else:
            error_text = str(error)
        if claim.attempts >= max_attempts:
            return _Failed(FailureReason.GAVE_UP, f"{claim.attempts} attempts; last: {error_text}")
        delay = backoff(claim.attempts, base=evidence.RETRY_BASE, cap=evidence.RETRY_CAP, rng=rng)
        return _Retry(error_text, now + delay)


def _fetch_and_store(client: OfficialAccountClient, claim: Claim, root: Path, max_bytes: int,
                     ffmpeg: str | None) -> dict[str, Any]:
    folder = root / evidence.stored_path(claim.id, "x").parent
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder, claim.id)
    with _temporary(folder, claim.id) as (handle, temp):
        info = client.download_media(claim.media_id, handle, max_bytes=max_bytes)
        handle.flush()
        os.fsync(handle.fileno())
        evidence.check_size(info.size, max_bytes)
        with temp.open("rb") as reader:
            head = reader.read(evidence.SNIFF_BYTES)
        found = evidence.check_content(claim.kind, info.content_type, head)
        if found.name == "text":
            evidence.check_text(temp.read_bytes())
        digest = file_sha256(temp)
        relative = evidence.stored_path(claim.id, found.extension)
        _publish(temp, root / relative)
    meta: dict[str, Any] = {
        "path": relative.as_posix(), "content_type": found.mimetype, "size": info.size, "sha256": digest,
        "declared_type": evidence.base_type(info.content_type),
    }
    if claim.kind is AttachmentKind.VOICE and found.name in ("amr", "speex"):
        meta |= _playable_voice(root, relative, claim.id, ffmpeg)
    return meta


def _playable_voice(root: Path, original: PurePosixPath, attachment_id: int,
                    ffmpeg: str | None) -> dict[str, Any]:
    """An MP3 beside the AMR/Speex original when ffmpeg can make one; says what was done either way."""
    if not ffmpeg:
        return {"playable": False, "conversion": "ffmpeg not installed: offered as a download"}
    source = root / original
    mp3 = evidence.stored_path(attachment_id, "mp3")
    with _temporary(source.parent, attachment_id) as (handle, temp):
        handle.close()
        command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
                   "-vn", "-ac", "1", "-codec:a", "libmp3lame", "-q:a", "6", "-f", "mp3", str(temp)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT, check=False)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"playable": False, "conversion": f"ffmpeg failed: {type(exc).__name__}"}
        if done.returncode != 0 or temp.stat().st_size == 0:
            error = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return {"playable": False, "conversion": f"ffmpeg failed: {error[0][:150]}"}
        _publish(temp, root / mp3)
    return {"path": mp3.as_posix(), "content_type": "audio/mpeg", "original_path": original.as_posix(),
            "original_type": evidence.AMR.mimetype if original.suffix == ".amr" else evidence.SPEEX.mimetype,
            "playable": True, "conversion": "mp3 by ffmpeg"}


@contextlib.contextmanager
def _temporary(folder: Path, attachment_id: int) -> Any:
    """A new ``.<id>-<random>.part`` file in ``folder`` (open for writing), removed unless published."""
    fd, name = tempfile.mkstemp(prefix=f".{attachment_id}-", suffix=".part", dir=folder)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, temp
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _publish(temp: Path, final: Path) -> None:
    """Rename into place (atomic on one filesystem) and make the rename itself durable."""
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_leftovers(folder: Path, attachment_id: int) -> None:
    """``.part`` files of earlier attempts on this attachment that died midway (older than the lease)."""
    cutoff = time.time() - evidence.DOWNLOAD_LEASE.total_seconds()
    for leftover in folder.glob(f".{attachment_id}-*.part"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()




def download_job(db: Database, settings: Settings, client: OfficialAccountClient) -> DownloadStats:
    """The scheduled tick: everything due, with the configured folder and size limit."""
    return run_media_downloads(db, client, settings.attachment_dir, max_bytes=settings.attachment_max_bytes)


__all__ = ["DownloadStats", "download_job", "run_media_downloads"]


#: A file must be this old before the orphan sweep may remove it (a download just published is never
#: touched, whatever the database says).
ORPHAN_MIN_AGE = dt.timedelta(days=1)


def remove_orphan_files(db: Database, root: Path, now: dt.datetime, *, batch: int = 500) -> int:
    """Delete evidence files whose attachment row no longer exists; returns how many.

    Rows go without their files in two places that run inside a message's or a job's transaction and do not
    know the attachment folder: a draft forgotten when its follower unsubscribes (取消关注) and drafts purged
    after ``[intake].purge_days``. Their downloaded photos and voices would stay on disk for ever; this
    nightly sweep removes them. A file is an orphan when its name is ``<attachment id>.<ext>`` under a shard
    folder, no row has that id, and it is older than `ORPHAN_MIN_AGE`. Destroyed cases (``tousu records
    purge``) remove their own files at once.
    """
    base = root.resolve()
    if not base.is_dir():
        return 0
    cutoff = (now - ORPHAN_MIN_AGE).timestamp()
    candidates: dict[int, list[Path]] = {}
    for folder in base.iterdir():
        if not folder.is_dir() or not folder.name.isdigit():
            continue
        for path in folder.iterdir():
            found = evidence.attachment_id_of(path.name)
            if found is None or not path.is_file() or path.stat().st_mtime >= cutoff:
                continue
            candidates.setdefault(found, []).append(path)
    ids = sorted(candidates)
    removed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        with db.read_sessions() as session:
            existing = set(session.scalars(sa.select(Attachment.id).where(Attachment.id.in_(chunk))))
        for attachment_id in chunk:
            if attachment_id in existing:
                continue
            for path in candidates[attachment_id]:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    if removed:
        logger.info("removed %d evidence files whose attachment rows are gone", removed)
    return removed
