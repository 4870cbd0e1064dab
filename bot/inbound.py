"""One delivery's unit of work: claim it (dedupe), route it, store the reply, all in one transaction."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from wechatpy.messages import BaseMessage

from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Location, Reply
from handlers.privacy import mask_openid
from handlers.render import split_text
from storage.db import Database
from storage.inbound import claim_inbound, find_inbound, record_reply
from storage.models import InboundChannel, InboundStatus

log = logging.getLogger("tousu.inbound")

Router = Callable[[Session, IncomingMessage, HandlerContext], Reply]
QueueExtra = Callable[[Session, str, str, str, dt.datetime], object]  # session, to, text, dedupe key, now

_KINDS = {"text", "image", "voice", "video", "shortvideo", "location", "link", "file", "event"}


def to_incoming(msg: BaseMessage) -> IncomingMessage:
    """Turn a wechatpy message into the plain value handlers work with."""
    data: dict[str, Any] = dict(getattr(msg, "_data", {}) or {})
    kind = str(data.get("MsgType") or getattr(msg, "type", "unknown")).lower()
    if kind not in _KINDS or type(msg).__name__ == "UnknownMessage":
        kind = "unknown" if kind != "event" else "event"
    created = int(str(data.get("CreateTime") or "0") or 0) if str(data.get("CreateTime", "0")).isdigit() else 0
    msg_id = data.get("MsgId")
    text = data.get("Content") if kind == "text" else data.get("Recognition") if kind == "voice" else None
    location = None
    if kind == "location":
        try:
            location = Location(float(data["Location_X"]), float(data["Location_Y"]), str(data.get("Label") or ""))
        except (KeyError, TypeError, ValueError):
            kind = "unknown"
    event = getattr(msg, "event", None) if kind == "event" else None
    return IncomingMessage(
        kind="video" if kind == "shortvideo" else kind,
        sender=str(data.get("FromUserName") or ""),
        created_at=dt.datetime.fromtimestamp(created, dt.UTC),
        msg_id=int(msg_id) if msg_id is not None and str(msg_id).isdigit() else None,
        text=str(text) if text else None,
        media_id=data.get("MediaId"),
        pic_url=data.get("PicUrl"),
        event=str(event).lower() if event else None,
        event_key=str(data["EventKey"]) if data.get("EventKey") else None,
        location=location,
        raw=data,
    )


@dataclass
class Outcome:
    reply: str | None  # the passive reply text; None means answer "success"
    handler: str
    status: str  # ok | duplicate | in_progress | error


def deliver(
    db: Database,
    channel: InboundChannel,
    message: IncomingMessage,
    ctx: HandlerContext,
    router: Router,
    queue_extra: QueueExtra,
) -> Outcome:
    """Apply one delivery exactly once; a repeated delivery gets the first one's reply.

    Everything the handler changes, the inbound row and any outbox rows commit together; if the handler
    raises, all of it rolls back and the exception propagates to the view (which logs and apologises).
    """
    with db.transaction() as session:
        inbound_id = claim_inbound(
            session, channel, message.dedupe_key, sender=message.sender, msg_type=message.kind,
            msg_id=message.msg_id, received_at=ctx.now,
        )
        if inbound_id is None:
            earlier = find_inbound(session, channel, message.dedupe_key)
            if earlier is not None and earlier.status == InboundStatus.DONE:
                return Outcome(earlier.reply, earlier.handler or "duplicate", "duplicate")
            return Outcome(None, "duplicate", "in_progress")
        reply = router(session, message, ctx)
        texts = [piece for text in reply.texts if text for piece in split_text(text)]
        for index, extra in enumerate(texts[1:], start=1):
            queue_extra(session, message.sender, extra, f"reply:{inbound_id}:{index}", ctx.now)
        first = texts[0] if texts else None
        record_reply(session, inbound_id, first, reply.handler)
        return Outcome(first, reply.handler, "ok")


def log_delivery(channel: str, message: IncomingMessage | None, outcome: str, handler: str, started: float) -> None:
    """One structured line per inbound message."""
    log.info(json.dumps({
        "event": "inbound",
        "channel": channel,
        "openid": mask_openid(message.sender) if message else None,
        "msg_id": message.msg_id if message else None,
        "kind": message.kind if message else None,
        "handler": handler,
        "status": outcome,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }, ensure_ascii=False))
