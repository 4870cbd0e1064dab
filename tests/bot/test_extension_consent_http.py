"""Extension consent end to end: staff ask, the customer answers in the chat, the router gives it priority."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from handlers.workflow import operations as ops
from storage.models import Complaint, OutboxMessage
from tests.handlers.test_workflow_support import assigned, local, make_complaint, make_world

OPENID = "oEXTENSION00000000001"


def _say(client, wechat, text):
    signed = wechat.sign(wechat.text(OPENID, text))
    response = client.post("/wechat", query_string=signed.params, data=signed.body)
    assert response.status_code == 200
    return wechat.open_reply(response.data)["Content"]


def _ask_for_extension(db, company_config, now):
    with db.transaction() as s:
        world = make_world(s, company_config, now=now)
        complaint = assigned(world, make_complaint(world, received_at=now, openid=OPENID))
        old_due = complaint.due_at
        ops.request_extension(s, world["zhao.lei"], complaint, ctx=world.ctx(), reason="需要第三方检测机构复检",
                              new_due=(old_due + dt.timedelta(days=20)).date())
        return complaint.id, old_due


def test_customer_consent_in_the_chat_moves_the_deadline(db, app_config, company_config):
    from bot import create_app
    from bot.wechat_sim import WeChatSide

    now = local(2026, 11, 23, 10, 0)
    complaint_id, old_due = _ask_for_extension(db, company_config, now)
    with db.read_sessions() as s:
        to_customer = sa.select(OutboxMessage).where(OutboxMessage.recipient == OPENID)
        asked = [m.payload["text"] for m in s.scalars(to_customer)]
    assert any("同意" in text for text in asked), "the customer is asked in WeChat"

    client = create_app(app_config | {"COMPANY": company_config, "CLOCK": lambda: now.astimezone(dt.UTC)},
                        database=db).test_client()
    wechat = WeChatSide("tousu-dev-token", "a" * 43, "wxd0000000000dev0")
    reply = _say(client, wechat, "同意")
    assert "办结时间已调整" in reply
    with db.read_sessions() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None and complaint.due_at is not None and old_due is not None
        assert complaint.due_at > old_due, "only consent moves the whole-case deadline"
        actions = [e.action for e in complaint.timeline]
    assert "answer_extension" in actions, "the answer lands on the timeline"


def test_refusal_in_the_chat_leaves_the_deadline(db, app_config, company_config):
    from bot import create_app
    from bot.wechat_sim import WeChatSide

    now = local(2026, 11, 23, 10, 0)
    complaint_id, old_due = _ask_for_extension(db, company_config, now)
    client = create_app(app_config | {"COMPANY": company_config, "CLOCK": lambda: now.astimezone(dt.UTC)},
                        database=db).test_client()
    wechat = WeChatSide("tousu-dev-token", "a" * 43, "wxd0000000000dev0")
    _say(client, wechat, "不同意，时间太长了")
    with db.read_sessions() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        assert complaint.due_at == old_due
