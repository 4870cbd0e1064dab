"""The /wecom callback: WeCom's encrypted URL check and encrypted messages."""

from __future__ import annotations

import sqlalchemy as sa

from bot.wechat_sim import WeComSide
from storage.models import InboundChannel, InboundMessage


def test_url_check_answers_the_decrypted_echostr(client, wecom: WeComSide):
    response = client.get("/wecom", query_string=wecom.url_check("wecom-echo-1234"))
    assert response.status_code == 200
    assert response.data == b"wecom-echo-1234"


def test_url_check_with_forged_signature_is_403(client, wecom):
    params = wecom.url_check() | {"msg_signature": "0" * 40}
    assert client.get("/wecom", query_string=params).status_code == 403


def test_staff_message_gets_an_encrypted_reply_and_is_recorded_once(client, wecom, db):
    xml = wecom.text("zhang.wei", "帮助", msg_id=880001)
    for _ in range(3):
        signed = wecom.sign(xml)
        response = client.post("/wecom", query_string=signed.params, data=signed.body)
        assert response.status_code == 200
        reply = wecom.open_reply(response.data)
        assert reply["ToUserName"] == "zhang.wei"
        assert "投诉处理助手" in reply["Content"]
    with db.read_sessions() as s:
        rows = s.scalars(sa.select(InboundMessage)).all()
    assert [(r.channel, r.dedupe_key) for r in rows] == [(InboundChannel.WECOM, "wecom:msg:880001")]


def test_forged_wecom_post_is_403(client, wecom):
    signed = wecom.sign(wecom.text("zhang.wei", "hi"))
    signed.params["msg_signature"] = "1" * 40
    assert client.post("/wecom", query_string=signed.params, data=signed.body).status_code == 403


def test_junk_wecom_post_is_400(client, wecom):
    signed = wecom.sign(wecom.text("zhang.wei", "hi"))
    response = client.post("/wecom", query_string=signed.params, data=b"\x00\x01 junk")
    assert response.status_code == 400
    assert b"Traceback" not in response.data


def test_wechat_crypto_is_not_accepted_on_wecom(client, wechat):
    """The two platforms' cryptos differ (receive id): an Official Account message cannot pass as WeCom."""
    signed = wechat.sign(wechat.text("zhang.wei", "hi"), "safe")
    params = {k: signed.params[k] for k in ("timestamp", "nonce", "msg_signature")}
    assert client.post("/wecom", query_string=params, data=signed.body).status_code == 400
