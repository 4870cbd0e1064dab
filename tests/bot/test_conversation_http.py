"""Whole conversations through POST /wechat with signed (and encrypted) XML, as WeChat sends them."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bot.wechat_sim import WeChatSide
from storage.db import Database
from storage.models import Attachment, Complaint, InboundMessage, IntakeMode, IntakeSession, OutboxMessage
from tests.conftest import LiveServer, count_rows

# Monday 2026-11-23 10:00 in Shanghai.
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=15)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def app(db: Database, app_config: dict[str, Any], clock: Clock) -> Any:
    from bot import create_app

    return create_app(app_config | {"CLOCK": clock}, database=db)


class Phone:
    """A follower's phone: signs every message like WeChat's servers and reads the reply."""

    def __init__(self, client: Any, wechat: WeChatSide, openid: str, mode: str = "safe") -> None:
        self.client, self.wechat, self.openid, self.mode = client, wechat, openid, mode

    def post(self, xml: str) -> str:
        signed = self.wechat.sign(xml, self.mode)  # type: ignore[arg-type]
        response = self.client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")
        assert response.status_code == 200
        reply = self.wechat.open_reply(response.data).get("Content", "")
        assert len(reply.encode()) <= 2048
        return str(reply)

    def send(self, *texts: str) -> str:
        reply = ""
        for text in texts:
            reply = self.post(self.wechat.text(self.openid, text))
        return reply

    def image(self, media_id: str) -> str:
        return self.post(self.wechat.image(self.openid, media_id, pic_url=f"http://mmbiz.example/{media_id}.jpg"))

    def voice(self, recognition: str | None) -> str:
        return self.post(self.wechat.voice(self.openid, "voice-1", recognition=recognition))

    def location(self, label: str) -> str:
        return self.post(self.wechat.location(self.openid, 34.62, 112.45, label))

    def event(self, event: str, key: str | None = None) -> str:
        return self.post(self.wechat.event(self.openid, event, key=key))


def complaints(db: Database, openid: str) -> list[Complaint]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(Complaint).where(Complaint.openid == openid).order_by(Complaint.id)))


def state(db: Database, openid: str) -> IntakeSession | None:
    with db.read_sessions() as s:
        return s.scalar(sa.select(IntakeSession).where(IntakeSession.openid == openid))


# -- one conversation per path ------------------------------------------------------------------------

def test_product_quality_conversation(client: Any, wechat: WeChatSide, db: Database) -> None:
    phone = Phone(client, wechat, "oHttpQuality0001", "safe")
    assert "欢迎关注" in phone.event("subscribe")
    reply = phone.event("CLICK", key="COMPLAIN")
    assert "请选择投诉类型" in reply
    assert "单位名称或姓名" in phone.send("1")
    assert "联系人" in phone.send("洛阳某某机械厂")
    assert "联系电话" in phone.send("王工")
    assert "单位地址" in phone.send("0379-6733 3626")
    assert "产品名称、规格型号和批号" in phone.location("河南省洛阳市涧西区某某路8号")
    # related facts in one question each (issue 13): product+spec(+batch), date+quantity
    assert "一共多少" in phone.send("6061-T6铝板 2mm×1220×2440")
    assert "出了什么问题、在哪里发现的" in phone.send("上个月15号 3吨")
    assert "已记下：表面有划痕" in phone.send("表面有划痕")
    phone.voice("开卷后发现板面有很多划痕")
    phone.send("用于幕墙加工", "无")
    assert "佐证" in phone.send("2 4")
    assert "第1个附件" in phone.image("img-1")
    assert "第2个附件" in phone.image("img-2")
    summary = phone.send("好了")
    assert "请核对" in summary and "佐证材料：2张图片" in summary and "单位地址：河南省洛阳市涧西区某某路8号" in summary
    ack = phone.send("确认")
    assert "已受理，投诉编号 26110001" in ack and "15个工作日内办结" in ack
    [complaint] = complaints(db, phone.openid)
    assert complaint.category == "product_quality" and complaint.phone == "+8637967333626"
    assert complaint.purchase_date == dt.date(2026, 10, 15) and complaint.description.endswith("很多划痕")
    assert complaint.address == "河南省洛阳市涧西区某某路8号"
    assert complaint.product_name == "6061-T6铝板" and complaint.spec_model == "2mm×1220×2440"
    assert complaint.batch is None and complaint.quantity == 3 and complaint.quantity_unit == "吨"
    assert count_rows(db, Attachment, complaint_id=complaint.id) == 2
    assert "26110001【已登记】" in phone.send("查询")
    assert "当前状态：已登记" in phone.send("26110001")


def test_service_conversation_in_compatible_mode(client: Any, wechat: WeChatSide, db: Database) -> None:
    phone = Phone(client, wechat, "oHttpService0001", "compat")
    phone.send("我要投诉", "2", "张三", "跳过", "13800138000", "跳过")
    phone.send("业务员电话里态度很差，还挂我电话", "没有")
    summary = phone.send("道歉", "跳过")
    assert "请核对" in summary and "产品名称" not in summary
    assert "3个工作日内处理完毕" in phone.send("确认")
    [complaint] = complaints(db, phone.openid)
    assert complaint.category == "service_attitude" and complaint.demands == ["apology"]


def test_delivery_conversation_from_a_first_message_in_plain_mode(
    client: Any, wechat: WeChatSide, db: Database
) -> None:
    phone = Phone(client, wechat, "oHttpDelivery001", "plain")
    reply = phone.send("你们送货太慢了，说好三天到货，一个星期了还没到，电话13912345678")
    assert "投诉类型：交付物流" in reply and "联系电话：139 1234 5678" in reply
    assert "单位名称或姓名" in reply
    phone.send("某某五金店", "跳过", "跳过")
    summary = phone.send("无", "其他", "跳过")
    assert "请核对" in summary
    phone.send("确认")
    [complaint] = complaints(db, phone.openid)
    assert complaint.category == "delivery" and complaint.phone == "+8613912345678"


def test_cancel_and_unsubscribe(client: Any, wechat: WeChatSide, db: Database) -> None:
    phone = Phone(client, wechat, "oHttpCancel00001")
    phone.send("投诉", "1")
    phone.image("img-x")
    assert "已取消" in phone.send("取消")
    assert count_rows(db, Attachment) == 0
    phone.send("投诉", "1")
    phone.image("img-y")
    phone.event("unsubscribe")
    assert state(db, phone.openid) is None and count_rows(db, Attachment) == 0


def test_a_server_restart_between_two_messages_loses_nothing(
    db: Database, app_config: dict[str, Any], wechat: WeChatSide, clock: Clock
) -> None:
    from bot import create_app

    first = create_app(app_config | {"CLOCK": clock}, database=db).test_client()
    Phone(first, wechat, "oHttpRestart0001").send("投诉", "1", "洛阳某某机械厂")
    db.engine.dispose()
    second = create_app(app_config | {"CLOCK": clock}, database=Database(db.url)).test_client()
    assert "联系电话" in Phone(second, wechat, "oHttpRestart0001").send("王工")
    row = state(db, "oHttpRestart0001")
    assert row is not None and row.answers["complainant_name"] == "洛阳某某机械厂"


# -- retries and simultaneous messages over a real socket ---------------------------------------------

def _post(url: str, wechat: WeChatSide, xml: str) -> tuple[int, bytes]:
    signed = wechat.sign(xml)
    response = requests.post(f"{url}/wechat", params=signed.params, data=signed.body, timeout=20)
    return response.status_code, response.content


def test_four_deliveries_of_one_answer_apply_it_once(live_server: LiveServer, wechat: WeChatSide, db: Database) -> None:
    openid = "oHttpRetry000001"
    for text in ("投诉", "1"):
        assert _post(live_server.url, wechat, wechat.text(openid, text))[0] == 200
    xml = wechat.text(openid, "洛阳某某机械厂", msg_id=8_800_000_001)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _post(live_server.url, wechat, xml), range(4)))
    assert [status for status, _ in results] == [200] * 4
    replies = {wechat.open_reply(body).get("Content") for _, body in results if body != b"success"}
    assert len(replies) == 1 and "联系人" in next(iter(replies))
    assert count_rows(db, InboundMessage, sender=openid) == 3
    row = state(db, openid)
    assert row is not None and row.step == "contact_person"


def test_four_deliveries_of_the_confirmation_file_one_complaint(client: Any, wechat: WeChatSide, db: Database) -> None:
    phone = Phone(client, wechat, "oHttpRetry000002")
    phone.send("投诉", "2", "张三", "跳过", "13800138000", "跳过", "业务员态度很差很差", "无", "道歉", "跳过")
    xml = wechat.text(phone.openid, "确认", msg_id=8_800_000_002)
    replies = {phone.post(xml) for _ in range(4)}
    assert len(replies) == 1 and "26110001" in replies.pop()
    assert len(complaints(db, phone.openid)) == 1


def test_simultaneous_photos_from_one_follower(live_server: LiveServer, wechat: WeChatSide, db: Database) -> None:
    openid = "oHttpPhotos00001"
    for text in ("投诉", "1"):
        _post(live_server.url, wechat, wechat.text(openid, text))
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(
            lambda n: _post(live_server.url, wechat, wechat.image(openid, f"photo-{n}")), range(6)))
    assert all(status == 200 for status, _ in results)
    assert count_rows(db, Attachment, draft_openid=openid) == 6
    row = state(db, openid)
    assert row is not None and row.mode == IntakeMode.FILLING and row.step == "complainant_name"


def test_no_reply_is_ever_split_into_the_outbox(client: Any, wechat: WeChatSide, db: Database) -> None:
    phone = Phone(client, wechat, "oHttpLong0000001")
    phone.send("投诉", "1", "某" * 50, "跳过", "13800138000", "地" * 300, "品" * 200, "规" * 200, "A1 A2 A3",
               "昨天", "3吨", "3", "述" * 1000, "景" * 1000, "损" * 1000, "1 2 3 4 5 6 7")
    summary = phone.send("跳过")
    assert "请核对" in summary
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("reply:%"))) == 0
