"""The intake conversation through the router, one delivery (transaction) per message, on a fixed clock.

``Chat`` is also used by the other intake tests: it builds the messages WeChat would send, runs each through
``bot.inbound.deliver`` (the real unit of work: inbound row, router, outbox, commit) and keeps the replies.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import sqlalchemy as sa

from bot.inbound import deliver
from handlers.config import load_policy
from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Location
from handlers.router import route
from storage.db import Database
from storage.models import (
    Attachment,
    AttachmentKind,
    Complaint,
    Department,
    DepartmentKind,
    InboundChannel,
    IntakeMode,
    IntakeSession,
    OutboxMessage,
    Severity,
    Staff,
    TimelineEvent,
)
from storage.outbox import queue_customer_text

# Monday 2026-11-23 10:00 in Shanghai: a working day, within working hours.
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
_ids = itertools.count(7_000_000_000)


class Chat:
    """One follower talking to the bot; ``send`` returns the passive reply text."""

    def __init__(self, db: Database, company: dict[str, Any], openid: str = "oChatUser0000001",
                 now: dt.datetime = NOW) -> None:
        self.db = db
        self.company = company
        self.openid = openid
        self.now = now
        self.replies: list[str] = []
        self.handlers: list[str] = []

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def deliver(self, message: IncomingMessage) -> str:
        ctx = HandlerContext(now=self.now, policy=load_policy(self.company))
        outcome = deliver(self.db, InboundChannel.WECHAT, message, ctx, route,
                          lambda s, o, t, k, now: queue_customer_text(s, o, t, now=now, dedupe_key=k))
        reply = outcome.reply or ""
        assert len(reply.encode()) <= 2048
        self.replies.append(reply)
        self.handlers.append(outcome.handler)
        self.now += dt.timedelta(seconds=20)
        return reply

    def _message(self, kind: str, **fields: Any) -> IncomingMessage:
        return IncomingMessage(kind=kind, sender=self.openid, created_at=self.now, msg_id=next(_ids), **fields)

    def send(self, text: str) -> str:
        return self.deliver(self._message("text", text=text))

    def say(self, *texts: str) -> str:
        reply = ""
        for text in texts:
            reply = self.send(text)
        return reply

    def image(self, media_id: str = "media-img") -> str:
        return self.deliver(self._message("image", media_id=media_id, pic_url=f"http://mmbiz.example/{media_id}.jpg"))

    def voice(self, recognition: str | None = None, media_id: str = "media-voice") -> str:
        return self.deliver(self._message("voice", media_id=media_id, text=recognition, raw={"Format": "amr"}))

    def location(self, label: str, lat: float = 34.62, lon: float = 112.45) -> str:
        return self.deliver(self._message("location", location=Location(lat, lon, label)))

    def event(self, event: str, key: str | None = None) -> str:
        message = IncomingMessage(kind="event", sender=self.openid, created_at=self.now, event=event, event_key=key)
        return self.deliver(message)

    def click(self, key: str) -> str:
        return self.event("click", key)

    # -- reading the database ------------------------------------------------------------------
    def state(self) -> IntakeSession | None:
        with self.db.read_sessions() as s:
            return s.scalar(sa.select(IntakeSession).where(IntakeSession.openid == self.openid))

    def complaints(self) -> list[Complaint]:
        with self.db.read_sessions() as s:
            return list(s.scalars(sa.select(Complaint).where(Complaint.openid == self.openid).order_by(Complaint.id)))

    def attachments(self, **filters: Any) -> list[Attachment]:
        with self.db.read_sessions() as s:
            query = sa.select(Attachment).order_by(Attachment.id)
            for key, value in filters.items():
                query = query.where(getattr(Attachment, key) == value)
            return list(s.scalars(query))


def outbox(db: Database) -> list[OutboxMessage]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def add_org(db: Database) -> dict[str, int]:
    """The example org chart, in the database (as `tousu org sync` would write it)."""
    heads = {"general_office": "zhang.wei", "quality_office": "li.na", "logistics": "sun.li",
             "sales": "wang.qiang", "management": "chen.gang"}
    names = {"general_office": "综合管理处", "quality_office": "品质保障处", "logistics": "物流部",
             "sales": "销售部", "management": "公司管理层"}
    ids: dict[str, int] = {}
    with db.transaction() as s:
        for code, name in names.items():
            kind = (DepartmentKind.MANAGEMENT if code == "management"
                    else DepartmentKind.LEAD_OFFICE if code.endswith("_office") else DepartmentKind.DEPARTMENT)
            department = Department(code=code, name=name, kind=kind)
            s.add(department)
            s.flush()
            roles = ["management", "approver"] if code == "management" else ["handler", "head"]
            head = Staff(wecom_userid=f"db.{heads[code]}", name=heads[code], department_id=department.id, roles=roles)
            s.add(head)
            s.flush()
            department.head_id = head.id
            ids[code] = department.id
    return ids


# product, spec and batch are asked in one question, date and quantity in another (issue 13)
QUALITY_ANSWERS = (
    "1", "洛阳某某机械厂", "王工", "0379-6733 3626", "跳过", "6061-T6铝板 2mm×1220×2440",
    "上个月15号 3吨", "表面有划痕", "开卷后发现板面有划痕，影响加工", "用于幕墙加工", "无", "2 4",
)


@pytest.fixture
def chat(db: Database, company_config: dict[str, Any]) -> Chat:
    return Chat(db, company_config)


# -- the product-quality path, as in CONVERSATION.md ----------------------------------------------

def test_quality_path_files_a_complete_complaint(chat: Chat, db: Database) -> None:
    first = chat.send("我要投诉")
    assert "请选择投诉类型" in first and "1 产品质量" in first
    replies = [chat.send(answer) for answer in QUALITY_ANSWERS]
    assert "单位名称或姓名" in replies[0]
    assert "联系电话" in replies[2]
    assert "产品名称、规格型号和批号" in replies[4]
    assert "一共多少" in replies[5]
    assert "出了什么问题、在哪里发现的" in replies[6]
    assert "（已记下：表面有划痕）" in replies[7], "a free-text choice starts the description"
    assert "佐证" in replies[-1]
    assert "已收到第1个附件" in chat.image("m1")
    assert "已收到第2个附件" in chat.image("m2")
    summary = chat.send("好了")
    assert "请核对" in summary
    for expected in ("1. 投诉类型：产品质量", "2. 投诉人：洛阳某某机械厂 0379 6733 3626",
                     "5. 产品：6061-T6铝板 2mm×1220×2440", "6. 到货/数量：2026年10月15日（上个月15号） 3吨",
                     "问题类型：表面缺陷", "您的诉求：更换、赔偿", "佐证材料：2张图片", "未填：4 单位地址"):
        assert expected in summary
    assert len(summary.splitlines()) <= 14, "one phone screen (issue 13)"
    ack = chat.send("确认")
    assert "已受理，投诉编号 26110001" in ack
    assert "15个工作日内办结" in ack and "1小时内与您联系" in ack
    assert "品质保障处" in ack
    [complaint] = chat.complaints()
    assert complaint.number == "26110001"
    assert complaint.source.value == "wechat" and complaint.openid == chat.openid
    assert complaint.received_at == NOW, "received when the first message of the complaint arrived"
    assert complaint.registered_at > complaint.received_at
    assert complaint.category == "product_quality"
    assert complaint.complainant_name == "洛阳某某机械厂" and complaint.contact_person == "王工"
    assert complaint.phone == "+8637967333626" and complaint.phone_ext is None
    assert complaint.product_name == "6061-T6铝板" and complaint.spec_model == "2mm×1220×2440"
    assert complaint.batch is None and complaint.address is None
    assert complaint.purchase_date == dt.date(2026, 10, 15)
    assert (complaint.quantity, complaint.quantity_unit) == (3, "吨")
    assert complaint.problem_type == "surface"
    assert complaint.description.startswith("表面有划痕") and "开卷后发现" in complaint.description
    assert complaint.usage_scenario == "用于幕墙加工"
    assert complaint.loss is None
    assert complaint.demands == ["replace", "compensation"]
    assert complaint.sla_preset == "nonferrous-quality"
    assert complaint.severity == Severity.GENERAL and complaint.severity_confirmed is False
    assert [a.complaint_id for a in chat.attachments()] == [complaint.id, complaint.id]
    assert all(a.draft_openid is None for a in chat.attachments())
    state = chat.state()
    assert state is not None and state.mode == IntakeMode.NONE and state.answers == {}


def test_service_path_skips_the_product_questions(chat: Chat) -> None:
    chat.send("投诉")
    replies = [chat.send(a) for a in ("2", "张三", "跳过", "13800138000", "跳过")]
    assert "描述您遇到的问题" in replies[-1], "no product, batch, date or quantity for 服务态度"
    chat.say("业务员电话里态度很差，还挂我电话", "没有", "道歉")
    summary = chat.send("跳过")
    assert "产品名称" not in summary and "生产批次" not in summary
    assert "投诉类型：服务态度" in summary
    ack = chat.send("确认")
    assert "综合管理处" in ack and "3个工作日内处理完毕" in ack
    [complaint] = chat.complaints()
    assert complaint.category == "service_attitude" and complaint.sla_preset == "general"
    assert complaint.product_name is None and complaint.demands == ["apology"]


def test_other_path(chat: Chat) -> None:
    chat.send("投诉")
    chat.say("7", "李四", "跳过", "0379-67333626转123", "河南省洛阳市涧西区某某路8号", "门口的路被货车压坏了很久没人修",
             "无", "7")
    assert "请核对" in chat.send("跳过")
    chat.send("确认")
    [complaint] = chat.complaints()
    assert complaint.category == "other" and complaint.phone_ext == "123"
    assert complaint.address == "河南省洛阳市涧西区某某路8号"


# -- refusals, commands ------------------------------------------------------------------------------

def test_a_refused_answer_re_asks_with_the_hint_and_keeps_earlier_answers(chat: Chat) -> None:
    chat.say("投诉", "1", "洛阳某某机械厂", "王工")
    reply = chat.send("12345")
    assert "手机号" in reply and "联系电话？" in reply, "the hint, then the same question again"
    reply = chat.send("明天")
    assert "联系电话？" in reply
    state = chat.state()
    assert state is not None and state.answers["complainant_name"] == "洛阳某某机械厂"
    assert state.answers["contact_person"] == "王工" and "phone" not in state.answers
    chat.send("13800138000")
    chat.say("跳过", "铝板")  # product, spec and batch are one question: spec and batch not given
    reply = chat.send("2026-12-25")
    assert "日期不能晚于今天" in reply and "什么时候买的" in reply
    reply = chat.send("2010年1月1日")
    assert "10年前" in reply


def test_third_refusal_offers_a_person(chat: Chat) -> None:
    chat.say("投诉", "1", "某厂", "跳过")
    assert "人工" not in chat.send("x")
    chat.send("y")
    assert "回复“人工”" in chat.send("z")


def test_skip_only_on_optional_steps(chat: Chat) -> None:
    chat.say("投诉", "1")
    reply = chat.send("跳过")
    assert "需要填写，不能跳过" in reply and "单位名称或姓名" in reply
    chat.send("某厂")
    assert "联系电话" in chat.send("跳过"), "联系人 is optional"


def test_back_re_asks_the_previous_question_showing_the_old_answer(chat: Chat) -> None:
    chat.say("投诉", "1", "某某厂", "王工")
    reply = chat.send("上一步")
    assert "联系人怎么称呼" in reply and "原来填写的是：王工" in reply
    assert "原来填写的是：某某厂" in chat.send("返回")
    reply = chat.send("洛阳某某机械厂")
    assert "联系人怎么称呼" in reply and "原来填写的是：王工" in reply
    state = chat.state()
    assert state is not None and state.answers["complainant_name"] == "洛阳某某机械厂"


def test_back_at_the_first_question(chat: Chat) -> None:
    chat.send("投诉")
    assert "已经是第一个问题了" in chat.send("上一步")


def test_cancel_deletes_the_draft_and_its_attachments(chat: Chat) -> None:
    chat.say("投诉", "1")
    chat.image()
    assert "已取消" in chat.send("取消")
    assert chat.attachments() == []
    state = chat.state()
    assert state is not None and state.mode == IntakeMode.NONE and state.answers == {}
    assert chat.complaints() == []


def test_help_keeps_the_question(chat: Chat) -> None:
    chat.say("投诉", "1")
    reply = chat.send("帮助")
    assert "“上一步”" in reply and "单位名称或姓名" in reply


def _to_summary(chat: Chat) -> str:
    chat.send("投诉")
    for answer in QUALITY_ANSWERS:
        chat.send(answer)
    return chat.send("跳过")


def test_edit_from_the_summary(chat: Chat) -> None:
    summary = _to_summary(chat)
    assert "3. 联系人：王工" in summary
    reply = chat.send("改3")
    assert "联系人怎么称呼" in reply and "原来填写的是：王工" in reply
    summary = chat.send("李工")
    assert "请核对" in summary and "3. 联系人：李工" in summary
    reply = chat.send("修改2")  # name and phone are one question and one line (issue 13)
    assert "单位名称或姓名，和联系电话" in reply
    summary = chat.send("13800138000")
    assert "2. 投诉人：洛阳某某机械厂 138 0013 8000" in summary, "only the phone changed"
    chat.send("确认")
    assert chat.complaints()[0].contact_person == "李工"


def test_changing_the_category_at_the_summary_asks_the_new_steps(chat: Chat) -> None:
    chat.send("投诉")
    chat.say("2", "张三", "跳过", "13800138000", "跳过", "送货员态度恶劣，东西乱扔", "无", "道歉")
    summary = chat.send("跳过")
    assert "产品名称" not in summary
    chat.send("1")  # edit item 1: the category
    reply = chat.send("产品质量")
    assert "产品名称" in reply, "the quality steps now apply and are asked"
    reply = chat.say("铝板", "昨天 2吨", "3")
    assert "用在什么场景" in reply
    summary = chat.send("跳过")
    assert "请核对" in summary and "产品名称：铝板" in summary


def test_back_from_the_summary_and_from_an_edit(chat: Chat) -> None:
    _to_summary(chat)
    assert "佐证" in chat.send("上一步")
    assert "请核对" in chat.send("跳过")
    chat.send("改2")
    assert "请核对" in chat.send("上一步"), "上一步 while editing goes back to the summary"


def test_summary_other_text_gets_the_instructions(chat: Chat) -> None:
    _to_summary(chat)
    assert "回复“确认”提交" in chat.send("嗯嗯我看看")
    assert "回复“确认”提交" in chat.send("改99")


# -- idle drafts -----------------------------------------------------------------------------------

def test_idle_draft_offers_continue_or_restart(chat: Chat) -> None:
    chat.say("投诉", "1", "某某厂")
    chat.advance(minutes=31)
    reply = chat.send("王工")
    assert "未完成的投诉登记" in reply and "已填写2项" in reply and "联系人" in reply
    reply = chat.send("继续")
    assert "联系人怎么称呼" in reply
    assert "联系电话" in chat.send("王工")


def test_idle_draft_restart(chat: Chat) -> None:
    chat.say("投诉", "1", "某某厂")
    chat.image()
    chat.advance(hours=2)
    chat.send("你好")
    reply = chat.send("重新开始")
    assert "请选择投诉类型" in reply
    state = chat.state()
    assert state is not None and state.answers == {}
    assert chat.attachments() == [], "a restart drops the old draft's attachments"


def test_idle_offer_answers_by_number(chat: Chat) -> None:
    chat.say("投诉", "2")
    chat.advance(minutes=45)
    chat.send("hello")
    assert "单位名称或姓名" in chat.send("1")


def test_resume_prompt_repeats_on_other_text(chat: Chat) -> None:
    chat.say("投诉", "2")
    chat.advance(minutes=45)
    chat.send("hello")
    assert "回复“继续”" in chat.send("什么")


def test_draft_older_than_the_purge_age_starts_afresh(chat: Chat) -> None:
    chat.say("投诉", "1", "某某厂")
    chat.advance(days=8)
    reply = chat.send("你好")
    assert "未完成" not in reply
    state = chat.state()
    assert state is not None and state.mode == IntakeMode.NONE


def test_a_server_restart_loses_nothing(db: Database, company_config: dict[str, Any]) -> None:
    first = Chat(db, company_config, openid="oRestart00000001")
    first.say("投诉", "1", "某某厂")
    db.engine.dispose()  # every connection gone, as after a kill
    second = Chat(db, company_config, openid="oRestart00000001", now=first.now)
    assert "原来填写的是：某某厂" in second.send("上一步")
    state = second.state()
    assert state is not None and state.answers["category"] == ["product_quality"]


# -- media -----------------------------------------------------------------------------------------

def test_media_at_any_step_is_kept_without_losing_the_question(chat: Chat) -> None:
    chat.say("投诉", "1")
    reply = chat.image("early")
    assert "已收到图片" in reply and "单位名称或姓名" in reply
    [attachment] = chat.attachments()
    assert attachment.kind == AttachmentKind.IMAGE and attachment.media_id == "early"
    assert attachment.url == "http://mmbiz.example/early.jpg" and attachment.draft_openid == chat.openid


def test_voice_with_recognition_is_typed_text(chat: Chat) -> None:
    chat.say("投诉", "1")
    assert "联系人" in chat.voice("洛阳某某机械厂")
    assert chat.attachments() == []
    assert chat.state().answers["complainant_name"] == "洛阳某某机械厂"  # type: ignore[union-attr]


def test_voice_without_recognition_is_kept_and_the_customer_asked_to_type(chat: Chat) -> None:
    chat.say("投诉", "1")
    reply = chat.voice(None)
    assert "请用文字回复" in reply and "单位名称或姓名" in reply
    assert [a.kind for a in chat.attachments()] == [AttachmentKind.VOICE]


def test_location_answers_the_address_step(chat: Chat) -> None:
    chat.say("投诉", "2", "张三", "跳过", "13800138000")
    reply = chat.location("河南省洛阳市涧西区某某路8号")
    assert "描述您遇到的问题" in reply
    state = chat.state()
    assert state is not None and state.answers["address"]["label"] == "河南省洛阳市涧西区某某路8号"
    chat.say("送货员态度很差很差", "无", "道歉")
    summary = chat.send("跳过")
    assert "单位地址：河南省洛阳市涧西区某某路8号" in summary
    chat.send("确认")
    assert chat.complaints()[0].address == "河南省洛阳市涧西区某某路8号"


def test_location_elsewhere_is_kept_as_evidence(chat: Chat) -> None:
    chat.say("投诉", "1")
    reply = chat.location("洛阳市")
    assert "已收到位置" in reply and "单位名称或姓名" in reply
    assert [a.kind for a in chat.attachments()] == [AttachmentKind.LOCATION]


def test_attachments_are_capped(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config | {"intake": {"max_attachments": 2}})
    chat.say("投诉", "1")
    chat.image("a")
    chat.image("b")
    assert "不能再添加" in chat.image("c")
    assert len(chat.attachments()) == 2


def test_evidence_done_without_photos_is_a_skip(chat: Chat) -> None:
    chat.send("投诉")
    for answer in QUALITY_ANSWERS:
        chat.send(answer)
    assert "请发送照片" in chat.send("这个怎么发")
    summary = chat.send("好了")
    assert "12 佐证材料" in summary.splitlines()[-2], "listed with what was not given"


def test_media_at_the_summary(chat: Chat) -> None:
    _to_summary(chat)
    reply = chat.image("late")
    assert "已收到图片" in reply and "回复“确认”提交" in reply
    chat.send("确认")
    assert len(chat.attachments(complaint_id=chat.complaints()[0].id)) == 1


# -- a first message that says a lot ------------------------------------------------------------------

def test_first_message_prefills_and_only_asks_the_rest(chat: Chat) -> None:
    reply = chat.send("上周买的6061铝板批次2311-08表面全是划痕，要求换货，电话13800138000")
    assert "我已从您的消息中记下" in reply
    for line in ("投诉类型：产品质量", "联系电话：138 0013 8000", "产品名称：6061铝板", "生产批次：2311-08",
                 "问题类型：表面缺陷", "您的诉求：更换"):
        assert line in reply
    assert "单位名称或姓名" in reply, "the first missing step is asked"
    replies = [chat.send(a) for a in ("洛阳某某机械厂", "王工", "跳过", "跳过", "3吨")]
    assert "联系电话" not in "".join(replies), "the phone is not asked again"
    assert "用在什么场景" in replies[-1], "problem type and description are known already"
    summary = chat.say("跳过", "无", "跳过")
    assert "请核对" in summary
    chat.send("确认")
    [complaint] = chat.complaints()
    assert complaint.batch == "2311-08" and complaint.phone == "+8613800138000"
    assert complaint.demands == ["replace"] and complaint.problem_type == "surface"
    assert complaint.purchase_date == dt.date(2026, 11, 16)
    assert "表面全是划痕，要求换货" in complaint.description, "the customer's words keep their Chinese punctuation"


def test_plain_text_without_fields_gets_an_offer(chat: Chat) -> None:
    reply = chat.send("你们的人说话太难听了")
    assert chat.handlers[-1] in ("intake_offer", "intake_start")
    if chat.handlers[-1] == "intake_offer":
        assert "您是要投诉吗" in reply
        reply = chat.send("是")
    assert "请选择投诉类型" in reply or "投诉类型" in reply


def test_offer_declined_and_offer_ignored(chat: Chat) -> None:
    chat.send("今天天气真的很不错啊")
    assert chat.handlers[-1] == "intake_offer"
    assert "好的" in chat.send("不是")
    assert chat.state().mode == IntakeMode.NONE  # type: ignore[union-attr]
    chat.send("今天天气真的很不错啊")
    assert chat.handlers[-1] == "intake_offer"
    chat.send("你好")
    assert chat.handlers[-1] == "help", "anything else drops the offer and is answered as usual"
    assert chat.state().mode == IntakeMode.NONE  # type: ignore[union-attr]


def test_offer_accepted_uses_the_text_as_the_description(chat: Chat) -> None:
    chat.send("今天天气真的很不错啊")
    assert chat.handlers[-1] == "intake_offer"
    chat.send("是")
    state = chat.state()
    assert state is not None and state.started_at == NOW, "received when the first message came"
    # short and naming nothing: kept as the start of the description, whose question asks for details (issue 13)
    assert state.notes.get("description_seed") == "今天天气真的很不错啊"


def test_greeting_gets_help(chat: Chat) -> None:
    assert "回复“投诉”" in chat.send("你好")
    assert chat.handlers[-1] == "help"
    assert chat.state().mode == IntakeMode.NONE  # type: ignore[union-attr]


def test_photo_out_of_the_blue_is_offered_and_kept(chat: Chat) -> None:
    reply = chat.image("blue")
    assert "您是要投诉吗" in reply
    reply = chat.send("是")
    assert "请选择投诉类型" in reply
    assert [a.media_id for a in chat.attachments(draft_openid=chat.openid)] == ["blue"]


# -- 人工 -----------------------------------------------------------------------------------------

def test_human_in_a_draft_records_the_request_and_tells_the_office(chat: Chat, db: Database) -> None:
    chat.say("投诉", "1", "某厂", "跳过", "13800138000")
    reply = chat.send("人工")
    assert "已为您登记人工回电" in reply and "30分钟内" in reply and "138****8000" in reply
    assert "单位地址" in reply, "the open question is kept"
    [message] = [m for m in outbox(db) if (m.dedupe_key or "").startswith("callback:")]
    assert message.recipient == "li.na", "quality drafts go to 品质保障处's head (config org chart)"
    assert "138****8000" in message.payload["text"] and "13800138000" not in message.payload["text"]
    assert "已经为您登记过" in chat.send("人工")
    _finish(chat)
    assert chat.complaints()[0].callback_requested is True


FINISH_ANSWERS = {
    "complainant_name": "某厂", "phone": "13800138000", "product_name": "铝板", "purchase_date": "昨天",
    "quantity": "1吨", "problem_type": "3", "description": "表面很多划痕很多", "loss": "无", "demands": "2",
}


def _finish(chat: Chat) -> None:
    for _ in range(30):
        state = chat.state()
        assert state is not None
        if state.mode == IntakeMode.SUMMARY:
            chat.send("确认")
            return
        step = state.step
        answer = FINISH_ANSWERS.get(step or "", "跳过")
        chat.send(answer)
    raise AssertionError("never reached the summary")


def test_human_before_a_phone_asks_for_the_phone(chat: Chat, db: Database) -> None:
    chat.say("投诉", "2", "某厂")
    reply = chat.send("人工")
    assert "请留下您的联系电话" in reply
    assert "手机号" in chat.send("123")
    reply = chat.send("13912345678")
    assert "已为您登记人工回电" in reply and "联系人" in reply
    state = chat.state()
    assert state is not None and state.answers["phone"]["e164"] == "+8613912345678"
    assert state.callback_requested_at is not None
    assert any((m.dedupe_key or "").startswith("callback:") and m.recipient == "zhang.wei" for m in outbox(db))


def test_human_without_a_draft(chat: Chat, db: Database) -> None:
    reply = chat.send("人工")
    assert "请留下您的联系电话" in reply
    reply = chat.send("0379-67333626")
    assert "已为您登记人工回电" in reply
    assert chat.state().mode == IntakeMode.NONE  # type: ignore[union-attr]
    [message] = outbox(db)
    assert message.recipient == "zhang.wei" and "尚未登记投诉" in message.payload["text"]


def test_human_with_a_filed_complaint_marks_it(chat: Chat, db: Database) -> None:
    _to_summary(chat)
    chat.send("确认")
    reply = chat.send("人工")
    assert "已为您登记人工回电" in reply and "0379****3626" in reply
    complaint = chat.complaints()[0]
    assert complaint.callback_requested is True
    with db.read_sessions() as s:
        actions = [e.action for e in s.scalars(sa.select(TimelineEvent).where(
            TimelineEvent.complaint_id == complaint.id))]
    assert [a for a in actions if a in ("registered", "callback_requested")] == ["registered", "callback_requested"]


def test_human_out_of_hours_promises_the_next_working_day(db: Database, company_config: dict[str, Any]) -> None:
    # Saturday 2026-11-28 20:00 Shanghai → Monday 11/30
    chat = Chat(db, company_config, now=dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC))
    chat.say("投诉", "1", "某厂", "跳过", "13800138000")
    assert "11月30日（下一个工作日）上班后" in chat.send("人工")


def test_human_early_morning_promises_today(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config, now=dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC))  # Tue 07:00
    chat.send("人工")
    assert "今天08:30上班后" in chat.send("13800138000")


def test_human_phone_request_can_be_cancelled(chat: Chat) -> None:
    chat.say("投诉", "2")
    chat.send("人工")
    reply = chat.send("取消")
    assert "不安排回电" in reply and "单位名称或姓名" in reply
    assert chat.state().mode == IntakeMode.FILLING  # type: ignore[union-attr]


# -- around the draft ---------------------------------------------------------------------------------

def test_status_query_in_the_middle_of_a_draft_keeps_it(chat: Chat) -> None:
    chat.say("投诉", "1", "某厂")
    reply = chat.send("查询")
    assert "还没有提交过投诉" in reply and "回复“继续”" in reply
    assert "联系人" in chat.send("继续")


def test_complain_menu_continues_an_open_draft(chat: Chat) -> None:
    chat.say("投诉", "1", "某厂")
    reply = chat.click("COMPLAIN")
    assert "您正在登记投诉" in reply and "联系人" in reply


def test_complain_menu_starts_a_draft(chat: Chat) -> None:
    assert "请选择投诉类型" in chat.click("COMPLAIN")


def test_unsubscribe_forgets_the_draft_and_keeps_complaints(chat: Chat, db: Database) -> None:
    _to_summary(chat)
    chat.send("确认")
    chat.say("投诉", "1")
    chat.image("draft-photo")
    with db.transaction() as s:
        queue_customer_text(s, chat.openid, "您的投诉已受理", now=chat.now)
    chat.event("unsubscribe")
    assert chat.state() is None
    assert chat.attachments(draft_openid=chat.openid) == []
    assert len(chat.complaints()) == 1
    assert {m.status.value for m in outbox(db) if m.recipient == chat.openid} == {"cancelled"}


def test_numbers_increase_per_complaint(chat: Chat, db: Database) -> None:
    for _ in range(2):
        _to_summary(chat)
        chat.send("确认")
    assert [c.number for c in chat.complaints()] == ["26110001", "26110002"]


def test_routing_uses_the_database_org_chart(chat: Chat, db: Database) -> None:
    ids = add_org(db)
    _to_summary(chat)
    chat.send("确认")
    complaint = chat.complaints()[0]
    assert complaint.lead_office_id == ids["quality_office"]
    assert complaint.handling_department_id == ids["quality_office"]
    [message] = [m for m in outbox(db) if (m.dedupe_key or "").startswith("new-case:")]
    assert message.recipient == "db.li.na"


def test_major_suggestion_tells_management(chat: Chat, db: Database) -> None:
    chat.send("上周买的铝板批次2311-08和2311-09都有裂纹，工人搬运时被割伤，损失约8万元")
    _finish(chat)
    complaint = chat.complaints()[0]
    assert complaint.severity == Severity.MAJOR and complaint.severity_confirmed is False
    reasons = "；".join(complaint.severity_reasons)
    assert "多个批次" in reasons and "人身伤害" in reasons
    keys = {m.dedupe_key: m for m in outbox(db)}
    assert keys[f"wf:{complaint.id}:major-notice"].recipient == "chen.gang"
    assert "30个工作日内办结" in chat.replies[-1]


def test_a_photo_while_we_wait_for_the_callback_phone(chat: Chat) -> None:
    chat.say("投诉", "2", "某厂")
    chat.send("人工")
    reply = chat.image("while-waiting")
    assert "请留下您的联系电话" in reply
    assert [a.media_id for a in chat.attachments()] == ["while-waiting"]
    assert "已为您登记人工回电" in chat.send("13800138000")


def test_the_complain_menu_while_we_wait_for_the_callback_phone_keeps_the_draft(chat: Chat) -> None:
    chat.say("投诉", "2", "某厂")
    chat.send("人工")
    reply = chat.click("COMPLAIN")
    assert "您正在登记投诉" in reply and "联系人" in reply
    state = chat.state()
    assert state is not None and state.answers["complainant_name"] == "某厂"


def test_a_category_word_alone_is_offered_not_started(chat: Chat) -> None:
    assert "您是要投诉吗" in chat.send("你们送货太慢了吧")
    reply = chat.send("是")
    assert "投诉类型：交付物流" in reply and "单位名称或姓名" in reply, "the offered text is pre-filled on 是"
    state = chat.state()
    assert state is not None and state.answers["category"] == ["delivery"]


def test_more_of_the_story_after_an_offer_starts_the_draft(chat: Chat) -> None:
    chat.send("你们送货太慢了吧")
    reply = chat.send("一个星期了还没到，我的电话13912345678")
    assert "投诉类型：交付物流" in reply and "联系电话：139 1234 5678" in reply
    assert "问题描述：你们送货太慢了吧 一个星期了还没到，我的电话" in reply, "punctuation kept as typed"


def test_a_callback_without_a_draft_is_kept_and_carried_into_a_complaint(chat: Chat) -> None:
    chat.send("人工")
    chat.send("13912345678")
    state = chat.state()
    assert state is not None and state.mode == IntakeMode.NONE
    assert state.callback_requested_at is not None and state.notes["callback_phone"] == "+8613912345678"
    assert "已经为您登记过" in chat.send("人工"), "asked twice: told once"
    chat.say("投诉", "2", "张三", "跳过")
    state = chat.state()
    assert state is not None and state.step == "address", "the phone just given is not asked again"
    _finish(chat)
    assert chat.complaints()[0].callback_requested is True
