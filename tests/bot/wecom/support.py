"""Sending a WeCom app message to the real /wecom callback as WeCom would (signed, encrypted), reading the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.wechat_sim import WeComSide
from storage.db import Database
from storage.models import OutboxChannel, OutboxMessage


@dataclass
class Answer:
    status: int
    text: str  # the passive reply ("" for none)
    extra: list[str]  # the rest of a long answer, queued as WeCom app messages to the sender


def command(client: Any, wecom: WeComSide, db: Database, userid: str, text: str, *,
            msg_id: int | None = None) -> Answer:
    """Deliver ``text`` from ``userid``; the answer is the passive reply plus what this delivery queued."""
    before = _queued_ids(db, userid)
    signed = wecom.sign(wecom.text(userid, text, msg_id=msg_id))
    response = client.post("/wecom", query_string=signed.params, data=signed.body)
    reply = wecom.open_reply(response.data) if response.status_code == 200 else {}
    with db.read_sessions() as s:
        rows = s.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.channel == OutboxChannel.WECOM_APP, OutboxMessage.recipient == userid,
            OutboxMessage.dedupe_key.like("reply:%")).order_by(OutboxMessage.id)).all()
        extra = [r.payload["text"] for r in rows if r.id not in before]
    return Answer(response.status_code, reply.get("Content") or "", extra)


def _queued_ids(db: Database, userid: str) -> set[int]:
    with db.read_sessions() as s:
        return set(s.scalars(sa.select(OutboxMessage.id).where(OutboxMessage.recipient == userid)))
