"""Done-when of issue 11 for the API: a script acting as a hotline system files a complaint over a real socket
(retrying after a lost answer, filing once), the lead office's system and the handling department's system work
it through the API to the end, and the business system's webhook receiver hears every state change, signed.

Everything is real HTTP: the app on a loopback socket (``live_server``), ``requests`` as the client, the
outbox dispatcher delivering to a loopback receiver (tests/fakes/webhook_receiver.py).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests

from bot.channels.sink import build_channels
from handlers.workflow.scope import ConsoleRole
from scheduler.outbox import dispatch_due
from tests.bot.api.conftest import make_tokens
from tests.bot.api.test_create import ANSWERS
from tests.fakes.webhook_receiver import SECRET, WebhookReceiver, webhook_receiver_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.socket


@pytest.fixture
def app_config(app_config: dict[str, Any], webhook_receiver: WebhookReceiver) -> dict[str, Any]:
    config = dict(app_config)
    company = copy.deepcopy(config["COMPANY"])
    company["webhooks"] = {"url": webhook_receiver.url, "secret": SECRET}
    config["COMPANY"] = company
    return config


class System:
    """Another system talking to tousu over HTTP with its own token."""

    def __init__(self, base: str, token: str) -> None:
        self.base = f"{base}/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str) -> Any:
        response = self.http.get(self.base + path, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def act(self, number: str, operation: str, **fields: Any) -> dict[str, Any]:
        version = self.get(f"/complaints/{number}")["version"]
        response = self.http.post(f"{self.base}/complaints/{number}/{operation}", json={"version": version, **fields},
                                  timeout=10)
        assert response.status_code == 200, (operation, response.text)
        return dict(response.json())


def test_a_hotline_call_is_filed_once_worked_to_the_end_and_the_business_system_hears_each_change(
        db, world, app, live_server, clock, webhook_receiver) -> None:
    tokens = make_tokens(db, {"hotline": (ConsoleRole.OFFICE, "quality_office"),
                              "production-system": (ConsoleRole.HANDLER, "production")})
    hotline = System(live_server.url, tokens["hotline"])

    # 1. the hotline system files the call it took at 09:10; its first answer is lost, so it sends again
    call = {"source": "phone", "received_at": "2026-02-13T09:10:00+08:00", "answers": ANSWERS,
            "note": "热线 400 来电，工单 HL-20260213-0007"}
    key = {"Idempotency-Key": "HL-20260213-0007"}
    first = hotline.http.post(f"{hotline.base}/complaints", json=call, headers=key, timeout=10)
    retry = hotline.http.post(f"{hotline.base}/complaints", json=call, headers=key, timeout=10)
    assert first.status_code == 201 and retry.status_code == 200
    number = first.json()["number"]
    assert retry.json() == {**first.json(), "replayed": True}
    assert [c["number"] for c in hotline.get("/complaints")["items"]] == [number]

    # 2. the lead office triages and assigns; the production department investigates, plans, implements
    hotline.act(number, "triage", category="product_quality", severity="general", lead_office="quality_office")
    hotline.act(number, "assign", handling_department="production", responsible="zhao.lei")
    production = System(live_server.url, tokens["production-system"])
    production.act(number, "start_investigation", team=["zhao.lei"])
    production.act(number, "record_contact", method="phone", note="已电话联系客户")
    production.act(number, "record_investigation", methods=["site_check"], findings="表面划痕系运输包装不当",
                   cause="transport_storage", responsibility="company", responsible_department="production",
                   responsibility_type="direct")
    production.act(number, "submit_report", report_text="原因：运输包装不当；责任：生产部；整改：加强包装检验")
    planned = production.act(number, "propose_plan", measures=["replace"], description="补发同规格铝板 3 吨",
                             responsible_department="production", due_date="2026-02-20")
    production.act(number, "start_implementation")
    production.act(number, "complete_implementation", note="已补发并签收")
    resolved = production.act(number, "feed_back_result", text="已补发铝板，请查收", channel="phone")
    assert resolved["status"] == "resolved"
    followed = hotline.act(number, "record_follow_up", method="phone", notes="客户满意", satisfied=True, score=95)
    closed = hotline.act(number, "close", outcome="satisfied")
    assert closed["status"] == "closed" and followed["status"] == "surveying"

    # 3. the business system hears every state change, signed, in order, once each
    rt = app.extensions["tousu"]
    while dispatch_due(rt.db, build_channels(rt.settings, rt.db), now=clock.now).attempted:
        pass
    events = [event for event, n in webhook_receiver.events() if n == number]
    # every change of state, and only those (a plan that needs no approval, a contact, the completed
    # implementation are recorded without leaving the state)
    assert events == ["registered", "triage", "assign", "start_investigation", "start_implementation",
                      "feed_back_result", "record_follow_up", "close"]
    assert planned["status"] == "investigating"
    assert all(d.signature_ok for d in webhook_receiver.deliveries)
    assert len({d.headers["X-Tousu-Delivery"] for d in webhook_receiver.deliveries}) == len(events)
    timeline = [i["action"] for i in hotline.get(f"/complaints/{number}/timeline")["items"]]
    assert "record_contact" in timeline and "record_contact" not in events  # not a state change
