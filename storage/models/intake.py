"""Conversation state per follower (the intake draft, 投诉草稿) and the FAQ library (常见问题解答库)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, str_enum, utcnow


class IntakeMode(enum.StrEnum):
    """Where a follower's conversation stands; ``none`` is a row kept only as the per-openid lock."""

    NONE = "none"  # nothing pending
    OFFER = "offer"  # we asked "您是要投诉吗？" about a free-text message
    FILLING = "filling"  # answering the form's steps
    SUMMARY = "summary"  # shown the summary, waiting for 确认 / 修改N
    RESUME = "resume"  # idle draft: offered 继续 / 重新开始
    CALLBACK_PHONE = "callback_phone"  # asked for a phone number after 人工
    FAQ_MENU = "faq_menu"  # listed the FAQ questions, waiting for a number


class IntakeSession(Base):
    """One row per openid: the draft complaint being filled in and what the bot asked last.

    Saved in the same transaction as the inbound-message row, so a retried or concurrent delivery never
    applies a step twice and a restart between two messages loses nothing. The row is also the lock
    that applies two simultaneous messages from one follower one after the other (``SELECT … FOR
    UPDATE`` on PostgreSQL). Values in ``answers`` are JSON-serialised parser results keyed by step;
    a key present with ``null`` means the optional step was skipped.
    """

    __tablename__ = "intake_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(sa.String(128), unique=True)
    mode: Mapped[IntakeMode] = mapped_column(str_enum(IntakeMode, 16), default=IntakeMode.NONE)
    step: Mapped[str | None] = mapped_column(sa.String(48))  # the step whose question is open
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    displays: Mapped[dict[str, Any]] = mapped_column(default=dict)  # step → text shown in the summary
    notes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # editing, retries, seeds, old answers, offer…
    started_at: Mapped[dt.datetime | None] = mapped_column()  # first message of this complaint (received_at)
    callback_requested_at: Mapped[dt.datetime | None] = mapped_column()  # 人工
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)  # last message (handler clock)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FaqEntry(Base):
    """常见问题: answered in the chat before a complaint is needed (seed 003); staff maintain the entries.

    Disable an entry with ``active = False`` rather than deleting it: an empty table is re-seeded with
    the built-in entries.
    """

    __tablename__ = "faq_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(sa.String(200), unique=True)
    keywords: Mapped[list[Any]] = mapped_column(default=list)  # any of them in a message matches
    answer: Mapped[str] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)  # order in the FAQ menu
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
