"""Every staff message that names a case links to it: each kind is produced by the real code path (intake,
the workflow operations, the SLA sweep), queued with the case's link, and sent through the fake WeCom
server as a text card whose link is ``PUBLIC_BASE_URL/console/wecom/login?next=/console/cases/<number>``,
within WeCom's limits (title ≤ 128 bytes, description ≤ 512)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.channels import Outgoing
from bot.channels.sink import DevSink
from bot.channels.wecom import WeComClient, WeComSender, card_description
from handlers.workflow import operations as ops
from handlers.workflow.deadlines import sweep_deadlines
from handlers.workflow.notify import case_link
from storage.db import Database
from storage.models import Complaint, DevSinkMessage, OutboxChannel, OutboxMessage, Severity
from tests.fakes.fake_wechat import (
    FAKE_AGENT_ID,
    WECOM_SEND,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)
from tests.handlers.test_intake_chat import Chat, _to_summary, add_org
from tests.handlers.test_intake_submit import QUALITY, make_draft, submit
from tests.handlers.test_workflow_support import World, assigned, investigated, local, make_complaint, make_world

PUBLIC = "https://tousu.example.com"


def staff_rows(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.channel == OutboxChannel.WECOM_APP).order_by(OutboxMessage.id)))


# -- the workflow's messages: kind → (what to do, which outbox rows are that kind) --------------------------


_numbers = itertools.count(26020101)


def _new(w: World, **fields: Any) -> Complaint:
    return make_complaint(w, number=str(next(_numbers)), **fields)


def _assigned(w: World) -> Complaint:
    return assigned(w, _new(w), responsible="qian.hao")


def _reassigned(w: World) -> Complaint:
    c = _assigned(w)
    ops.reassign(w.session, w["li.na"], c, ctx=w.ctx(), responsible=w["zhao.lei"], reason="钱浩出差")
    return c


def _plan_for_approval(w: World) -> Complaint:
    c = investigated(w, _new(w))
    ops.propose_plan(w.session, w["zhao.lei"], c, ctx=w.ctx(), measures=["compensation"], description="赔偿损失",
                     due_date=dt.date(2026, 3, 3), amount="20000")
    return c


def _plan_decided(w: World) -> Complaint:
    c = _plan_for_approval(w)
    ops.approve_plan(w.session, w["chen.gang"], c, ctx=w.ctx(), note="同意")
    return c


def _major(w: World) -> Complaint:
    c = _assigned(w)
    ops.change_severity(w.session, w["li.na"], c, ctx=w.ctx(), severity=Severity.MAJOR, reason="涉及多个批次")
    return c


def _swept(*moments: dt.datetime) -> Callable[[World], Complaint]:
    def run(w: World) -> Complaint:
        c = assigned(w, _new(w, severity=Severity.MAJOR), responsible="qian.hao")
        for moment in moments:
            sweep_deadlines(w.session, moment, policy=w.policy)
        return c
    return run


WORKFLOW: dict[str, tuple[Callable[[World], Complaint], str]] = {
    "assigned": (_assigned, ":assigned"),
    "assigned_head": (_assigned, ":assigned_head"),
    "reassigned_away": (_reassigned, ":away"),
    "plan_approval_request": (_plan_for_approval, ":approval"),
    "plan_decided": (_plan_decided, ":decided"),
    "major_notice": (_major, ":major-notice"),
    "reminder": (_swept(local(2026, 2, 14, 12, 1)), ":reminder:"),
    "breach": (_swept(local(2026, 2, 15, 9, 0)), ":breach"),
    "escalation": (_swept(local(2026, 2, 15, 9, 0), local(2026, 2, 25, 0, 0)), ":escalation"),
}


def send_through_fake(fake: FakeWeChat, rows: list[OutboxMessage]) -> list[dict[str, Any]]:
    """Send each row as the dispatcher would (WeComSender on the app client) and return the bodies WeCom got."""
    client = WeComClient(fake.corp_id, fake.corp_secret, FAKE_AGENT_ID, base_url=fake.url, timeout=2.0)
    sender = WeComSender(client, PUBLIC)
    for row in rows:
        sender.send(Outgoing(id=row.id, channel=row.channel, recipient=row.recipient, payload=dict(row.payload)))
    return [call.body for call in fake.calls_to(WECOM_SEND)]


def assert_card_for(body: dict[str, Any], number: str) -> None:
    assert body["msgtype"] == "textcard"
    card = body["textcard"]
    assert card["url"] == f"{PUBLIC}/console/wecom/login?next=/console/cases/{number}"
    assert card["btntxt"] == "查看详情"
    assert card["title"] and len(card["title"].encode()) <= 128
    assert card["description"] and len(card["description"].encode()) <= 512
    assert "\n" not in card["description"]  # lines are <br>: WeCom's card markup


@pytest.mark.parametrize("kind", sorted(WORKFLOW))
def test_every_workflow_staff_message_is_a_card_linking_to_its_case(session, company_config, fake_wechat,
                                                                     kind: str) -> None:
    world = make_world(session, company_config)
    act, key = WORKFLOW[kind]
    complaint = act(world)
    rows = [m for m in staff_rows(session) if key in (m.dedupe_key or "")]
    assert rows, f"no {kind} message was queued"
    for row in rows:
        assert row.complaint_id == complaint.id
        assert row.payload["url"] == case_link(complaint)
        assert case_link(complaint) == f"/console/wecom/login?next=/console/cases/{complaint.number}"
        assert row.payload["title"]
    bodies = send_through_fake(fake_wechat, rows)
    assert len(bodies) == len(rows)
    for body in bodies:
        assert_card_for(body, complaint.number)


def test_no_staff_message_about_a_case_goes_without_its_link(session, company_config) -> None:
    """The whole lifecycle's staff messages, whatever their kind: each about a case carries its link."""
    world = make_world(session, company_config)
    for act, _ in WORKFLOW.values():
        act(world)
    rows = staff_rows(session)
    assert len(rows) >= 10
    numbers = {c.id: c.number for c in session.scalars(sa.select(Complaint))}
    for row in rows:
        assert row.complaint_id is not None
        assert row.payload.get("url") == f"/console/wecom/login?next=/console/cases/{numbers[row.complaint_id]}"


# -- intake's messages: the new case, the 重大 notice, the call-back request --------------------------------


@pytest.mark.parametrize("kind", ["new_case", "major_suggested"])
def test_intake_staff_messages_are_cards_linking_to_the_case(db: Database, company_config, fake_wechat,
                                                             kind: str) -> None:
    add_org(db)
    openid = "oCardUser0000001"
    answers = QUALITY if kind == "new_case" else QUALITY | {
        "batch": ["2311-08", "2311-09"], "description": "板材开裂，工人被割伤，准备找媒体曝光"}
    make_draft(db, openid, answers)
    number, complaint_id = submit(db, company_config, openid)
    prefix = {"new_case": "new-case:", "major_suggested": f"wf:{complaint_id}:major-notice"}[kind]
    check_intake_cards(db, fake_wechat, prefix, number)
    if kind == "new_case":
        assert fake_wechat.calls_to(WECOM_SEND)[0].body["textcard"]["title"] == f"新投诉待分类交办 {number}"


def test_a_call_back_request_about_a_filed_case_is_a_card_linking_to_it(db: Database, company_config,
                                                                          fake_wechat) -> None:
    add_org(db)
    chat = Chat(db, company_config)
    _to_summary(chat)
    chat.send("确认")
    chat.send("人工")
    [complaint] = chat.complaints()
    check_intake_cards(db, fake_wechat, "callback:", complaint.number)


def check_intake_cards(db: Database, fake: FakeWeChat, prefix: str, number: str) -> None:
    with db.read_sessions() as s:
        rows = [m for m in staff_rows(s) if (m.dedupe_key or "").startswith(prefix)]
        s.expunge_all()
    assert rows, f"no {prefix} message was queued"
    for row in rows:
        assert row.payload["url"] == f"/console/wecom/login?next=/console/cases/{number}"
    for body in send_through_fake(fake, rows):
        assert_card_for(body, number)


# -- the card's text ------------------------------------------------------------------------------------------


def test_a_long_text_becomes_a_card_description_within_512_bytes() -> None:
    text = "【催办】投诉 26020001 <b>&</b>\n" + "问题：" + "铝板表面划痕" * 80 + "\n请及时处理。"
    description = card_description(text)
    assert len(description.encode()) <= 512
    assert description.startswith("【催办】投诉 26020001 &lt;b&gt;&amp;&lt;/b&gt;<br>问题：铝板")
    assert description.endswith("…")


def test_a_card_description_never_ends_in_half_an_entity() -> None:
    for pad in range(0, 12):
        description = card_description("x" * (500 + pad) + "<<<<<<<<")
        assert len(description.encode()) <= 512
        tail = description[description.rfind("&"):] if "&" in description else ""
        assert not tail or ";" in tail


def test_the_dev_sink_keeps_the_card_with_its_full_link(db: Database) -> None:
    sink = DevSink(db, public_base_url="http://127.0.0.1:5000")
    sink.send(Outgoing(id=1, channel=OutboxChannel.WECOM_APP, recipient="zhao.lei",
                       payload={"text": "请处理", "title": "投诉 26020001",
                                "url": "/console/wecom/login?next=/console/cases/26020001"}))
    with db.read_sessions() as s:
        row = s.scalars(sa.select(DevSinkMessage)).one()
        assert row.payload["url"] == "http://127.0.0.1:5000/console/wecom/login?next=/console/cases/26020001"
        assert row.payload["title"] == "投诉 26020001"
