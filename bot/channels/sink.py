"""The dev sink, and :func:`build_channels`, which picks a real sender or the sink for each channel.

Without credentials (dev mode, a fresh clone) nothing may call WeChat, yet the simulator should show what
customers and staff would receive: every such message becomes a :class:`~storage.models.DevSinkMessage` row.
"""

from __future__ import annotations

from bot.channels import Channels, Outgoing, Receipt, Sender, logger
from bot.channels.wechat import OfficialAccountSender, official_account_client
from bot.channels.wecom import WeComSender, absolute_url, wecom_client
from bot.config import Settings
from handlers.privacy import mask_openid
from storage.db import Database
from storage.models import DevSinkMessage, OutboxChannel


class DevSink:
    """A sender that records the message in ``dev_sink_message`` instead of calling any API."""

    def __init__(self, db: Database, *, public_base_url: str | None = None) -> None:
        self.db = db
        self.public_base_url = public_base_url  # staff cards: the link as WeCom would get it

    def send(self, message: Outgoing) -> Receipt:
        payload = dict(message.payload)
        if self.public_base_url and isinstance(payload.get("url"), str):
            payload["url"] = absolute_url(self.public_base_url, payload["url"])
        template = payload.get("template")
        if self.public_base_url and isinstance(template, dict) and isinstance(template.get("url"), str):
            payload["template"] = {**template, "url": absolute_url(self.public_base_url, template["url"])}
        with self.db.transaction() as session:
            session.add(DevSinkMessage(
                channel=message.channel, recipient=message.recipient, payload=payload, outbox_id=message.id,
            ))
        logger.info("dev sink: %s message for %s (outbox %s)", message.channel.value, mask_openid(message.recipient),
                    message.id)
        return Receipt(note="dev sink: not sent to any platform")


def build_channels(settings: Settings, db: Database, *, timeout: float = 5.0) -> Channels:
    """The sender for every outbox channel: real clients where credentials exist, the dev sink elsewhere.

    Building makes no network call (clients fetch their token on first use), so the web process and
    ``tousu worker`` can both call this at start-up. ``db`` is only used by the dev sink.
    """
    sink = DevSink(db, public_base_url=settings.public_base_url)
    oa_client = official_account_client(settings, timeout=timeout)
    staff_client = wecom_client(settings, timeout=timeout)
    customer: Sender = OfficialAccountSender(oa_client, settings.public_base_url) if oa_client else sink
    staff: Sender = WeComSender(staff_client, settings.public_base_url) if staff_client else DevSink(
        db, public_base_url=settings.public_base_url)
    channels: dict[OutboxChannel, Sender] = {
        OutboxChannel.WECHAT_CUSTOM: customer,
        OutboxChannel.WECHAT_TEMPLATE: customer,
        OutboxChannel.WECOM_APP: staff,
    }
    if settings.policy.webhooks is not None:  # [webhooks]: signed POSTs of state changes to the business system
        from bot.channels.webhook import WebhookSender

        channels[OutboxChannel.WEBHOOK] = WebhookSender(settings.policy.webhooks)
    return channels


__all__ = ["DevSink", "build_channels"]
