"""The /wechat callback: security checks, the three encryption modes, replies and their limits."""

from __future__ import annotations

import json
import logging
import time

import pytest
import xmltodict

from bot.wechat_sim import WeChatSide, sha1_signature
from storage.models import InboundMessage
from tests.conftest import count_rows


def post(client, signed):
    return client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")


# -- URL check ---------------------------------------------------------------------------------

def test_url_check_echoes_only_with_a_valid_signature(client, wechat: WeChatSide):
    params = wechat.url_check("hello-123")
    assert client.get("/wechat", query_string=params).data == b"hello-123"
    forged = params | {"signature": "0" * 40}
    assert client.get("/wechat", query_string=forged).status_code == 403


# -- the three modes -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
def test_text_message_gets_a_reply_in_every_mode(client, wechat: WeChatSide, mode):
    response = post(client, wechat.sign(wechat.text("oUserA1234567", "你好"), mode))
    assert response.status_code == 200
    outer = xmltodict.parse(response.data)["xml"]
    assert ("Encrypt" in outer) == (mode != "plain"), "encrypted requests get encrypted replies"
    reply = wechat.open_reply(response.data)
    assert reply["ToUserName"] == "oUserA1234567"
    assert reply["FromUserName"] == wechat.account
    assert reply["MsgType"] == "text"
    assert "投诉" in reply["Content"]


def test_subscribe_gets_the_welcome(client, wechat):
    reply = wechat.open_reply(post(client, wechat.sign(wechat.event("oUserB1234567", "subscribe"))).data)
    assert "欢迎关注" in reply["Content"]


@pytest.mark.parametrize("build", [
    lambda w: w.image("oUserC1234567", "media-1"),
    lambda w: w.voice("oUserC1234567", "media-2", recognition="我要投诉"),
    lambda w: w.voice("oUserC1234567", "media-3"),
    lambda w: w.location("oUserC1234567", 34.6, 112.4, "洛阳市"),
    lambda w: w.event("oUserC1234567", "CLICK", key="COMPLAIN"),
])
def test_other_message_kinds_are_answered(client, wechat, build):
    response = post(client, wechat.sign(build(wechat)))
    assert response.status_code == 200
    assert wechat.open_reply(response.data)["Content"]


def test_unknown_message_type_gets_a_polite_text(client, wechat):
    xml = wechat._msg("oUserD1234567", "miniprogrampage", None, Title="x", MsgId=987654321)
    reply = wechat.open_reply(post(client, wechat.sign(xml)).data)
    assert "暂时无法处理这类消息" in reply["Content"]


def test_unsubscribe_answers_success(client, wechat):
    response = post(client, wechat.sign(wechat.event("oUserE1234567", "unsubscribe")))
    assert response.status_code == 200
    assert response.data == b"success"


# -- forged, stale, oversized, malformed -----------------------------------------------------------

def test_forged_signature_is_403(client, wechat):
    signed = wechat.sign(wechat.text("oUserF1234567", "hi"), "plain")
    signed.params["signature"] = sha1_signature("wrong-token", signed.params["timestamp"], signed.params["nonce"])
    assert post(client, signed).status_code == 403


def test_forged_msg_signature_is_403(client, wechat):
    signed = wechat.sign(wechat.text("oUserF1234567", "hi"), "safe")
    signed.params["msg_signature"] = "f" * 40
    assert post(client, signed).status_code == 403


def test_missing_signature_is_403(client, wechat):
    signed = wechat.sign(wechat.text("oUserF1234567", "hi"), "plain")
    del signed.params["signature"]
    assert post(client, signed).status_code == 403


def test_stale_timestamp_is_403(client, wechat):
    signed = wechat.sign(wechat.text("oUserF1234567", "hi"), "safe", timestamp=int(time.time()) - 3600)
    assert post(client, signed).status_code == 403


def test_timestamp_window_can_be_disabled(db, app_config, wechat):
    from bot import create_app

    client = create_app(app_config | {"WECHAT_MAX_SKEW_SECONDS": "0"}, database=db).test_client()
    signed = wechat.sign(wechat.text("oUserF1234567", "hi"), "safe", timestamp=int(time.time()) - 86400 * 30)
    assert post(client, signed).status_code == 200


def test_oversize_body_is_413(client, wechat):
    signed = wechat.sign(wechat.text("oUserG1234567", "长" * 30000), "plain")
    assert len(signed.body) > 64 * 1024
    assert post(client, signed).status_code == 413


def _assert_clean_400(response):
    assert response.status_code == 400
    assert b"Traceback" not in response.data
    assert len(response.data) < 200


def test_junk_body_is_400(client, wechat):
    signed = wechat.sign("<xml>", "plain")
    signed.body = b"this is not xml at all <<<"
    _assert_clean_400(post(client, signed))


def test_entity_declaration_is_400(client, wechat):
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            "<xml><ToUserName>gh</ToUserName><FromUserName>oU</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>")
    _assert_clean_400(post(client, wechat.sign(bomb, "plain")))


def test_entity_inside_ciphertext_is_400(client, wechat):
    bomb = '<!DOCTYPE x [<!ENTITY a "b">]><xml><MsgType>text</MsgType><Content>&a;</Content></xml>'
    _assert_clean_400(post(client, wechat.sign(bomb, "safe")))


def test_missing_encrypt_is_400(client, wechat):
    signed = wechat.sign(wechat.text("oUserH1234567", "hi"), "safe")
    signed.body = b"<xml><ToUserName>gh</ToUserName></xml>"
    _assert_clean_400(post(client, signed))


def test_bad_ciphertext_is_400(client, wechat):
    signed = wechat.sign(wechat.text("oUserH1234567", "hi"), "safe")
    garbage = "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0IGF0IGFsbA=="
    signed.body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{garbage}</Encrypt></xml>".encode()
    ts, nonce = signed.params["timestamp"], signed.params["nonce"]
    signed.params["msg_signature"] = sha1_signature(wechat.token, ts, nonce, garbage)
    _assert_clean_400(post(client, signed))


def test_message_for_another_appid_is_400(client):
    other = WeChatSide("tousu-dev-token", "a" * 43, "wxSomeOtherApp00")
    _assert_clean_400(post(client, other.sign(other.text("oUserI1234567", "hi"), "safe")))


def test_valid_signature_but_malformed_message_is_400(client, wechat):
    _assert_clean_400(post(client, wechat.sign("<xml><MsgType>text</MsgType></xml>", "plain")))


# -- replies and logging -----------------------------------------------------------------------------

def test_reply_texts_fit_in_2048_bytes(client, wechat):
    response = post(client, wechat.sign(wechat.text("oUserJ1234567", "随便说点什么" * 50)))
    assert len(wechat.open_reply(response.data)["Content"].encode()) <= 2048


def test_one_structured_log_line_per_message(client, wechat, caplog):
    caplog.set_level(logging.INFO, logger="tousu.inbound")
    post(client, wechat.sign(wechat.text("oUserK1234567", "你好", msg_id=4242)))
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tousu.inbound"]
    assert len(lines) == 1
    line = lines[0]
    assert line["openid"] == "oUse…4567", "openids are masked in logs"
    assert line["msg_id"] == 4242
    assert line["handler"] == "help"
    assert line["status"] == "ok"
    assert isinstance(line["ms"], float)


def test_rejections_are_logged_too(client, wechat, caplog):
    caplog.set_level(logging.INFO, logger="tousu.inbound")
    signed = wechat.sign(wechat.text("oUserK1234567", "hi"), "plain")
    signed.params["signature"] = "0" * 40
    post(client, signed)
    statuses = [json.loads(r.getMessage())["status"] for r in caplog.records if r.name == "tousu.inbound"]
    assert statuses == ["rejected:403"]


def test_handler_crash_rolls_back_and_apologises_in_production(db, app_config, wechat, monkeypatch):
    """Outside tests, a failing handler leaves no trace in the database and the customer gets an apology."""
    from bot import create_app, webhook

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(webhook, "route", explode)
    app = create_app(app_config | {"TESTING": False}, database=db)
    response = post(app.test_client(), wechat.sign(wechat.text("oUserL1234567", "hi", msg_id=777)))
    assert response.status_code == 200
    assert "没有处理成功" in wechat.open_reply(response.data)["Content"]
    assert count_rows(db, InboundMessage) == 0, "a retry can run it again"


def test_handler_crash_is_visible_to_tests(client, wechat, monkeypatch):
    from bot import webhook

    monkeypatch.setattr(webhook, "route", lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        post(client, wechat.sign(wechat.text("oUserL1234567", "hi")))
