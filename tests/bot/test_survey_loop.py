"""Issue 10's "Done when", end to end: a complaint filed over /wechat, driven through the workflow under a moving
clock, its result, survey, a 2★ answer and its consequences (callback task, management notice, reopen) and finally
a 5★ close, all arriving at the fake WeChat/WeCom server; the case page opened from the survey message."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.channels.sink import build_channels
from bot.config import DEV_AES_KEY, DEV_WECHAT_TOKEN
from bot.wechat_sim import WeChatSide
from handlers.context import HandlerContext
from handlers.workflow import operations as ops
from scheduler.jobs import run_survey_sweep
from scheduler.outbox import dispatch_due
from storage.models import (
    Complaint,
    ComplaintStatus,
    PerformanceKind,
    PerformanceRecord,
    Staff,
    StaffTask,
    TaskKind,
)
from tests.fakes.fake_wechat import (
    AUTHORIZE,
    CUSTOM_SEND,
    WECOM_SEND,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)
from tests.handlers.test_workflow_support import local, make_world

OPENID = "oLOOP000000000000000001"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.now = moment
        return moment


def test_the_whole_loop_reaches_the_customer_and_the_staff(db, app_config, company_config,
                                                          fake_wechat: FakeWeChat) -> None:
    from bot import create_app

    clock = Clock(local(2026, 11, 23, 9, 0))  # Monday
    app = create_app(app_config | {
        "CLOCK": clock, "WECHAT_APPID": fake_wechat.appid, "WECHAT_SECRET": fake_wechat.secret,
        "WECHAT_API_BASE_URL": fake_wechat.url, "WECHAT_OAUTH_BASE_URL": fake_wechat.url,
        "WECOM_CORP_ID": fake_wechat.corp_id, "WECOM_SECRET": fake_wechat.corp_secret,
        "WECOM_AGENT_ID": "1000002", "WECOM_API_BASE_URL": fake_wechat.url,
    }, database=db)
    settings = app.extensions["tousu"].settings
    channels = build_channels(settings, db)
    client = app.test_client()
    wechat = WeChatSide(DEV_WECHAT_TOKEN, DEV_AES_KEY, fake_wechat.appid)
    with db.transaction() as s:
        make_world(s, company_config)  # the org chart

    def say(*texts: str) -> str:
        reply = ""
        for text in texts:
            signed = wechat.sign(wechat.text(OPENID, text), "safe")
            response = client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")
            assert response.status_code == 200
            reply = str(wechat.open_reply(response.data).get("Content", ""))
        return reply

    def act(at: dt.datetime, step: Callable[[Session, Complaint, Callable[[str], Staff], HandlerContext], Any]) -> None:
        clock.set(at)
        with db.transaction() as s:
            complaint = ops.load_complaint(s, number)
            step(s, complaint, lambda userid: s.scalars(sa.select(Staff).where(Staff.wecom_userid == userid)).one(),
                 HandlerContext(now=at, policy=settings.policy))

    def deliver() -> None:
        dispatch_due(db, channels, now=clock.now, limit=500)

    def to_customer() -> list[str]:
        return [c.body["text"]["content"] for c in fake_wechat.deliveries
                if c.path == CUSTOM_SEND and c.body["touser"] == OPENID]

    def to_staff(userid: str) -> list[dict[str, Any]]:
        return [c.body["textcard"] for c in fake_wechat.deliveries
                if c.path == WECOM_SEND and userid in c.body["touser"].split("|")]

    def status() -> ComplaintStatus:
        with db.read_sessions() as s:
            return s.scalars(sa.select(Complaint.status).where(Complaint.number == number)).one()

    # 1. The customer files a service complaint in the chat.
    say("我要投诉", "2", "张三", "跳过", "13800138000", "跳过")
    say("业务员电话里态度很差，还挂我电话", "没有", "道歉", "跳过")
    ack = say("确认")
    number = re.search(r"投诉编号 (\d{8})", ack).group(1)  # type: ignore[union-attr]

    def handle(round_: int, start: dt.datetime) -> None:
        """One round of handling by 销售部 (王强), fed back by the lead office (张伟)."""
        if round_ == 1:
            act(start, lambda s, c, who, ctx: ops.triage(s, who("zhang.wei"), c, ctx=ctx, valid=True,
                                                          handling_department=who("wang.qiang").department_id,
                                                          responsible=who("wang.qiang")))
        act(start + dt.timedelta(hours=1),
            lambda s, c, who, ctx: ops.start_investigation(s, who("wang.qiang"), c, ctx=ctx))
        act(start + dt.timedelta(hours=2), lambda s, c, who, ctx: ops.record_investigation(
            s, who("wang.qiang"), c, ctx=ctx, methods=["phone"], findings="业务员态度不当", cause="service_fault",
            responsibility="company", responsible_department=who("wang.qiang").department_id,
            responsibility_type="direct"))
        act(start + dt.timedelta(hours=3), lambda s, c, who, ctx: ops.submit_report(
            s, who("wang.qiang"), c, ctx=ctx, report_text="业务员沟通态度不当。"))
        act(start + dt.timedelta(hours=4), lambda s, c, who, ctx: ops.propose_plan(
            s, who("wang.qiang"), c, ctx=ctx, measures=["apology", "training"], description="当面致歉并培训",
            due_date=(start + dt.timedelta(days=2)).date()))
        act(start + dt.timedelta(hours=5),
            lambda s, c, who, ctx: ops.start_implementation(s, who("wang.qiang"), c, ctx=ctx))
        act(start + dt.timedelta(hours=6), lambda s, c, who, ctx: ops.complete_implementation(
            s, who("wang.qiang"), c, ctx=ctx, note="已致歉"))
        act(start + dt.timedelta(hours=7), lambda s, c, who, ctx: ops.feed_back_result(
            s, who("zhang.wei"), c, ctx=ctx, text=f"第{round_}次处理：业务员已当面向您致歉，并已接受服务培训。"))

    # 2. Staff handle it under a moving clock; the result reaches the customer.
    handle(1, local(2026, 11, 23, 10, 0))
    deliver()
    assert any("第1次处理：业务员已当面向您致歉" in t for t in to_customer()), "the result arrives"
    assert status() is ComplaintStatus.RESOLVED

    # 3. After the preset's delay (2 h) the survey job asks for stars; the message links to the case page.
    assert run_survey_sweep(db, settings, now=clock.set(local(2026, 11, 23, 18, 59))) == 0
    assert run_survey_sweep(db, settings, now=clock.set(local(2026, 11, 23, 19, 0))) == 1
    deliver()
    asked = to_customer()[-1]
    assert "请您对处理结果评价" in asked and f"/c/{number}" in asked
    page_path = urlsplit(re.search(r"(http\S+/c/\d+)", asked).group(1)).path  # type: ignore[union-attr]
    fake_wechat.oauth_openid = OPENID

    def open_page() -> str:
        """Open the link in WeChat: web authorisation (silent) when the page does not know the follower yet."""
        opened = client.get(page_path)
        if opened.status_code == 302:
            assert opened.headers["Location"].startswith(fake_wechat.url + AUTHORIZE)
            back = requests.get(opened.headers["Location"], allow_redirects=False, timeout=5)
            callback = urlsplit(back.headers["Location"])
            assert client.get(f"{callback.path}?{callback.query}").status_code == 302
            opened = client.get(page_path)
        assert opened.status_code == 200
        return str(opened.get_data(as_text=True))

    page = open_page()
    assert "待您评价" in page and "第1次处理" in page and "提交评价" in page

    # 4. A 2★ answer in the chat: callback task, management notice against the handler, reopen.
    clock.set(local(2026, 11, 23, 20, 0))
    reply = say("2 还是不满意，态度敷衍")
    assert "★★☆☆☆" in reply and "重新处理" in reply
    assert status() is ComplaintStatus.REOPENED
    with db.read_sessions() as s:
        complaint_id = s.scalars(sa.select(Complaint.id).where(Complaint.number == number)).one()
        kinds = [t.kind for t in s.scalars(sa.select(StaffTask).where(StaffTask.complaint_id == complaint_id))]
        records = [(r.kind, r.staff_id) for r in s.scalars(
            sa.select(PerformanceRecord).where(PerformanceRecord.complaint_id == complaint_id))]
        handler_id = s.scalars(sa.select(Staff.id).where(Staff.wecom_userid == "wang.qiang")).one()
    assert kinds == [TaskKind.CALLBACK]
    assert records == [(PerformanceKind.CRITICISM, handler_id), (PerformanceKind.NOTICE, handler_id)]
    deliver()
    assert any("低分评价通报" in card["title"] and "王强" in card["description"] for card in to_staff("chen.gang"))
    assert any("电话回访" in card["title"] for card in to_staff("zhang.wei")), "the lead office gets the task"
    assert any("重新处理" in card["title"] for card in to_staff("wang.qiang"))
    assert any("重新进入处理" in t for t in to_customer())

    # 5. The second round, a new survey, and 5★ close the case with praise.
    handle(2, local(2026, 11, 24, 9, 0))
    run_survey_sweep(db, settings, now=clock.set(local(2026, 11, 24, 18, 0)))
    deliver()
    assert sum("请您对处理结果评价" in t for t in to_customer()) == 2, "one survey per round"
    clock.set(local(2026, 11, 24, 18, 30))
    assert "本投诉已办结" in say("五星")
    assert status() is ComplaintStatus.CLOSED
    deliver()
    assert any("已办结" in t for t in to_customer())
    assert any("五星好评" in card["title"] for card in to_staff("wang.qiang"))
    final = open_page()
    assert "已办结" in final and "您的评价" in final and "提交评价" not in final
