"""WeChat retries a slow delivery up to 3 times: four deliveries must have exactly one effect."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from bot.wechat_sim import WeChatSide
from storage.models import InboundMessage, InboundStatus
from tests.conftest import count_rows


def _count(db, **filters):
    return count_rows(db, InboundMessage, **filters)


def test_four_sequential_deliveries_have_one_effect_and_one_reply(client, wechat: WeChatSide, db):
    xml = wechat.text("oRetry0000001", "你好", msg_id=5550001)
    replies = []
    for _ in range(4):  # each retry is signed afresh (new nonce), as WeChat does
        signed = wechat.sign(xml)
        response = client.post("/wechat", query_string=signed.params, data=signed.body)
        assert response.status_code == 200
        replies.append(wechat.open_reply(response.data)["Content"])
    assert len(set(replies)) == 1
    assert _count(db) == 1
    with db.read_sessions() as s:
        row = s.scalar(sa.select(InboundMessage))
    assert row.dedupe_key == "wechat:msg:5550001"
    assert row.status == InboundStatus.DONE


def test_events_are_deduplicated_by_sender_and_create_time(client, wechat, db):
    xml = wechat.event("oRetry0000002", "subscribe", create_time=1790000000)
    for _ in range(4):
        signed = wechat.sign(xml, "safe")
        client.post("/wechat", query_string=signed.params, data=signed.body)
    assert _count(db) == 1
    other = wechat.event("oRetry0000002", "subscribe", create_time=1790000001)
    signed = wechat.sign(other)
    client.post("/wechat", query_string=signed.params, data=signed.body)
    assert _count(db) == 2, "a later event from the same follower is a new event"


def test_four_concurrent_deliveries_over_a_real_socket(live_server, wechat, db):
    xml = wechat.text("oRetry0000003", "并发的重试", msg_id=5550003)

    def deliver(_):
        signed = wechat.sign(xml)
        response = requests.post(f"{live_server.url}/wechat", params=signed.params, data=signed.body, timeout=10)
        return response.status_code, response.content

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(deliver, range(4)))
    assert [status for status, _ in results] == [200] * 4
    bodies = [wechat.open_reply(body).get("Content") if body != b"success" else "success" for _, body in results]
    first = next(b for b in bodies if b != "success")
    assert all(b in (first, "success") for b in bodies), "each delivery gets the same reply or success"
    assert _count(db) == 1


def test_different_messages_from_one_user_each_count(client, wechat, db):
    for msg_id in (5550010, 5550011, 5550012):
        signed = wechat.sign(wechat.text("oRetry0000004", "hi", msg_id=msg_id))
        client.post("/wechat", query_string=signed.params, data=signed.body)
    assert _count(db, sender="oRetry0000004") == 3
