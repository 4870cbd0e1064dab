"""Outbound channels: what the outbox dispatcher hands a sender, and what it gets back.

A *sender* delivers one outbox row through one platform (公众号 客服消息/模板消息, 企业微信应用消息, or the
dev sink). Senders know the platform's API and its error codes; they never touch the outbox table, so the
dispatcher alone decides when a row is sent, retried or given up (see ``scheduler/outbox.py``).

Modules: ``wechat`` (Official Account client and sender), ``wecom`` (WeCom client and sender), ``errors``
(the error policy), ``sink`` (dev sink and :func:`bot.channels.sink.build_channels`, which picks the sender
for each :class:`~storage.models.OutboxChannel` from the settings).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from storage.models import OutboxChannel

logger = logging.getLogger("tousu.channels")

# WeChat and WeCom both cut text messages at 2048 bytes of UTF-8 (a Chinese character is 3 bytes).
MAX_TEXT_BYTES = 2048


@dataclass(frozen=True)
class Outgoing:
    """One claimed outbox row, detached from its session so a send holds no database transaction open."""

    id: int
    channel: OutboxChannel
    recipient: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 1

    @property
    def client_msg_id(self) -> str:
        """The idempotency key WeChat's template API honours: the same row can never notify twice."""
        return f"tousu-{self.id}"


@dataclass(frozen=True)
class Receipt:
    """A send that went through; ``note`` is kept in the row's ``last_error`` (fallbacks, invalid ids)."""

    note: str | None = None


class Sender(Protocol):
    """Delivers one message or raises :class:`bot.channels.errors.ChannelError` saying what went wrong."""

    def send(self, message: Outgoing) -> Receipt: ...


Channels = Mapping[OutboxChannel, Sender]


def fit_text(text: str, limit: int = MAX_TEXT_BYTES) -> tuple[str, bool]:
    """Cut ``text`` to ``limit`` UTF-8 bytes on a character boundary; returns (text, whether it was cut).

    The platforms reject or silently truncate longer texts, possibly mid-character. Splitting belongs to
    whoever writes the message (one outbox row is one API call, so it can be tracked); this is the last guard.
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    marker = "…"
    budget = limit - len(marker.encode("utf-8"))
    return data[:budget].decode("utf-8", errors="ignore") + marker, True


__all__ = ["MAX_TEXT_BYTES", "Channels", "Outgoing", "Receipt", "Sender", "fit_text", "logger"]
