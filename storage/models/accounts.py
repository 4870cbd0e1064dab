"""Console sign-in: a password for a member of staff, and the audit trail of who signed in, viewed and exported.

A `StaffAccount` belongs to one `Staff` row (the org chart says who someone is and what they may do;
the account only says how they prove it). The password is kept as an argon2 hash, never in clear.

`AuditEvent` is the security log (安全审计): every sign-in, failed sign-in, sign-out, account change and,
later, every view or export of personal data (who, when, from which IP, what, about which case). It is
append-only and separate from a complaint's timeline, because it also records things that change no
complaint (a failed sign-in, a ledger export of 500 cases) and must outlive a purged complaint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, utcnow
from storage.models.org import Staff

# WeCom userids are made of letters, digits and "_-@." only, so a colon can never collide with one.
LOCAL_USERID_PREFIX: Final = "local:"


def is_local_userid(userid: str | None) -> bool:
    """Staff created for the console only (not in the WeCom org chart); `tousu org sync` leaves them alone."""
    return bool(userid) and str(userid).startswith(LOCAL_USERID_PREFIX)


class StaffAccount(Base):
    """The console login of one member of staff."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(sa.ForeignKey("staff.id", ondelete="CASCADE"), unique=True)
    login: Mapped[str] = mapped_column(sa.String(64), unique=True)  # what the person types to sign in
    password_hash: Mapped[str] = mapped_column(sa.String(255))  # argon2id, parameters inside the hash
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Rotated on a password change or disable: the id in every signed session cookie, so old sessions die.
    session_token: Mapped[str] = mapped_column(sa.String(64))
    disabled: Mapped[bool] = mapped_column(default=False)
    # Failed sign-ins before this moment no longer count towards a lock-out (a success or an unlock resets).
    failures_reset_at: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    staff: Mapped[Staff] = relationship()


class AuditEvent(Base):
    """One security-relevant event. ``action`` is a dotted code (``login.failed``, ``export.ledger``,
    ``case.viewed``); ``actor_label`` keeps what was typed when no account matched (a failed sign-in)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_actor_action_at", "actor_staff_id", "action", "at"),
        sa.Index("ix_audit_event_complaint_at", "complaint_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor_staff_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff.id", ondelete="SET NULL"))
    actor_label: Mapped[str | None] = mapped_column(sa.String(128))  # login typed, or the person's name
    action: Mapped[str] = mapped_column(sa.String(48))
    ip: Mapped[str | None] = mapped_column(sa.String(45))  # IPv6 fits
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    # What it was about: a case (kept as its number too, so the row still says which after a purge) …
    complaint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaint.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(sa.String(200))  # e.g. the complaint number, an export's filter
    personal_data: Mapped[bool] = mapped_column(default=False)  # personal data was shown/exported unmasked
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
