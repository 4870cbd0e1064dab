"""Signed but malformed or oversize messages, and real message kinds from the platforms, over /wechat and /wecom.

Every message here carries a valid signature (and ciphertext), so only the message's own content can go wrong:
it must end in a clean 4xx before any transaction, or reach the handler that serves it.
"""

from __future__ import annotations

import base64
import random
import time
from typing import Any

import pytest
import sqlalchemy as sa

from bot.inbound import MAX_MEDIA_ID, MAX_MSG_ID, MAX_SENDER
from bot.wechat_sim import WeChatSide, WeComSide, message_xml, sha1_signature
from storage.models import Attachment, AttachmentKind, InboundMessage
from tests.conftest import count_rows


def post(client: Any, path: str, signed: Any) -> Any:
    return client.post(path, query_string=signed.params, data=signed.body, content_type="text/xml")


@pytest.fixture
def production(db: Any, app_config: dict[str, Any]) -> Any:
    """The app as deployed (not TESTING): a crash would be answered 200 + apology instead of raising."""
    from bot import create_app

    return create_app(app_config | {"TESTING": False}, database=db).test_client()


def _send(client: Any, side: WeChatSide | WeComSide, xml: str) -> Any:
    if isinstance(side, WeComSide):
        return post(client, "/wecom", side.sign(xml))
    return post(client, "/wechat", side.sign(xml, "safe"))


def _fields(side: WeChatSide | WeComSide, sender: str = "oEdgeUser0000001", **fields: Any) -> str:
    account = side.corp_id if isinstance(side, WeComSide) else side.account
    base = {"ToUserName": account, "FromUserName": sender, "CreateTime": int(time.time()), "MsgType": "text",
            "Content": "你好", "MsgId": 5550001}
    return message_xml({k: v for k, v in (base | fields).items() if v is not None})


def assert_clean_4xx(response: Any) -> None:
    assert 400 <= response.status_code < 500, response.status_code
    assert b"Traceback" not in response.data and len(response.data) < 200


@pytest.fixture(params=["wechat", "wecom"])
def side(request: Any, wechat: WeChatSide, wecom: WeComSide) -> WeChatSide | WeComSide:
    return wechat if request.param == "wechat" else wecom


# -- 13: malformed numbers, ciphertext and nesting -------------------------------------------------------

@pytest.mark.parametrize("field", ["CreateTime", "MsgId"])
@pytest.mark.parametrize("value", ["²", "①", "١٢٣", "99999999999999999999", "-5", "12a", "1.5"])
def test_malformed_numbers_are_400(production, db, side, field, value):
    assert_clean_4xx(_send(production, side, _fields(side, **{field: value})))
    assert count_rows(db, InboundMessage) == 0


def test_an_empty_msg_id_is_no_msg_id(production, db, side):
    assert _send(production, side, _fields(side, MsgId="")).status_code == 200
    with db.read_sessions() as s:
        assert s.scalars(sa.select(InboundMessage.msg_id)).one() is None


def test_create_time_past_year_9999_or_missing_is_400(production, side):
    assert_clean_4xx(_send(production, side, _fields(side, CreateTime=253402300800)))
    assert_clean_4xx(_send(production, side, _fields(side, CreateTime=None)))
    last_second = _send(production, side, _fields(side, CreateTime=253402300799, MsgId=5550002))
    assert last_second.status_code == 200


def _random_ciphertext(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(rng.choice([0, 1, 5, 15, 16, 17, 31, 32, 33, 48, 64, 80, 200]))).decode()


def test_random_ciphertext_is_400_on_wechat(production, wechat):
    rng = random.Random(8)
    for _ in range(150):
        garbage = _random_ciphertext(rng)
        signed = wechat.sign(wechat.text("oEdgeUser0000001", "hi"), "safe")
        signed.body = f"<xml><ToUserName>gh</ToUserName><Encrypt>{garbage}</Encrypt></xml>".encode()
        ts, nonce = signed.params["timestamp"], signed.params["nonce"]
        signed.params["msg_signature"] = sha1_signature(wechat.token, ts, nonce, garbage)
        assert_clean_4xx(post(production, "/wechat", signed))


def test_random_ciphertext_is_400_on_wecom(production, wecom):
    rng = random.Random(9)
    for _ in range(150):
        garbage = _random_ciphertext(rng)
        signed = wecom.sign(wecom.text("zhangsan", "hi"))
        signed.body = f"<xml><ToUserName>ww</ToUserName><Encrypt>{garbage}</Encrypt></xml>".encode()
        ts, nonce = signed.params["timestamp"], signed.params["nonce"]
        signed.params["msg_signature"] = sha1_signature(wecom.token, ts, nonce, garbage)
        assert_clean_4xx(post(production, "/wecom", signed))


@pytest.mark.parametrize("field", ["Content", "FromUserName", "MsgId", "ToUserName", "Title"])
def test_an_element_nested_2000_deep_is_400(production, db, side, field):
    deep = "<a>" * 2000 + "x" + "</a>" * 2000
    xml = _fields(side, **{field: None}).replace("</xml>", f"<{field}>{deep}</{field}></xml>")
    response = _send(production, side, xml)
    if field == "Title":  # a field tousu does not read: the message is served without it
        assert response.status_code == 200
        return
    assert_clean_4xx(response)
    assert count_rows(db, InboundMessage) == 0


# -- 14: fields larger than their columns ------------------------------------------------------------------

@pytest.mark.parametrize("fields", [
    {"MsgId": MAX_MSG_ID + 1},
    {"MsgId": 2**64},
    {"FromUserName": "o" * (MAX_SENDER + 1)},
    {"MsgType": "image", "Content": None, "PicUrl": "http://mmbiz.example/p.jpg", "MediaId": "m" * (MAX_MEDIA_ID + 1)},
    {"MsgType": "image", "Content": None, "PicUrl": "http://x/" + "p" * 1100, "MediaId": "m1"},
    {"MsgType": "event", "Content": None, "MsgId": None, "FromUserName": "o" * MAX_SENDER, "Event": "subscribe_long"},
])
def test_oversize_fields_are_400_before_any_transaction(production, db, side, fields):
    assert_clean_4xx(_send(production, side, _fields(side, **fields)))
    assert count_rows(db, InboundMessage) == 0


@pytest.mark.parametrize("x, y", [("nan", "112.4"), ("1e999", "112.4"), ("34.6", "-inf"), ("91", "112.4"),
                                  ("34.6", "181"), ("north", "112.4"), (None, "112.4")])
def test_a_location_that_is_no_place_is_400(production, db, wechat, x, y):
    xml = _fields(wechat, MsgType="location", Content=None, Location_X=x, Location_Y=y, Scale=15, Label="洛阳")
    assert_clean_4xx(_send(production, wechat, xml))
    assert count_rows(db, InboundMessage) == 0


def test_a_location_at_the_address_step_of_a_complaint_is_400_when_not_finite(production, db, wechat):
    """The probe's case: nan reached the address step and failed inside the transaction (JSON has no NaN)."""
    openid = "oEdgeAddress0001"
    for text in ("投诉", "水泥有质量问题，裂缝很多"):
        assert _send(production, wechat, wechat.text(openid, text)).status_code == 200
    xml = _fields(wechat, sender=openid, MsgType="location", Content=None, Location_X="nan", Location_Y="1e999",
                  Label="洛阳", MsgId=5550100)
    assert_clean_4xx(_send(production, wechat, xml))
    good = _send(production, wechat, wechat.location(openid, 34.6, 112.4, "洛阳市涧西区"))
    assert good.status_code == 200 and wechat.open_reply(good.data)["Content"]


def test_fields_exactly_at_their_limits_are_stored(production, db, wechat):
    sender = "o" * MAX_SENDER
    response = _send(production, wechat, _fields(wechat, sender=sender, MsgId=MAX_MSG_ID))
    assert response.status_code == 200
    image = _fields(wechat, sender=sender, MsgType="image", Content=None, PicUrl="http://x/p.jpg",
                    MediaId="m" * MAX_MEDIA_ID, MsgId=MAX_MSG_ID - 1)
    assert _send(production, wechat, image).status_code == 200
    with db.read_sessions() as s:
        assert s.scalar(sa.select(InboundMessage.msg_id).where(InboundMessage.msg_type == "text")) == MAX_MSG_ID
        assert s.scalar(sa.select(Attachment.media_id)) == "m" * MAX_MEDIA_ID


# -- 17, 18, 19: real messages from the platforms ------------------------------------------------------------

def test_a_file_from_a_customer_is_kept_as_evidence(client, db, wechat):
    openid = "oEdgeFiles000001"
    reply = wechat.open_reply(_send(client, wechat, wechat.file(openid, "质检报告.pdf")).data)
    assert "暂时无法处理" not in reply["Content"]
    with db.read_sessions() as s:
        attachment = s.scalars(sa.select(Attachment)).one()
    assert attachment.kind is AttachmentKind.FILE
    assert attachment.draft_openid == openid
    assert attachment.meta["title"] == "质检报告.pdf"


def test_a_file_during_a_complaint_is_attached_to_the_draft(client, db, wechat):
    openid = "oEdgeFiles000002"
    for text in ("投诉", "水泥有质量问题，裂缝很多"):
        _send(client, wechat, wechat.text(openid, text))
    reply = wechat.open_reply(_send(client, wechat, wechat.file(openid, "检测数据.xlsx")).data)
    assert "暂时无法处理" not in reply["Content"]
    assert count_rows(db, Attachment, draft_openid=openid, kind=AttachmentKind.FILE) == 1


@pytest.mark.parametrize("key", ["scanbarcode|EAN_13|6901234567892", "scanimage|1234", "qrscene_123", None])
def test_following_by_any_scan_gets_the_welcome(client, wechat, key):
    reply = wechat.open_reply(_send(client, wechat, wechat.event("oEdgeScan0000001", "subscribe", key=key)).data)
    assert "欢迎关注" in reply["Content"]


def test_wecom_customer_service_event_without_sender_is_answered_success(client, db, wecom):
    xml = wecom.event(None, "kf_msg_or_event", Token="ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
                      OpenKfId="wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q")
    response = post(client, "/wecom", wecom.sign(xml))
    assert response.status_code == 200
    assert response.data == b"success"
    assert count_rows(db, InboundMessage) == 0


def test_a_message_without_sender_is_still_400(client, wecom, wechat):
    assert_clean_4xx(post(client, "/wecom", wecom.sign(_fields(wecom, sender=None))))
    assert_clean_4xx(post(client, "/wechat", wechat.sign(_fields(wechat, sender=None))))
