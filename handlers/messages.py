"""The inbound message as handlers see it: a plain value, independent of wechatpy and Flask."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str  # the place name WeChat sends (e.g. "河南省洛阳市涧西区...")


@dataclass(frozen=True)
class IncomingMessage:
    """One message or event from a customer (公众号) or a staff member (企业微信).

    ``kind`` is one of: text, image, voice, video, file, location, link, event, unknown. For voice,
    ``text`` carries WeChat's speech recognition when it is enabled, so voice can count as typing.
    """

    kind: str
    sender: str  # openid (公众号) or userid (企业微信)
    created_at: dt.datetime  # aware, UTC
    msg_id: int | None = None
    text: str | None = None
    media_id: str | None = None
    pic_url: str | None = None
    event: str | None = None  # subscribe, unsubscribe, click, view, scan, ...
    event_key: str | None = None
    location: Location | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; events carry none, so FromUserName+CreateTime (+event) identifies them."""
        if self.kind != "event" and self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.sender}:{int(self.created_at.timestamp())}:{self.event or self.kind}"


@dataclass
class Reply:
    """What a handler answers: the first text goes back passively, the rest through the outbox."""

    texts: list[str]
    handler: str = "unknown"
