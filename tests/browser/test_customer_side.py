"""Issue 10's "done when", the customer's half, as a new user would try it in the simulator.

A follower files a complaint in the simulator; the acknowledgement links to the case page, which opens from
the chat. Staff work the case to its result (the operations, as the console would call them); the result
and then the survey arrive in the chat as pushes, each with its link; the customer opens the survey's link
and gives five stars, and the case closes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from bot.channels.sink import build_channels
from bot.runtime import Runtime
from handlers import survey
from handlers.workflow import operations as ops
from scheduler.outbox import dispatch_due
from storage.models import Complaint, ComplaintStatus
from tests.browser.conftest import expect, horizontal_overflow
from tests.browser.test_simulator import SERVICE_COMPLAINT, dispatch, open_simulator, say, start_complaint
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import investigated, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def clock() -> list[dt.datetime]:
    return [dt.datetime.now(dt.UTC)]


@pytest.fixture
def app(db: Any, app_config: dict[str, Any], clock: list[dt.datetime]) -> Any:
    """The app on a clock the test moves (the survey waits for its delay after the result)."""
    from bot import create_app

    return create_app(app_config | {"CLOCK": lambda: clock[0]}, database=db)


def open_link_in_last(page: Page, bubbles: str, name: str) -> None:
    """Tap the link called ``name`` in the newest chat bubble of kind ``bubbles`` (bot reply or push)."""
    link = page.locator(f"#chat .msg.{bubbles}").last.get_by_role("link", name=name)
    expect(link).to_have_attribute("href", re.compile(r"/c/\d{8}\?t="))
    link.click()
    page.wait_for_url(re.compile(r"/c/\d{8}\?t="))


def test_the_simulator_shows_the_customer_side_with_the_case_page_opened_from_a_message(
    phone_page: Page, live_server: LiveServer, app: Any, db: Any, company_config: dict[str, Any],
    clock: list[dt.datetime], screenshot: Callable[..., Path],
) -> None:
    page = phone_page
    with db.transaction() as s:
        make_world(s, company_config)  # the org chart `make run` syncs, with its staff
    open_simulator(page, live_server)
    start_complaint(page)
    for answer in SERVICE_COMPLAINT:
        say(page, answer)
    ack = say(page, "确认")
    found = re.search(r"投诉编号 (\d{8})", ack)
    assert found, ack
    number = found.group(1)
    screenshot(page, "simulator-ack-with-link")

    # The acknowledgement's link opens the case page: this case, in plain words, with its next step.
    open_link_in_last(page, "bot", "查看办理进度")
    expect(page.locator("body")).to_contain_text(number)
    expect(page.locator(".hero-status")).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "customer-page-from-ack", full_page=True)

    # Staff work it to the result (the console's operations, on the app's clock).
    with db.transaction() as s:
        world = make_world(s, company_config, now=clock[0])
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c is not None
        # 服务态度 is the general office's (张伟) to triage; 销售部's 王强 handles it.
        ops.triage(s, world["zhang.wei"], c, ctx=world.ctx(), valid=True, handling_department=world.dept("sales"),
                   responsible=world["wang.qiang"])
        investigated(world, c, actor="wang.qiang")
        ops.propose_plan(s, world["wang.qiang"], c, ctx=world.ctx(), measures=["apology"], description="电话致歉",
                         due_date=clock[0].date() + dt.timedelta(days=3))
        ops.start_implementation(s, world["wang.qiang"], c, ctx=world.ctx())
        ops.complete_implementation(s, world["wang.qiang"], c, ctx=world.ctx(), note="已致歉")
        ops.feed_back_result(s, world["zhang.wei"], c, ctx=world.ctx(), text="已向您当面致歉，并对业务员进行了培训。")
    dispatch(app)

    # The result arrives in the chat as a push, and its link shows what was fed back.
    page.goto(f"{live_server.url}/dev/simulator")  # back to the chat (same follower): the page loads its pushes
    push = page.locator("#chat .msg.push").last
    expect(push).to_contain_text("已处理完毕")
    screenshot(page, "simulator-result-push")
    open_link_in_last(page, "push", "查看办理进度")
    expect(page.locator(".result")).to_contain_text("已向您当面致歉")

    # Then, after the survey's delay (2 h), the survey; its link opens the page's stars, and five close the case.
    clock[0] += dt.timedelta(hours=3)
    with db.transaction() as s:
        world = make_world(s, company_config, now=clock[0])
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c is not None and survey.send_survey(s, c, ctx=world.ctx()) is not None
    rt: Runtime = app.extensions["tousu"]
    dispatch_due(rt.db, build_channels(rt.settings, rt.db), now=clock[0])
    page.goto(f"{live_server.url}/dev/simulator")  # back to the chat (same follower): the page loads its pushes
    expect(page.locator("#chat .msg.push").last).to_contain_text("请您对处理结果评价")
    open_link_in_last(page, "push", "打开页面评价")
    page.locator("label[for=star-5]").click()
    page.locator("button.btn-primary").click()
    expect(page.locator(".notice-ok")).to_contain_text("感谢您的评价")
    screenshot(page, "customer-page-rated-from-push", full_page=True)
    with db.read_sessions() as s:
        closed = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert closed is not None and closed.status is ComplaintStatus.CLOSED
