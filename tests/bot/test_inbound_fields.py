"""bot.inbound.to_incoming, field by field: what each callback field becomes, and what is refused and why."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import pytest

from bot.inbound import MAX_SENDER, MalformedMessage, log_delivery, to_incoming
from handlers.messages import IncomingMessage, Location
from storage.inbound import MAX_DEDUPE_KEY

BASE = {"ToUserName": "gh_account", "FromUserName": "oFields000000001", "CreateTime": "1767225600"}


def incoming(**fields: Any) -> IncomingMessage:
    return to_incoming({k: v for k, v in (BASE | fields).items() if v is not None})


def test_a_text_message():
    message = incoming(MsgType="text", Content="你好", MsgId="42", Event="subscribe", MediaId="m1")
    assert (message.kind, message.text, message.msg_id, message.event) == ("text", "你好", 42, None)
    assert message.sender == "oFields000000001"
    assert message.created_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert message.location is None and message.event_key is None
    assert message.raw["ToUserName"] == "gh_account"


def test_voice_carries_its_recognition_and_other_kinds_no_text():
    assert incoming(MsgType="voice", Recognition="我要投诉", Content="x").text == "我要投诉"
    assert incoming(MsgType="image", Content="x", MediaId="m", PicUrl="http://p").text is None
    image = incoming(MsgType="image", MediaId="m", PicUrl="http://p")
    assert (image.media_id, image.pic_url) == ("m", "http://p")


def test_kinds():
    assert incoming(MsgType="shortvideo").kind == "video"
    assert incoming(MsgType="FILE").kind == "file"
    assert incoming(MsgType="miniprogrampage").kind == "unknown"
    assert incoming(MsgType=None).kind == "unknown"
    assert incoming(MsgType="x" * 32).kind == "unknown"
    with pytest.raises(MalformedMessage, match=r"^MsgType: longer than 32 characters$"):
        incoming(MsgType="x" * 33)


def test_events():
    event = incoming(MsgType="event", Event="CLICK", EventKey="COMPLAIN")
    assert (event.kind, event.event, event.event_key, event.msg_id) == ("event", "click", "COMPLAIN", None)
    assert incoming(MsgType="event", Event="subscribe", EventKey="").event_key is None


def test_location():
    message = incoming(MsgType="location", Location_X="-90", Location_Y="180", Label="南极")
    assert message.location == Location(-90.0, 180.0, "南极")
    assert incoming(MsgType="location", Location_X="34.6", Location_Y="112.4").location == Location(34.6, 112.4, "")
    with pytest.raises(MalformedMessage, match=r"^Location_X: not a coordinate$"):
        incoming(MsgType="location", Location_X="90.0001", Location_Y="0")
    with pytest.raises(MalformedMessage, match=r"^Location_Y: not a number$"):
        incoming(MsgType="location", Location_X="1", Location_Y=None)


@pytest.mark.parametrize("fields, reason", [
    ({"CreateTime": None}, "CreateTime: missing"),
    ({"ToUserName": None}, "ToUserName: missing"),
    ({"CreateTime": "②"}, "CreateTime: not a whole number up to 253402300799"),
    ({"MsgId": str(2**63)}, "MsgId: not a whole number up to 9223372036854775807"),
    ({"Content": {"a": "b"}}, "Content: not a text field"),
    ({"FromUserName": "o" * (MAX_SENDER + 1)}, f"FromUserName: longer than {MAX_SENDER} characters"),
    ({"MsgType": "event", "Event": "e" * 200}, "FromUserName and Event too long for a delivery key"),
])
def test_refusals_name_the_field(fields, reason):
    with pytest.raises(MalformedMessage) as refused:
        incoming(**({"MsgType": "text"} | fields))
    assert str(refused.value) == reason


def test_the_longest_delivery_key_that_fits():
    prefix = len(incoming(MsgType="event", Event="e").dedupe_key) - 1
    fits = incoming(MsgType="event", Event="e" * (MAX_DEDUPE_KEY - prefix))
    assert len(fits.dedupe_key) == MAX_DEDUPE_KEY


def test_the_log_line(caplog):
    caplog.set_level(logging.INFO, logger="tousu.inbound")
    message = incoming(MsgType="text", Content="hi", MsgId="7")
    log_delivery("wecom", message, "ok", "help", time.perf_counter() - 0.25)
    log_delivery("wechat", None, "rejected:400", "-", time.perf_counter(), detail="MsgId: 不对")
    first, second = (r.getMessage() for r in caplog.records)
    assert "oFie…0001" in first and "不对" in second, "readable, not \\u-escaped"
    line = json.loads(first)
    assert {k: line[k] for k in ("event", "channel", "openid", "msg_id", "kind", "handler", "status")} == {
        "event": "inbound", "channel": "wecom", "openid": "oFie…0001", "msg_id": 7, "kind": "text",
        "handler": "help", "status": "ok"}
    assert 250 <= line["ms"] < 5000 and round(line["ms"], 1) == line["ms"]
    assert "detail" not in line
    assert json.loads(second) | {"ms": 0} == {"event": "inbound", "channel": "wechat", "openid": None,
                                             "msg_id": None, "kind": None, "handler": "-",
                                             "status": "rejected:400", "ms": 0, "detail": "MsgId: 不对"}
