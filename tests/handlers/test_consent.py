"""Extension consent in the chat: 同意 / 不同意 answer the pending question first; nothing else does."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.context import HandlerContext
from handlers.intake.state import lock_state
from handlers.messages import IncomingMessage
from handlers.workflow import operations as ops
from handlers.workflow.consent import parse_consent, pending_extensions_for, try_answer
from storage.models import ExtensionStatus, Source
from tests.handlers.test_workflow_support import (
    World,
    assigned,
    eod,
    local,
    make_complaint,
    make_world,
    texts,
    timeline,
)

OPENID = "oCUSTOMER0000000000000001"


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config, now=local(2026, 3, 2, 10))


def _answer(session, message, ctx):
    """The flow as the router calls it: with the follower's conversation row locked first."""
    return try_answer(session, lock_state(session, message.sender, ctx.now), message, ctx)


def text(body: str, *, sender: str = OPENID, at: dt.datetime | None = None) -> IncomingMessage:
    return IncomingMessage(kind="text", sender=sender, created_at=at or local(2026, 3, 2, 11), msg_id=1, text=body)


def _asked(world: World, *, number: str | None = None, new_due: dt.date = dt.date(2026, 3, 31)):
    c = make_complaint(world, received_at=local(2026, 2, 13, 10), **({"number": number} if number else {}))
    assigned(world, c)
    extension = ops.request_extension(session=world.session, staff=world["zhao.lei"], complaint=c, ctx=world.ctx(),
                                      reason="等待第三方检测报告", new_due=new_due)
    return c, extension


@pytest.mark.parametrize(("answer", "expected"), [
    ("同意", True), ("同意。", True), ("好的", True), ("可以的", True), ("同意延期", True), ("OK", True),
    ("我同意，请尽快", True), ("没问题！", True),
    ("不同意", False), ("不行", False), ("不同意，时间太长了", False), ("拒绝", False), ("我不同意", False),
    # not answers to this question: the intake form's words and numbers, other requests
    ("确认", None), ("提交", None), ("是", None), ("1", None), ("2", None), ("查询", None),
    ("什么时候能处理完？", None),
])
def test_parse_consent(answer: str, expected: bool | None) -> None:
    assert parse_consent(answer) is expected


def test_consent_in_chat_moves_the_deadline(world: World, session) -> None:
    c, extension = _asked(world)
    assert pending_extensions_for(session, OPENID, local(2026, 3, 2, 11)) == [extension]
    reply = _answer(session, text("同意"), HandlerContext(now=local(2026, 3, 2, 11), policy=world.policy))
    assert reply is not None and reply.handler == "extension_consent"
    assert "办结时间已调整为 3月31日（周二）23:59" in reply.texts[0]
    assert extension.status is ExtensionStatus.CONSENTED and extension.answer_text == "同意"
    assert c.due_at == eod(2026, 3, 31)
    event = timeline(session, c)[-1]
    assert (event.action, event.actor_kind.value, event.details["consent"]) == ("answer_extension", "customer", True)
    assert event.actor_id == "oCUS…0001"  # masked openid in the audit log
    assert any("客户已同意" in t for t in texts(session, "zhao.lei", c))
    assert pending_extensions_for(session, OPENID, local(2026, 3, 2, 12)) == []


def test_refusal_keeps_the_deadline_and_the_reason(world: World, session) -> None:
    c, extension = _asked(world)
    reply = _answer(session, text("不同意，时间太长了"), HandlerContext(now=local(2026, 3, 2, 11)))
    assert reply is not None and "仍按原时间（3月12日（周四）23:59）办结" in reply.texts[0]
    assert extension.status is ExtensionStatus.REFUSED and extension.answer_text == "不同意，时间太长了"
    assert c.due_at == eod(2026, 3, 12)
    assert timeline(session, c)[-1].details["changes"] == {
        "extension_status": {"before": "pending", "after": "refused"}}


def test_other_messages_pass_through_and_the_question_stays(world: World, session) -> None:
    _, extension = _asked(world)
    assert _answer(session, text("查询"), HandlerContext(now=local(2026, 3, 2, 11))) is None
    image = IncomingMessage(kind="image", sender=OPENID, created_at=local(2026, 3, 2, 11), msg_id=2, media_id="m")
    assert _answer(session, image, HandlerContext(now=local(2026, 3, 2, 11))) is None
    assert extension.status is ExtensionStatus.PENDING


def test_nothing_pending_means_no_answer(world: World, session) -> None:
    make_complaint(world)
    assert _answer(session, text("同意"), HandlerContext(now=local(2026, 3, 2, 11))) is None
    assert _answer(session, text("同意", sender="oSOMEONEELSE"), HandlerContext(now=local(2026, 3, 2, 11))) is None


def test_someone_else_cannot_answer(world: World, session) -> None:
    _, extension = _asked(world)
    assert _answer(session, text("同意", sender="oOTHER00000000000000001"),
                      HandlerContext(now=local(2026, 3, 2, 11))) is None
    assert extension.status is ExtensionStatus.PENDING


def test_after_the_old_deadline_the_question_is_gone(world: World, session) -> None:
    c, extension = _asked(world)
    late = HandlerContext(now=local(2026, 3, 13, 9))
    assert _answer(session, text("同意", at=late.now), late) is None
    assert c.due_at == eod(2026, 3, 12) and extension.status is ExtensionStatus.PENDING


def test_two_pending_questions_a_number_picks_one(world: World, session) -> None:
    first, ext1 = _asked(world, number="26020101")
    second, ext2 = _asked(world, number="26020102", new_due=dt.date(2026, 4, 10))
    ctx = HandlerContext(now=local(2026, 3, 2, 11))
    reply = _answer(session, text("26020102 同意"), ctx)
    assert ext2.status is ExtensionStatus.CONSENTED and ext1.status is ExtensionStatus.PENDING
    assert second.due_at == eod(2026, 4, 10) and first.due_at == eod(2026, 3, 12)
    assert reply is not None and "26020101 也在等您答复" in reply.texts[0]
    reply = _answer(session, text("不同意"), ctx)
    assert ext1.status is ExtensionStatus.REFUSED and reply is not None and "也在等您答复" not in reply.texts[0]


def test_phone_asked_extensions_are_not_answered_in_chat(world: World, session) -> None:
    c = make_complaint(world, source=Source.PHONE, openid=None, received_at=local(2026, 2, 13, 10))
    c.openid = OPENID  # a follower who also called in: the question was asked by phone
    assigned(world, c)
    ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="检测", new_due=dt.date(2026, 3, 31),
                          via="phone")
    assert _answer(session, text("同意"), HandlerContext(now=local(2026, 3, 2, 11))) is None
