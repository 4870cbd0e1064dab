"""Done-when of issue 11, across doors: a visitor's website complaint and a handler's WeCom command reach the
business system's webhook too, because the hook sits where every state change is recorded
(`handlers.workflow.transitions.record_event`), not in any one door."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sqlalchemy as sa

from bot.channels.sink import build_channels
from scheduler.outbox import dispatch_due
from storage.models import Complaint
from tests.bot.website_support import QUALITY, form_token
from tests.bot.wecom.support import command
from tests.fakes.webhook_receiver import SECRET, WebhookReceiver, webhook_receiver_fixture  # noqa: F401 (fixture)


@pytest.fixture
def app_config(app_config: dict[str, Any], webhook_receiver: WebhookReceiver, tmp_path: Any) -> dict[str, Any]:
    company = copy.deepcopy(app_config["COMPANY"])
    company["webhooks"] = {"url": webhook_receiver.url, "secret": SECRET}
    return {**app_config, "COMPANY": company, "TOUSU_ATTACHMENT_DIR": str(tmp_path / "evidence")}


def test_website_and_wecom_changes_reach_the_webhook(client, wecom, db, world, app, clock, api,
                                                     webhook_receiver) -> None:
    page = client.get("/w/complaint")
    filed = client.post("/w/complaint", data={"form_token": form_token(page.text), **QUALITY},
                        content_type="multipart/form-data")
    assert filed.status_code in (200, 302, 303), filed.text[:300]
    with db.read_sessions() as s:
        number = s.scalar(sa.select(Complaint.number).where(Complaint.source == "website"))
    assert number is not None
    # the lead office routes it to 生产部 with 赵磊 responsible (through the API), who accepts it in WeCom
    version = api.get("office", f"/complaints/{number}").json["version"]
    triaged = api.post("office", f"/complaints/{number}/triage", {"version": version})
    api.post("office", f"/complaints/{number}/assign", {"version": triaged.json["version"],
                                                          "handling_department": "production",
                                                          "responsible": "zhao.lei"})
    answer = command(client, wecom, db, "zhao.lei", f"接单 {number}")
    assert "已接单" in answer.text
    rt = app.extensions["tousu"]
    while dispatch_due(rt.db, build_channels(rt.settings, rt.db), now=clock.now).attempted:
        pass
    assert webhook_receiver.events() == [(event, number) for event in
                                         ("registered", "triage", "assign", "start_investigation")]
    registered, *_, accepted = webhook_receiver.deliveries
    assert registered.payload["source"] == "website" and accepted.payload["by"] == "赵磊"
