"""Two real concurrent transactions delivering one message: the second waits for the first, then follows it.

The first transaction (T1) claims the delivery and holds its transaction open; the second is a whole delivery
(bot.inbound.deliver) in another thread, which must block on the claim (PostgreSQL: the unique index; SQLite:
the writer lock) and then act on how T1 ended: its reply, its unfinished claim, or nothing (rolled back).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.inbound import Outcome, deliver
from handlers.config import load_policy
from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Reply
from storage.db import Database
from storage.inbound import claim_inbound, record_reply
from storage.models import InboundChannel, InboundMessage
from tests.conftest import count_rows

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MESSAGE = IncomingMessage(kind="text", sender="oRace00000000001", created_at=NOW, msg_id=424242, text="你好")


class Handler:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, _session: Session, _message: IncomingMessage, _ctx: HandlerContext) -> Reply:
        self.calls += 1
        return Reply(["T2 的回复"], handler="t2")


def _race(db: Database, company: Any, finish_first: Callable[[Session, int], None]) -> tuple[Outcome, Handler]:
    handler = Handler()
    result: dict[str, Any] = {}

    def second() -> None:
        try:
            ctx = HandlerContext(now=NOW, policy=load_policy(company))
            result["outcome"] = deliver(db, InboundChannel.WECHAT, MESSAGE, ctx, handler, lambda *_a: None)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=second)
    with db.transaction() as first:
        inbound_id = claim_inbound(first, InboundChannel.WECHAT, MESSAGE.dedupe_key, sender=MESSAGE.sender,
                                   msg_type="text", msg_id=MESSAGE.msg_id, received_at=NOW)
        assert inbound_id is not None
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive(), "the second delivery waits while the first holds the claim"
        finish_first(first, inbound_id)
    thread.join(timeout=30)
    assert "error" not in result, result.get("error")
    return result["outcome"], handler


def test_the_second_delivery_gets_the_first_ones_reply(db, company_config):
    outcome, handler = _race(db, company_config, lambda s, i: record_reply(s, i, "T1 的回复", "t1"))
    assert (outcome.reply, outcome.handler, outcome.status) == ("T1 的回复", "t1", "duplicate")
    assert handler.calls == 0


def test_a_claim_committed_unfinished_is_in_progress(db, company_config):
    """T1 commits its claim without a reply (its process died between the two): T2 must not run it again."""
    outcome, handler = _race(db, company_config, lambda _s, _i: None)
    assert outcome == Outcome(None, "duplicate", "in_progress")
    assert handler.calls == 0


def test_a_rolled_back_claim_leaves_the_delivery_to_the_second(db, company_config):
    class RolledBack(Exception):
        pass

    def roll_back(_session: Session, _inbound_id: int) -> None:
        raise RolledBack

    with pytest.raises(RolledBack):
        _race(db, company_config, roll_back)
    # _race raised before reading T2's outcome: wait for it through the database instead.
    for _ in range(300):
        if count_rows(db, InboundMessage, handler="t2") == 1:
            break
        threading.Event().wait(0.1)
    assert count_rows(db, InboundMessage, handler="t2") == 1
