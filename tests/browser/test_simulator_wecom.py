"""The simulator's WeCom app chat in a real browser: a handler (赵磊) picks himself from the org chart and works
his cases with WeCom commands — 待办, 查, 接单, 进度, 反馈 — each signed and encrypted like WeCom's servers do and
answered by the real /wecom endpoint; at 390×844 and on a desktop. Screenshots: simulator-wecom-*.png."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from handlers.workflow import operations as ops
from storage.models import Complaint, ComplaintStatus, TimelineEvent
from tests.browser.conftest import expect, horizontal_overflow
from tests.conftest import LiveServer
from tests.handlers.test_workflow_support import assigned, investigated, make_complaint, make_world

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def cases(db: Any, app_config: dict[str, Any]) -> tuple[str, str]:
    """Two cases of 生产部 with 赵磊 responsible: one just assigned, one whose plan is carried out."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"], now=now)
        fresh = make_complaint(world, number="26120001")
        assigned(world, fresh)
        done = make_complaint(world, number="26120002")
        investigated(world, done)
        person = world["zhao.lei"]
        ops.propose_plan(s, person, done, ctx=world.ctx(), measures=["replace"], description="更换合格铝板",
                         due_date=(now + dt.timedelta(days=10)).date())
        ops.start_implementation(s, person, done, ctx=world.ctx())
        ops.complete_implementation(s, person, done, ctx=world.ctx(), note="已更换")
        return fresh.number, done.number


def command(page: Page, text: str) -> str:
    """Type a WeCom command in the staff pane and return the answer (the newest reply bubble)."""
    replies = page.locator("#staffChat .msg.bot")
    before = replies.count()
    page.fill("#staffText", text)
    page.press("#staffText", "Enter")
    expect(replies).to_have_count(before + 1)
    return replies.last.inner_text()


def _status(db: Any, number: str) -> ComplaintStatus:
    with db.read_sessions() as s:
        return s.scalar(sa.select(Complaint.status).where(Complaint.number == number))


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_handler_works_his_cases_from_wecom_commands(
    request: pytest.FixtureRequest, size: str, live_server: LiveServer, db: Any, cases: tuple[str, str],
    screenshot: Callable[..., Path],
) -> None:
    page: Page = request.getfixturevalue(f"{size}_page")
    fresh, done = cases
    page.clock.install()
    page.goto(f"{live_server.url}/dev/simulator")
    if size == "phone":
        page.locator(".tabs button[data-tab='staff']").click()
    page.select_option("#staffUser", "zhao.lei")
    page.locator("[data-wecom-say='待办']").click()
    todo = page.locator("#staffChat .msg.bot").last
    expect(todo).to_contain_text("赵磊的待办")
    expect(todo).to_contain_text(fresh)
    expect(todo).to_contain_text(done)

    shown = command(page, f"查 {fresh}")
    assert f"投诉 {fresh} · 已交办" in shown and "接单" in shown
    assert "已接单" in command(page, f"接单 {fresh}")
    assert "已记录" in command(page, f"进度 {fresh} 已联系客户，约定明天到现场")
    assert "已向投诉人反馈" in command(page, f"反馈 {done} 已为您更换合格铝板")
    refused = command(page, f"反馈 {fresh} 已处理")
    assert "未能反馈处理结果" in refused and "调查中" in refused
    expect(page.locator("#raw")).to_contain_text("/wecom?")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"simulator-wecom-{size}", full_page=size == "desktop")

    assert _status(db, fresh) is ComplaintStatus.INVESTIGATING
    assert _status(db, done) is ComplaintStatus.RESOLVED
    with db.read_sessions() as s:
        notes = s.scalars(sa.select(TimelineEvent).where(TimelineEvent.action == "add_progress_note")).all()
    assert [n.details["text"] for n in notes] == ["已联系客户，约定明天到现场"]


def test_someone_outside_the_org_chart_gets_only_the_refusal(
    desktop_page: Page, live_server: LiveServer, db: Any, cases: tuple[str, str],
) -> None:
    page = desktop_page
    page.clock.install()
    page.goto(f"{live_server.url}/dev/simulator")
    page.evaluate("""() => { const o = document.createElement('option'); o.value = 'not.staff';
                             document.getElementById('staffUser').appendChild(o); }""")
    page.select_option("#staffUser", "not.staff")
    answer = command(page, f"查 {cases[0]}")
    assert "不在本公司投诉处理人员名单中" in answer and cases[0] not in answer
