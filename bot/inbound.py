"""One delivery's unit of work: read the message's fields, claim it (dedupe), route it, store the reply.

:func:`to_incoming` is the one check of what a signed message carries against what WeChat sends and what
the storage columns hold: anything else raises :class:`MalformedMessage` (a 4xx at the edge), so nothing
a sender controls can fail inside the transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Location, Reply
from handlers.privacy import mask_openid
from handlers.render import split_text
from storage.db import Database
from storage.inbound import MAX_DEDUPE_KEY, claim_inbound, find_inbound, record_reply
from storage.models import Attachment, Complaint, InboundChannel, InboundMessage, InboundStatus, IntakeSession

log = logging.getLogger("tousu.inbound")

Router = Callable[[Session, IncomingMessage, HandlerContext], Reply]
QueueExtra = Callable[[Session, str, str, str, dt.datetime], object]  # session, to, text, dedupe key, now

_KINDS = {"text", "image", "voice", "video", "shortvideo", "location", "link", "file", "event"}


#: What the columns a message's fields end up in can hold (the openid is kept in four tables).
_SENDER_COLUMNS: list[Any] = [InboundMessage.sender, IntakeSession.openid, Complaint.openid, Attachment.draft_openid]
MAX_SENDER: int = min(column.type.length for column in _SENDER_COLUMNS)
MAX_MEDIA_ID: int = Attachment.media_id.type.length
MAX_URL: int = Attachment.url.type.length
MAX_MSG_ID = 2**63 - 1  # BIGINT
MAX_CREATE_TIME = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds


class MalformedMessage(ValueError):
    """A signed message that WeChat would not send or that could not be stored; answered with a 4xx."""


def _text(fields: Mapping[str, Any], name: str, limit: int | None = None) -> str | None:
    """A flat text field, or None when absent or empty; an element with children is malformed."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedMessage(f"{name}: not a text field")
    if limit is not None and len(value) > limit:
        raise MalformedMessage(f"{name}: longer than {limit} characters")
    return value or None


def _whole_number(fields: Mapping[str, Any], name: str, maximum: int) -> int | None:
    value = _text(fields, name)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or int(value) > maximum:
        raise MalformedMessage(f"{name}: not a whole number up to {maximum}")
    return int(value)


def _coordinate(fields: Mapping[str, Any], name: str, bound: float) -> float:
    try:
        value = float(_text(fields, name) or "")
    except ValueError:
        raise MalformedMessage(f"{name}: not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise MalformedMessage(f"{name}: not a coordinate")
    return value


def to_incoming(fields: Mapping[str, Any]) -> IncomingMessage:
    """Turn the fields of a parsed callback (``<xml>``'s children) into the value handlers work with."""
    kind = (_text(fields, "MsgType", 32) or "").lower()
    if kind not in _KINDS:
        kind = "unknown"
    created = _whole_number(fields, "CreateTime", MAX_CREATE_TIME)
    if created is None:
        raise MalformedMessage("CreateTime: missing")
    if _text(fields, "ToUserName") is None:  # the account a reply comes from
        raise MalformedMessage("ToUserName: missing")
    location = None
    if kind == "location":
        location = Location(_coordinate(fields, "Location_X", 90), _coordinate(fields, "Location_Y", 180),
                            _text(fields, "Label") or "")
    event = _text(fields, "Event") if kind == "event" else None
    text_field = {"text": "Content", "voice": "Recognition"}.get(kind)
    message = IncomingMessage(
        kind="video" if kind == "shortvideo" else kind,
        sender=_text(fields, "FromUserName", MAX_SENDER) or "",
        created_at=dt.datetime.fromtimestamp(created, dt.UTC),
        msg_id=_whole_number(fields, "MsgId", MAX_MSG_ID),
        text=_text(fields, text_field) if text_field else None,
        media_id=_text(fields, "MediaId", MAX_MEDIA_ID),
        pic_url=_text(fields, "PicUrl", MAX_URL),
        event=event.lower() if event else None,
        event_key=_text(fields, "EventKey"),
        location=location,
        raw={name: value for name, value in fields.items() if isinstance(value, str)},
    )
    if len(message.dedupe_key) > MAX_DEDUPE_KEY:
        raise MalformedMessage("FromUserName and Event too long for a delivery key")
    return message


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


def log_delivery(channel: str, message: IncomingMessage | None, outcome: str, handler: str, started: float,
                 detail: str | None = None) -> None:
    """One structured line per inbound message (its openid masked); ``detail`` says why it was refused."""
    line = {
        "event": "inbound",
        "channel": channel,
        "openid": mask_openid(message.sender) if message else None,
        "msg_id": message.msg_id if message else None,
        "kind": message.kind if message else None,
        "handler": handler,
        "status": outcome,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if detail:
        line["detail"] = detail
    log.info(json.dumps(line, ensure_ascii=False))
