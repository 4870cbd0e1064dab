"""The dispatcher under faults: a run of customer messages (results and star surveys) while the fake WeChat
server answers ``-1``, ``40001``, ``45009``, ``45015``, ``43004``, HTTP 500 and too late, under a moving clock.

What must hold (WECHAT.md, bot/channels/errors.py): every message reaches the customer exactly once, except
the two the policy says cannot — ``43004`` (the customer unfollowed: failed for good, with the code) and a
read timeout, which is retried although the platform may have got the first call (documented in errors.py:
a duplicate reply beats a lost one); a busy answer or a 500 is retried after a back-off, a rejected token is
refreshed once and the same call repeated, 45015 falls back to the message's template, 45009 holds the
channel until midnight in Shanghai and the rest of the batch waits with it.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa

from bot.channels import Channels
from bot.channels.errors import next_quota_reset
from bot.channels.wechat import OfficialAccountClient, OfficialAccountSender
from bot.channels.wecom import WeComClient, WeComSender
from scheduler.outbox import dispatch_due
from storage.db import Database
from storage.models import OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import queue_customer_text
from tests.fakes.fake_wechat import (
    CUSTOM_SEND,
    FAKE_AGENT_ID,
    GETTOKEN,
    TEMPLATE_SEND,
    TOKEN,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
TIMEOUT = 0.5
RESULT = "您的投诉（编号 26030001）已处理完毕：已为您更换合格产品。"
SURVEY = "请对本次处理结果评价：回复 1-5 星（5 星为非常满意）。"


def channels(fake: FakeWeChat) -> Channels:
    oa = OfficialAccountSender(OfficialAccountClient(fake.appid, fake.secret, base_url=fake.url, timeout=TIMEOUT))
    wecom = WeComSender(WeComClient(fake.corp_id, fake.corp_secret, FAKE_AGENT_ID, base_url=fake.url,
                                    timeout=TIMEOUT))
    return {OutboxChannel.WECHAT_CUSTOM: oa, OutboxChannel.WECHAT_TEMPLATE: oa, OutboxChannel.WECOM_APP: wecom}


def queue_run(db: Database, customers: int) -> dict[str, int]:
    """For each customer: the result, then the survey (with its template, for outside the 48 h window)."""
    ids: dict[str, int] = {}
    with db.transaction() as session:
        for n in range(1, customers + 1):
            openid = f"oCUSTOMER{n:018d}"
            for kind, text in (("result", RESULT), ("survey", SURVEY)):
                template = {"template_id": "TPL-SURVEY", "data": {"thing1": {"value": "请评价"}}} \
                    if kind == "survey" else None
                row = queue_customer_text(session, openid, text, now=NOW, dedupe_key=f"run:{n}:{kind}",
                                          complaint_id=None, template=template)
                assert row is not None
                ids[f"{n}:{kind}"] = row.id
    return ids


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def rows(db: Database) -> dict[int, OutboxMessage]:
    with db.sessions() as session:
        return {r.id: r for r in session.scalars(sa.select(OutboxMessage))}


def delivered_to(fake: FakeWeChat) -> Counter[tuple[str, str]]:
    """(openid, what) for every delivery: the text of a 客服消息, the template id of a template message."""
    out: Counter[tuple[str, str]] = Counter()
    for call in fake.deliveries:
        body = call.body
        out[(body["touser"], body["text"]["content"] if call.path == CUSTOM_SEND else body["template_id"])] += 1
    return out


def test_a_survey_run_through_every_fault_reaches_each_customer_once(db: Database, fake_wechat: FakeWeChat) -> None:
    fake = fake_wechat
    ids = queue_run(db, customers=6)  # 12 messages, in this order: 1:result, 1:survey, 2:result, …
    senders = channels(fake)
    rng = random.Random(7)

    # Run 1 (10:00): the first calls answer busy, 500, 45015, 43004; the rest go through.
    fake.fail_next(CUSTOM_SEND, -1)                      # 1:result  → retried later
    fake.fail_next(CUSTOM_SEND, None, status=500)        # 1:survey  → retried later
    fake.fail_next(CUSTOM_SEND, 45015)                   # 2:result  → no template: failed for good
    fake.fail_next(CUSTOM_SEND, 43004)                   # 2:survey  → unfollowed: failed for good
    fake.fail_next(CUSTOM_SEND, 45015)                   # 3:result  → …
    # (3:result has no template either; 3:survey onwards go through)
    first = dispatch_due(db, senders, now=NOW, rng=rng)
    assert (first.sent, first.retried, first.failed) == (7, 2, 3)
    state = rows(db)
    assert state[ids["2:survey"]].status is OutboxStatus.FAILED and "43004" in (state[ids["2:survey"]].last_error or "")
    assert state[ids["2:result"]].status is OutboxStatus.FAILED
    assert "45015" in (state[ids["2:result"]].last_error or "")
    assert {state[ids[k]].status for k in ("1:result", "1:survey")} == {OutboxStatus.PENDING}

    # Run 2 (an hour later): every token was revoked meanwhile (40001): the first call refreshes it once and
    # repeats itself, the second uses the new one.
    later = NOW + dt.timedelta(hours=1)
    fake.expire_tokens()
    tokens_before = len(fake.calls_to(TOKEN))
    second = dispatch_due(db, senders, now=later, rng=rng)
    assert len(fake.calls_to(TOKEN)) == tokens_before + 1  # one refresh, not one per message
    assert (second.sent, second.attempted) == (2, 2)

    # Run 3: a result whose call is answered too late (read timeout): the fake took it, the client gave up
    # waiting; the policy retries it (errors.py: it may have been delivered, a duplicate beats a loss).
    with db.transaction() as session:
        slow = queue_customer_text(session, "oCUSTOMER000000000000000008", RESULT, now=later, dedupe_key="run:8")
        assert slow is not None
        slow_id = slow.id
    fake.delay(TIMEOUT + 0.4, path=CUSTOM_SEND, times=1)
    third = dispatch_due(db, senders, now=later, rng=rng)
    assert (third.retried, third.attempted) == (1, 1)
    timed_out = rows(db)[slow_id]
    assert timed_out.status is OutboxStatus.PENDING and "may have been delivered" in (timed_out.last_error or "")
    wait_for(lambda: ("oCUSTOMER000000000000000008", RESULT) in delivered_to(fake))  # the late answer was a yes

    # A new survey, while WeChat's daily quota is spent (45009): it and the rest of the batch wait for midnight.
    with db.transaction() as session:
        extra = queue_customer_text(session, "oCUSTOMER000000000000000007", SURVEY, now=later, dedupe_key="run:7")
        assert extra is not None
        extra_id = extra.id
    fake.fail_next(CUSTOM_SEND, 45009)
    calls_before = len(fake.calls_to(CUSTOM_SEND))
    quota = dispatch_due(db, senders, now=later + dt.timedelta(hours=2), rng=rng)
    assert (quota.deferred, quota.attempted) == (1, 1)  # the quota stops the batch after one call
    assert len(fake.calls_to(CUSTOM_SEND)) == calls_before + 1
    midnight = next_quota_reset(later + dt.timedelta(hours=2))
    held = [r for r in rows(db).values() if r.status is OutboxStatus.PENDING]
    assert held and any(r.next_attempt_at == midnight for r in held)

    # After midnight everything left goes through.
    clock = midnight + dt.timedelta(minutes=1)
    for _ in range(5):
        dispatch_due(db, senders, now=clock, rng=rng)
        clock += dt.timedelta(hours=2)
    final = rows(db)
    assert not [r for r in final.values() if r.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)]
    failed = {i for i, r in final.items() if r.status is OutboxStatus.FAILED}
    assert failed == {ids["2:result"], ids["2:survey"], ids["3:result"]}
    assert all(final[i].status is OutboxStatus.SENT for i in (*ids.values(), extra_id, slow_id) if i not in failed)

    got = delivered_to(fake)
    expected = {(f"oCUSTOMER{n:018d}", RESULT) for n in (1, 4, 5, 6)} | {
        (f"oCUSTOMER{n:018d}", SURVEY) for n in (1, 3, 4, 5, 6)} | {("oCUSTOMER000000000000000007", SURVEY),
                                                                     ("oCUSTOMER000000000000000008", RESULT)}
    assert set(got) == expected
    # Each exactly once, but for the read timeout: the fake took that call, the client gave up waiting,
    # and the policy sent it again (errors.py: a duplicate reply beats a lost one).
    twice = {key for key, n in got.items() if n > 1}
    assert twice == {("oCUSTOMER000000000000000008", RESULT)} and got[("oCUSTOMER000000000000000008", RESULT)] == 2
    assert not fake.calls_to(GETTOKEN)  # no staff message in this run: WeCom never called
    assert not fake.calls_to(TEMPLATE_SEND)  # 45015 only hit messages without a template here


def test_outside_the_window_the_survey_falls_back_to_its_template_once(db: Database, fake_wechat: FakeWeChat) -> None:
    fake = fake_wechat
    ids = queue_run(db, customers=1)
    fake.fail_next(CUSTOM_SEND, 45015, times=2)  # the 48 h window has closed for this customer

    stats = dispatch_due(db, channels(fake), now=NOW)

    assert (stats.sent, stats.failed) == (1, 1)
    state = rows(db)
    assert state[ids["1:result"]].status is OutboxStatus.FAILED  # no template configured for it
    survey = state[ids["1:survey"]]
    assert survey.status is OutboxStatus.SENT and "sent as a template message" in (survey.last_error or "")
    templates = fake.calls_to(TEMPLATE_SEND)
    assert len(templates) == 1 and templates[0].body["client_msg_id"] == f"tousu-{survey.id}"
    assert delivered_to(fake) == Counter({("oCUSTOMER000000000000000001", "TPL-SURVEY"): 1})
