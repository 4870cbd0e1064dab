"""Reaching the customer, always (issue 10 item 1): a customer message about a case is a 客服消息 with the
template message of its purpose to fall back on outside the 48 h window, and a staff task to phone the
customer when WeChat cannot deliver it (no template, not following, no openid). Against the fake WeChat
server over HTTP, through the real senders and the dispatcher."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from bot.channels.sink import build_channels
from handlers import customer
from handlers.workflow import notify
from handlers.workflow import operations as ops
from handlers.workflow.customer_messages import template_time
from scheduler.outbox import dispatch_due
from storage.db import Database
from storage.models import (
    Complaint,
    ComplaintStatus,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    Source,
    StaffTask,
    TaskKind,
    TaskStatus,
    TimelineEvent,
)
from tests.fakes.fake_wechat import (
    CUSTOM_SEND,
    TEMPLATE_SEND,
    WECOM_SEND,
    FakeWeChat,
    fake_settings,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)
from tests.handlers.test_workflow_support import World, company, local, make_complaint, make_world

NOW = local(2026, 3, 2, 10, 0)
BASE = "https://tousu.example.com"


@pytest.fixture(autouse=True)
def links_on_this_site() -> None:
    """As create_app and the worker set them: links on PUBLIC_BASE_URL, followers identified by WeChat."""
    customer.configure_links(BASE, "test-secret-key-0123456789", oauth=True)
OPENID = "oCUSTOMER0000000000000001"
RESULT_TEMPLATE = {
    "template_id": "TPL-RESULT",
    "fields": {"character_string1": "number", "thing2": "notice", "thing3": "detail", "time4": "sent_at",
               "phrase5": "status"},
}
RESULT_TEXT = "经调查，划痕系运输途中包装破损所致，我司已安排补发3吨6061-T6铝板，预计3月5日送达。"


@pytest.fixture
def world(db: Database, company_config: dict[str, Any]) -> World:
    """The demo org chart with a template for results only (status changes have none)."""
    config = company(company_config, wechat_templates={"result": RESULT_TEMPLATE})
    with db.transaction() as s:
        return make_world(s, config, now=NOW)


def new_case(db: Database, world: World, **fields: Any) -> int:
    with db.transaction() as s:
        world.session = s
        c = make_complaint(world, received_at=NOW - dt.timedelta(days=5), **fields)
        c.lead_office_id = world.dept("quality_office").id
        c.status = ComplaintStatus.IMPLEMENTING
        return c.id


def tell(db: Database, world: World, complaint_id: int, template: str = "result", key: str = "m1",
         **context: Any) -> list[int]:
    context = context or {"text": RESULT_TEXT, "company": "示例铝业有限公司"}
    with db.transaction() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        rows = notify.tell_customer(s, complaint, template, now=NOW, policy=world.policy, dedupe_key=key, **context)
        return [r.id for r in rows]


def dispatch(db: Database, fake: FakeWeChat) -> Any:
    channels = build_channels(fake_settings(fake, PUBLIC_BASE_URL=BASE), db)
    return dispatch_due(db, channels, now=NOW + dt.timedelta(minutes=1))


def call_tasks(db: Database) -> list[StaffTask]:
    with db.sessions() as s:
        return list(s.scalars(sa.select(StaffTask).where(StaffTask.kind == TaskKind.CALL_CUSTOMER)
                              .order_by(StaffTask.id)))


def customer_rows(db: Database) -> list[OutboxMessage]:
    with db.sessions() as s:
        return list(s.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel != OutboxChannel.WECOM_APP)
                              .order_by(OutboxMessage.id)))


def number_of(db: Database, complaint_id: int) -> str:
    with db.sessions() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint.number


# -- what is queued -----------------------------------------------------------------------------------


def test_the_row_carries_the_text_its_template_fallback_and_what_a_call_would_need(db: Database,
                                                                                    world: World) -> None:
    case = new_case(db, world)
    [row_id] = tell(db, world, case)

    [row] = customer_rows(db)
    assert row.id == row_id and row.channel is OutboxChannel.WECHAT_CUSTOM and row.recipient == OPENID
    number = number_of(db, case)
    assert row.payload["text"].startswith(f"您好，您的投诉（编号 {number}）已处理完毕")
    template = row.payload["template"]
    assert template["template_id"] == "TPL-RESULT"
    assert template["url"] == f"{BASE}/c/{number}" == notify.customer_case_link(s_complaint(db, case))
    assert template["data"] == {
        "character_string1": {"value": number},
        "thing2": {"value": "处理结果已反馈"},
        "thing3": {"value": RESULT_TEXT[:19] + "…"},  # thing: 20 characters at most
        "time4": {"value": template_time(NOW)},
        "phrase5": {"value": "处置中"},
    }
    assert template_time(NOW) == "2026年3月2日 10:00"
    assert row.payload["case_message"] == {"key": "m1", "purpose": "result", "text": row.payload["text"]}
    assert call_tasks(db) == []


def s_complaint(db: Database, complaint_id: int) -> Complaint:
    with db.sessions() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint


def test_a_purpose_without_template_queues_the_text_alone(db: Database, world: World) -> None:
    case = new_case(db, world)
    tell(db, world, case, "closed", company="示例铝业有限公司")

    [row] = customer_rows(db)
    assert "template" not in row.payload
    assert row.payload["case_message"]["purpose"] == "status_change"


# -- delivery -------------------------------------------------------------------------------------------


def test_inside_48_hours_the_customer_service_message_is_delivered(db: Database, world: World,
                                                                  fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    tell(db, world, case)

    stats = dispatch(db, fake_wechat)

    assert stats.sent == 1
    [delivered] = fake_wechat.deliveries
    assert delivered.path == CUSTOM_SEND and delivered.body["touser"] == OPENID
    assert RESULT_TEXT in delivered.body["text"]["content"]
    assert fake_wechat.calls_to(TEMPLATE_SEND) == []
    assert call_tasks(db) == []


def test_outside_48_hours_the_template_is_delivered_with_its_fields_and_the_case_page(
        db: Database, world: World, fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    tell(db, world, case)
    fake_wechat.fail_next(CUSTOM_SEND, 45015, "response out of time limit or subscription is canceled")

    stats = dispatch(db, fake_wechat)

    assert stats.sent == 1
    [delivered] = fake_wechat.deliveries
    number = number_of(db, case)
    assert delivered.path == TEMPLATE_SEND
    assert delivered.body["touser"] == OPENID and delivered.body["template_id"] == "TPL-RESULT"
    assert delivered.body["url"] == f"{BASE}/c/{number}"
    assert delivered.body["data"]["character_string1"] == {"value": number}
    assert delivered.body["data"]["thing2"] == {"value": "处理结果已反馈"}
    assert delivered.body["client_msg_id"].startswith("tousu-")
    [row] = customer_rows(db)
    assert row.status is OutboxStatus.SENT and "45015" in (row.last_error or "")
    assert call_tasks(db) == []


def test_a_long_text_outside_48_hours_shows_its_template_once(db: Database, world: World,
                                                             fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    long_result = "\n".join(f"第{i}条：已更换受损铝板并复检合格，复检报告随货附上。" for i in range(60))
    tell(db, world, case, text=long_result, company="示例铝业有限公司")
    rows = customer_rows(db)
    assert len(rows) >= 2  # split at 2048 bytes
    fake_wechat.fail_next(CUSTOM_SEND, 45015, times=len(rows))

    stats = dispatch(db, fake_wechat)

    assert stats.sent == len(rows)
    assert len({c.body["client_msg_id"] for c in fake_wechat.calls_to(TEMPLATE_SEND)}) == 1
    assert [c.path for c in fake_wechat.deliveries] == [TEMPLATE_SEND]  # WeChat drops the repeats
    assert call_tasks(db) == []


# -- when WeChat cannot reach the customer: a task to phone them ----------------------------------------


def test_no_template_configured_outside_48_hours_opens_a_call_task(db: Database, world: World,
                                                                  fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    tell(db, world, case, "closed", key="closed-1", company="示例铝业有限公司")
    fake_wechat.fail_next(CUSTOM_SEND, 45015)

    stats = dispatch(db, fake_wechat)

    assert stats.failed == 1
    [row] = customer_rows(db)
    assert row.status is OutboxStatus.FAILED and (row.last_error or "").startswith("45015")
    [task] = call_tasks(db)
    assert task.complaint_id == case and task.status is TaskStatus.OPEN
    assert task.reason == "进度通知微信消息无法送达：超过48小时未互动，且未配置模板消息（45015），请电话告知"
    assert task.details["text"] == row.payload["text"] and "已办结" in task.details["text"]
    assert task.department_id == world.dept("quality_office").id
    # the lead office hears of it by a WeCom card, queued in the same transaction and sent next
    dispatch(db, fake_wechat)
    cards = [c for c in fake_wechat.deliveries if c.path == WECOM_SEND]
    assert len(cards) == 1 and "电话告知客户" in cards[0].body["textcard"]["title"]
    assert set(cards[0].body["touser"].split("|")) >= {"li.na"}
    with db.sessions() as s:
        events = s.scalars(sa.select(TimelineEvent.action).where(TimelineEvent.complaint_id == case)).all()
        assert "task_opened" in events


def test_unfollowed_customer_43004_on_the_template_opens_a_call_task(db: Database, world: World,
                                                                    fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    tell(db, world, case)
    fake_wechat.fail_next(CUSTOM_SEND, 45015)
    fake_wechat.fail_next(TEMPLATE_SEND, 43004, "require subscribe")

    stats = dispatch(db, fake_wechat)

    assert stats.failed == 1
    assert [c.path for c in fake_wechat.deliveries] == [WECOM_SEND]  # the lead office's card, not the customer
    [row] = customer_rows(db)
    assert (row.last_error or "").startswith("43004") and "45015" in (row.last_error or "")
    [task] = call_tasks(db)
    assert task.reason == "处理结果微信消息无法送达：客户未关注公众号（43004），请电话告知"
    assert RESULT_TEXT in task.details["text"]


@pytest.mark.parametrize("errcode", [40003, 40037, 47003])
def test_other_permanent_template_failures_open_a_call_task(db: Database, world: World, fake_wechat: FakeWeChat,
                                                           errcode: int) -> None:
    case = new_case(db, world)
    tell(db, world, case)
    fake_wechat.fail_next(CUSTOM_SEND, 45015)
    fake_wechat.fail_next(TEMPLATE_SEND, errcode)

    dispatch(db, fake_wechat)

    [task] = call_tasks(db)
    assert f"（{errcode}）" in task.reason


def test_a_busy_platform_is_retried_not_turned_into_a_task(db: Database, world: World,
                                                          fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    tell(db, world, case)
    fake_wechat.fail_next(CUSTOM_SEND, -1)

    stats = dispatch(db, fake_wechat)

    assert stats.retried == 1
    assert call_tasks(db) == []


def test_every_piece_of_an_undeliverable_message_opens_one_task(db: Database, world: World,
                                                               fake_wechat: FakeWeChat) -> None:
    case = new_case(db, world)
    long_text = "\n".join(f"第{i}项进展：已与物流公司核对装车记录，正在复核包装。" for i in range(60))
    tell(db, world, case, "progress", key="p1", text=long_text, company="示例铝业有限公司")
    rows = customer_rows(db)
    assert len(rows) >= 2
    fake_wechat.fail_next(CUSTOM_SEND, 45015, times=len(rows))

    stats = dispatch(db, fake_wechat)

    assert stats.failed == len(rows)
    [task] = call_tasks(db)  # once per message, not per piece
    assert long_text in task.details["text"]  # the whole message, to read out


def test_no_openid_opens_the_call_task_at_queue_time(db: Database, world: World) -> None:
    case = new_case(db, world, source=Source.PHONE, openid=None)

    assert tell(db, world, case) == []
    assert tell(db, world, case) == []  # the same message again: still one task

    assert customer_rows(db) == []
    [task] = call_tasks(db)
    assert task.reason == "客户未通过微信投诉（无微信联系方式），请电话告知处理结果"
    assert RESULT_TEXT in task.details["text"]
    assert task.details["purpose"] == "result"


def test_a_workflow_step_on_a_phone_complaint_asks_staff_to_call(db: Database, world: World) -> None:
    """Through an operation: a progress note meant for the customer of a walk-in complaint."""
    case = new_case(db, world, source=Source.WALK_IN, openid=None)
    with db.transaction() as s:
        world.session = s
        complaint = ops.load_complaint(s, case)
        complaint.status = ComplaintStatus.INVESTIGATING
        complaint.handling_department_id = world.dept("production").id
        complaint.responsible_staff_id = world["zhao.lei"].id
        s.flush()
        ops.add_progress_note(s, world["zhao.lei"], complaint, ctx=world.ctx(), text="已派人到现场取样",
                              to_customer=True)

    [task] = call_tasks(db)
    assert "已派人到现场取样" in task.details["text"]
    assert task.details["purpose"] == "status_change"
