"""The REST API's own records: bearer tokens, and the Idempotency-Key of each create.

An `ApiToken` is how another system (a hotline, 12345, OA, the business system) proves who it is. The
token itself is shown once, when made (`tousu api-token create`); only its SHA-256 is kept (a token is
32 random bytes, so a plain hash cannot be reversed by guessing, unlike a password). Each token acts as
its own `Staff` row (userid ``local:api:<name>``, roles from ``--role``), so the permission and scope
code of the console (`handlers.workflow.permissions`, `handlers.workflow.scope`) applies to it unchanged,
and its actions show on the timeline under the token's name.

An `ApiIdempotency` row remembers one create request by its ``Idempotency-Key`` (per token): the hash of
its body and the number it filed. A retry with the same key and body gets the same complaint back; the
same key with another body is refused (409). The unique (token, key) pair makes a concurrent retry wait
for the first and then find it, so a complaint is filed once.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, utcnow
from storage.models.org import Staff


class ApiToken(Base):
    """One bearer token of the REST API (``Authorization: Bearer <token>``)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(48), unique=True)  # e.g. "hotline", "oa"
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 hex of the token
    prefix: Mapped[str] = mapped_column(sa.String(12))  # the token's first characters, to tell tokens apart
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()

    staff: Mapped[Staff] = relationship()


class ApiIdempotency(Base):
    """A create request already handled: its key (per token), the SHA-256 of its body, what it filed."""

    __tablename__ = "api_idempotency"
    __table_args__ = (sa.UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(sa.ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(128))
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


__all__ = ["ApiIdempotency", "ApiToken"]
