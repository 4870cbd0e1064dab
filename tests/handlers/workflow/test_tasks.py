"""Tasks staff do by hand: opened once per key, told to the lead office with a link, closed with an outcome."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from handlers.workflow.errors import PreconditionFailed
from handlers.workflow.tasks import complete_task, open_task, open_tasks
from storage.models import StaffTask, TaskKind, TaskStatus, TimelineEvent
from tests.handlers.test_workflow_support import World, local, make_complaint, make_world, outbox


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def test_a_task_opens_once_per_key_and_the_lead_office_gets_a_card(world: World, session) -> None:
    c = make_complaint(world, number="26020101", lead_office_id=world.dept("quality_office").id)
    due = local(2026, 2, 16, 17, 0)
    first = open_task(session, c, TaskKind.CALL_CUSTOMER, "结果通知无法送达（客户已取消关注），请电话告知。",
                      now=world.now, dedupe_key=f"call:{c.id}:result", details={"text": "处理结果……"}, due_at=due)
    again = open_task(session, c, TaskKind.CALL_CUSTOMER, "重复", now=world.now, dedupe_key=f"call:{c.id}:result")
    session.commit()
    assert again.id == first.id and session.scalar(sa.select(sa.func.count()).select_from(StaffTask)) == 1
    assert (first.status, first.department_id, first.details) == (TaskStatus.OPEN, c.lead_office_id,
                                                                  {"text": "处理结果……"})
    [card] = outbox(session, recipient="li.na", complaint=c)
    assert card.payload["title"] == "电话告知客户 26020101"
    assert card.payload["text"] == (
        "【电话告知客户】投诉 26020101 需要人工处理：\n结果通知无法送达（客户已取消关注），请电话告知。\n"
        "请于 2月16日（周一）17:00 前完成。完成后在工作台记录处理情况。"
    )
    assert card.payload["url"].endswith("/console/cases/26020101")
    opened = session.scalar(sa.select(TimelineEvent).where(TimelineEvent.action == "task_opened"))
    assert opened is not None and opened.details["kind"] == "call_customer"
    assert open_tasks(session, c) == [first]


def test_a_task_is_closed_once_with_what_was_done(world: World, session) -> None:
    c = make_complaint(world, number="26020102")
    task = open_task(session, c, TaskKind.CALLBACK, "客户评价2星，请电话回访。", now=world.now, dedupe_key="cb:1")
    later = world.now + dt.timedelta(hours=3)
    with pytest.raises(PreconditionFailed, match="请填写处理情况"):
        complete_task(session, world["li.na"], task, "  ", now=later)
    complete_task(session, world["li.na"], task, "已回电，客户同意补发", now=later)
    session.commit()
    assert (task.status, task.done_at, task.done_by_id, task.outcome) == (
        TaskStatus.DONE, later, world["li.na"].id, "已回电，客户同意补发")
    with pytest.raises(PreconditionFailed, match="已处理"):
        complete_task(session, world["li.na"], task, "再来一次", now=later)
    done = session.scalar(sa.select(TimelineEvent).where(TimelineEvent.action == "task_done"))
    assert done is not None and done.actor_id == str(world["li.na"].id)
    assert done.details["outcome"] == "已回电，客户同意补发"
    assert open_tasks(session, c) == []
