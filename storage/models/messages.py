"""Messages crossing the boundary: inbound deliveries (dedupe), the outbox, and the dev sink."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, str_enum, utcnow


class InboundChannel(enum.StrEnum):
    WECHAT = "wechat"  # 公众号
    WECOM = "wecom"  # 企业微信应用


class InboundStatus(enum.StrEnum):
    PROCESSING = "processing"
    DONE = "done"


class InboundMessage(Base):
    """One delivery from WeChat/WeCom, kept so retries have exactly one effect.

    WeChat retries a message up to three times when we are slow; the unique ``dedupe_key`` (MsgId, or
    FromUserName+CreateTime for events) makes the first delivery the only one that runs a handler, and the
    stored ``reply`` is what every later delivery gets back.
    """

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[InboundChannel] = mapped_column(str_enum(InboundChannel, 16))
    dedupe_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    sender: Mapped[str] = mapped_column(sa.String(128), index=True)
    msg_type: Mapped[str] = mapped_column(sa.String(32))
    msg_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    status: Mapped[InboundStatus] = mapped_column(str_enum(InboundStatus, 16), default=InboundStatus.PROCESSING)
    handler: Mapped[str | None] = mapped_column(sa.String(64))
    reply: Mapped[str | None] = mapped_column(sa.Text)


class OutboxChannel(enum.StrEnum):
    WECHAT_CUSTOM = "wechat_custom"  # 客服消息, within 48 h of the customer's last message
    WECHAT_TEMPLATE = "wechat_template"  # 模板消息, outside that window
    WECOM_APP = "wecom_app"  # 企业微信应用消息 to staff
    WEBHOOK = "webhook"  # a signed POST to the business system ([webhooks] of tousu.toml)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed and the attempt recorded: never sent again automatically
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxMessage(Base):
    """A message to send, written in the same transaction as the change that caused it.

    The dispatcher claims rows, records the attempt and commits *before* calling the API, so a crash
    mid-send can leave a row in ``sending`` (reviewed by a person) but can never send it twice.
    """

    __tablename__ = "outbox_message"
    # The claim reads the next due row in (next_attempt_at, id) order straight off this index, whatever the backlog.
    # The message-log purge (handlers/records.py) empties finished rows past the keeping days: this partial
    # index holds only the finished rows not emptied yet, so the nightly batches never wade through the
    # emptied ones that accumulate.
    __table_args__ = (
        sa.Index("ix_outbox_message_due", "status", "next_attempt_at", "id"),
        sa.Index("ix_outbox_message_unpurged", "created_at",
                 postgresql_where=sa.text("recipient <> '' AND status IN ('sent', 'cancelled')"),
                 sqlite_where=sa.text("recipient <> '' AND status IN ('sent', 'cancelled')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[OutboxChannel] = mapped_column(str_enum(OutboxChannel, 24))
    recipient: Mapped[str] = mapped_column(sa.String(512), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(160), unique=True)
    complaint_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(500))


class DevSinkMessage(Base):
    """Where outbound messages land in dev mode (no credentials): the simulator shows these."""

    __tablename__ = "dev_sink_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[OutboxChannel] = mapped_column(str_enum(OutboxChannel, 24))
    recipient: Mapped[str] = mapped_column(sa.String(512), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    outbox_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
