"""Webhooks out: each state change queues a signed POST in the change's own transaction, the outbox
dispatcher delivers it to the business system (a real HTTP receiver on loopback) with its retry rules."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from bot.channels.sink import build_channels
from bot.channels.webhook import signature
from handlers.config import PolicyError, load_policy
from scheduler.outbox import dispatch_due
from storage.models import OutboxChannel, OutboxMessage, OutboxStatus
from tests.bot.console.case_support import case_state
from tests.fakes.webhook_receiver import SECRET, WebhookReceiver, webhook_receiver_fixture  # noqa: F401 (fixture)


@pytest.fixture
def app_config(app_config: dict[str, Any], webhook_receiver: WebhookReceiver) -> dict[str, Any]:
    config = dict(app_config)
    company = copy.deepcopy(config["COMPANY"])
    company["webhooks"] = {"url": webhook_receiver.url, "secret": SECRET, "timeout_seconds": 2}
    config["COMPANY"] = company
    return config


def _webhook_rows(db) -> list[OutboxMessage]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == OutboxChannel.WEBHOOK)
                              .order_by(OutboxMessage.id)))


def _dispatch(app, clock) -> Any:
    rt = app.extensions["tousu"]
    return dispatch_due(rt.db, build_channels(rt.settings, rt.db), now=clock.now)


def test_each_state_change_reaches_the_business_system_signed(api, cases, db, app, clock, webhook_receiver) -> None:
    number = cases["C"]
    version = api.get("office", f"/complaints/{number}").json["version"]
    triaged = api.post("office", f"/complaints/{number}/triage", {"version": version, "lead_office": "quality_office"})
    api.post("office", f"/complaints/{number}/assign", {"version": triaged.json["version"],
                                                          "handling_department": "production"})
    # a progress note is not a state change; a refused operation changes nothing and queues nothing
    api.post("office", f"/complaints/{number}/add_progress_note", {"version": 1, "text": "旧版本"})
    rows = _webhook_rows(db)
    assert [r.payload["event"] for r in rows] == ["triage", "assign"]
    assert all(r.status is OutboxStatus.PENDING and r.recipient == webhook_receiver.url for r in rows)
    _dispatch(app, clock)
    assert webhook_receiver.events() == [("triage", number), ("assign", number)]
    first = webhook_receiver.deliveries[0]
    assert first.payload == {"event": "triage", "number": number, "from": "registered", "to": "triaged",
                             "at": clock.now.astimezone(dt.UTC).isoformat(), "by": "接口:office",
                             "source": "wechat", "category": "delivery", "severity": "general"}
    assert first.headers["X-Tousu-Event"] == "triage" and first.headers["X-Tousu-Delivery"] == str(rows[0].id)
    assert first.headers["X-Tousu-Signature"] == signature(SECRET, first.headers["X-Tousu-Timestamp"], first.body)
    assert "13800138000" not in first.body.decode() and "洛阳" not in first.body.decode()  # no personal data
    assert [r.status for r in _webhook_rows(db)] == [OutboxStatus.SENT, OutboxStatus.SENT]


def test_registration_is_an_event_too(api, db, app, clock, webhook_receiver, world) -> None:
    from tests.bot.api.test_create import BODY

    created = api.post("office", "/complaints", BODY)
    assert created.status_code == 201
    _dispatch(app, clock)
    assert webhook_receiver.events() == [("registered", created.json["number"])]
    assert webhook_receiver.deliveries[0].payload["from"] is None


def test_a_receiver_error_is_retried_then_a_refusal_fails_for_good(api, cases, db, app, clock,
                                                                   webhook_receiver) -> None:
    number = cases["A"]
    version = api.get("handler", f"/complaints/{number}").json["version"]
    assert api.post("handler", f"/complaints/{number}/start_investigation", {"version": version}).status_code == 200
    webhook_receiver.answer(503, times=1)
    _dispatch(app, clock)
    [row] = _webhook_rows(db)
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and "HTTP 503" in row.last_error
    assert row.next_attempt_at > clock.now  # backed off
    clock.advance(hours=2)
    _dispatch(app, clock)
    assert _webhook_rows(db)[0].status is OutboxStatus.SENT
    assert webhook_receiver.events() == [("start_investigation", number)] * 2  # same delivery id both times
    assert len({d.headers["X-Tousu-Delivery"] for d in webhook_receiver.deliveries}) == 1
    # a 4xx other than 408/429 is the receiver refusing this request: failed, not retried
    webhook_receiver.answer(400)
    other = cases["C"]
    assert api.post("office", f"/complaints/{other}/triage",
                    {"version": case_state(db, other)[1]}).status_code == 200
    _dispatch(app, clock)
    last = _webhook_rows(db)[-1]
    assert last.payload["event"] == "triage" and last.attempts == 1
    assert last.status is OutboxStatus.FAILED and "HTTP 400" in last.last_error


def test_nothing_is_queued_without_webhooks(db, cases, client, tokens) -> None:
    from handlers import webhooks

    webhooks.configure(None)  # as an app without [webhooks] configures it
    number = cases["C"]
    headers = {"Authorization": f"Bearer {tokens['office']}"}
    version = client.get(f"/api/v1/complaints/{number}", headers=headers).json["version"]
    assert client.post(f"/api/v1/complaints/{number}/triage", headers=headers,
                       json={"version": version}).status_code == 200
    assert _webhook_rows(db) == []


@pytest.mark.parametrize(("section", "key"), [
    ({"url": "ftp://x/y", "secret": SECRET}, "webhooks.url"),
    ({"url": "https://erp.example.com/h", "secret": "short"}, "webhooks.secret"),
    ({"url": "https://erp.example.com/h", "secret": SECRET, "events": ["exploded"]}, "webhooks.events"),
    ({"url": "https://erp.example.com/h", "secret": SECRET, "timeout_seconds": 0}, "webhooks.timeout_seconds"),
    ({"url": "https://erp.example.com/h", "secret": SECRET, "retries": 3}, "webhooks.retries"),
])
def test_bad_configuration_names_the_key(section, key) -> None:
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        load_policy({"webhooks": section})


def test_events_filter() -> None:
    policy = load_policy({"webhooks": {"url": "https://erp.example.com/h", "secret": SECRET,
                                       "events": ["registered", "close"]}}).webhooks
    assert policy is not None and policy.wants("close") and not policy.wants("triage")
    assert load_policy({}).webhooks is None and load_policy({"webhooks": {"url": ""}}).webhooks is None
