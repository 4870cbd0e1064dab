"""The website channel (网站投诉栏, seed 004 四.5–6): a visitor files a complaint on a public page.

The page (bot/website.py) is one more door to the same intake: the policy's ``[form]`` read by the shared
page reader (`handlers.intake.entry.read_entry`: same steps, conditions, parsers and refusal hints as the
chat), registered by the shared `handlers.intake.submit.register_complaint` with channel 网站
(``Source.WEBSITE``) and the time the form reached us, so numbering, routing, deadlines and staff notices
are the chat's. This module holds what only this door has:

* its policy, ``[website]`` in tousu.toml (`parse_website`, wired into ``handlers.config.load_policy``)::

      [website]
      enabled = true                      # false: the page answers 404 (the console still shows the embed)
      rate_per_ip = "10 per hour"         # form submissions from one address (Flask-Limiter syntax)
      rate_per_phone = "3 per day"        # complaints filed naming one phone number
      max_photos = 6                      # photos per complaint
      photo_max_mb = 10                   # per photo
      embed_origins = []                  # sites that may show the page in an <iframe>, e.g. ["https://www.example.com"]

* photos: `check_photo` decides the type from the first bytes (never the name or the browser's header
  alone) through the evidence rules (`handlers.evidence.check_content`), and the size against the policy;
  `store_photos` writes them where the WeChat evidence goes (``TOUSU_ATTACHMENT_DIR``, `evidence.stored_path`)
  as ``Attachment`` rows the console shows and serves like downloaded ones;
* `register_website`: the registration itself, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from limits import parse_many
from sqlalchemy.orm import Session

from handlers import evidence
from handlers.config import PolicyError
from handlers.context import HandlerContext
from handlers.intake.submit import register_complaint
from handlers.workflow.transitions import Actor
from storage.models import Attachment, AttachmentKind, Complaint, DownloadStatus, Source

#: Where a visitor came from, kept on the ``registered`` event (``?from=`` of the link the console offers).
ENTRIES: Final = frozenset({"site", "qr", "menu"})

_KEYS = frozenset({"enabled", "rate_per_ip", "rate_per_phone", "max_photos", "photo_max_mb", "embed_origins"})


@dataclass(frozen=True)
class WebsiteSettings:
    """``[website]``: the public complaint page's limits."""

    enabled: bool = True
    rate_per_ip: str = "10 per hour"
    rate_per_phone: str = "3 per day"
    max_photos: int = 6
    photo_max_mb: int = 10
    embed_origins: tuple[str, ...] = field(default_factory=tuple)

    @property
    def photo_max_bytes(self) -> int:
        return self.photo_max_mb * 1024 * 1024

    @property
    def request_max_bytes(self) -> int:
        """The largest form the page accepts: every photo at its limit and room for the text fields."""
        return self.max_photos * self.photo_max_bytes + 1024 * 1024


def _rate(where: str, value: Any) -> str:
    try:
        if not isinstance(value, str) or not parse_many(value):
            raise ValueError
    except ValueError:
        raise PolicyError(f"{where}: expected a rate such as \"10 per hour\", got {value!r}") from None
    return value


def _whole(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{where}: a whole number from {low} to {high}, got {value!r}")
    return value


def _origin(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or any(
        ch in value for ch in " ;,'\"") or value.rstrip("/").count("/") > 2:
        raise PolicyError(f"{where}: an origin such as \"https://www.example.com\", got {value!r}")
    return value.rstrip("/")


def parse_website(raw: Mapping[str, Any]) -> WebsiteSettings:
    """Read and check ``[website]`` (once, in ``handlers.config.load_policy``); missing keys keep defaults."""
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyError(f"website.{sorted(unknown)[0]}: unknown setting")
    default = WebsiteSettings()
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PolicyError(f"website.enabled: true or false, got {enabled!r}")
    origins = raw.get("embed_origins", [])
    if not isinstance(origins, list):
        raise PolicyError("website.embed_origins: a list of origins such as [\"https://www.example.com\"]")
    return WebsiteSettings(
        enabled=enabled,
        rate_per_ip=_rate("website.rate_per_ip", raw.get("rate_per_ip", default.rate_per_ip)),
        rate_per_phone=_rate("website.rate_per_phone", raw.get("rate_per_phone", default.rate_per_phone)),
        max_photos=_whole("website.max_photos", raw.get("max_photos", default.max_photos), 0, 20),
        photo_max_mb=_whole("website.photo_max_mb", raw.get("photo_max_mb", default.photo_max_mb), 1, 50),
        embed_origins=tuple(_origin(f"website.embed_origins[{i}]", o) for i, o in enumerate(origins)),
    )


# -- photos -----------------------------------------------------------------------------------------------


class PhotoProblem(enum.StrEnum):
    """Why an upload is refused; the page words each (templates/pages/website/_words.html)."""

    TOO_LARGE = "too_large"
    NOT_A_PHOTO = "not_a_photo"
    TOO_MANY = "too_many"
    EMPTY = "empty"


@dataclass(frozen=True)
class Photo:
    """One uploaded photo, checked: its bytes and the type they are."""

    data: bytes
    kind: evidence.FileType
    declared_type: str


class PhotoRefused(ValueError):
    def __init__(self, problem: PhotoProblem, detail: str = "") -> None:
        self.problem = problem
        super().__init__(f"{problem.value}: {detail}")


def check_photo(data: bytes, declared_type: str | None, settings: WebsiteSettings) -> Photo:
    """The photo, or `PhotoRefused`: empty, over the size limit, or bytes that are not a JPEG/PNG/GIF/WebP
    (whatever the browser declared; a declared non-image type is refused too)."""
    if not data:
        raise PhotoRefused(PhotoProblem.EMPTY)
    try:
        evidence.check_size(len(data), settings.photo_max_bytes)
    except evidence.Refused as exc:
        raise PhotoRefused(PhotoProblem.TOO_LARGE, exc.detail) from None
    try:
        found = evidence.check_content(AttachmentKind.IMAGE, declared_type, data[: evidence.SNIFF_BYTES])
    except evidence.Refused as exc:
        raise PhotoRefused(PhotoProblem.NOT_A_PHOTO, exc.detail) from None
    return Photo(data=data, kind=found, declared_type=evidence.base_type(declared_type))


def store_photos(session: Session, photos: Sequence[Photo], root: Path, now: dt.datetime, *,
                 written: list[Path] | None = None) -> list[Attachment]:
    """Attachment rows for ``photos`` with their files written under ``root`` (flushes for the ids).

    Each file is written to a temporary name and renamed, so a reader never sees half a photo. Every file
    is added to ``written`` as soon as it exists, so the caller can remove them if its transaction does not
    commit (no row would name them), even when this fails half-way."""
    rows: list[Attachment] = []
    for photo in photos:
        row = Attachment(kind=AttachmentKind.IMAGE, created_at=now, meta={})
        session.add(row)
        session.flush()
        relative = evidence.stored_path(row.id, photo.kind.extension)
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.part")
        with temporary.open("wb") as handle:
            handle.write(photo.data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
        if written is not None:
            written.append(target)
        row.meta = {
            "path": relative.as_posix(), "content_type": photo.kind.mimetype, "size": len(photo.data),
            "sha256": hashlib.sha256(photo.data).hexdigest(), "declared_type": photo.declared_type,
            "source": Source.WEBSITE.value,
        }
        row.download_status = DownloadStatus.STORED  # on our disk already: nothing to download
        rows.append(row)
    session.flush()
    return rows


# -- registration ---------------------------------------------------------------------------------------


def register_website(
    session: Session, ctx: HandlerContext, *, answers: Mapping[str, Any], attachments: Sequence[Attachment] = (),
    entry: str | None = None,
) -> Complaint:
    """File a visitor's complaint: channel 网站, received now (when the form reached us), by the customer
    (no openid: the case page opens by its signed link). Flushes, never commits; raises
    ``IncompleteDraft`` like every door when a required answer is missing."""
    details: dict[str, Any] = {"entry": entry} if entry in ENTRIES else {}
    return register_complaint(
        session, ctx, answers=answers, source=Source.WEBSITE, received_at=ctx.now, actor=Actor.customer(None),
        openid=None, attachments=attachments, details=details,
    )


__all__ = [
    "ENTRIES",
    "Photo",
    "PhotoProblem",
    "PhotoRefused",
    "WebsiteSettings",
    "check_photo",
    "parse_website",
    "register_website",
    "store_photos",
]
