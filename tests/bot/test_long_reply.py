"""A reply longer than one WeChat text: the first piece answers passively, the rest go through the outbox in order."""

from __future__ import annotations

import sqlalchemy as sa

from storage.models import FaqEntry, InboundMessage, OutboxMessage

PARAGRAPHS = [f"第{n}段：" + "这是一段很长的说明文字，" * 55 for n in range(1, 6)]  # ~1.8 KB of UTF-8 each


def post(client, signed):
    return client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")


def test_a_long_reply_is_split_and_the_rest_queued_in_order(client, db, wechat, session):
    session.add(FaqEntry(question="超长说明", keywords=["超长说明"], answer="\n".join(PARAGRAPHS), position=1))
    session.commit()
    openid = "oLongReply000001"
    signed = wechat.sign(wechat.text(openid, "超长说明？", msg_id=990001))
    first = wechat.open_reply(post(client, signed).data)["Content"]
    with db.read_sessions() as s:
        inbound_id = s.scalar(sa.select(InboundMessage.id))
        queued = s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    rest = [row.payload["text"] for row in queued]
    assert len(rest) >= 3, "five 1.8 KB paragraphs need at least four 2 KB messages"
    assert [row.recipient for row in queued] == [openid] * len(rest)
    assert [row.dedupe_key for row in queued] == [f"reply:{inbound_id}:{n}" for n in range(1, len(rest) + 1)]
    pieces = [first, *rest]
    assert all(len(piece.encode()) <= 2048 for piece in pieces)
    whole = "\n".join(pieces)
    positions = [whole.index(paragraph) for paragraph in PARAGRAPHS]
    assert positions == sorted(positions), "the paragraphs arrive in order, none lost"
    assert post(client, signed).status_code == 200  # WeChat's retry: the first answer again, nothing queued twice
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == len(rest)
