"""Deadlines on the case page: due (Asia/Shanghai), met/breached/open, and time left or overdue — in working
days for working-day limits, on China's calendar with 调休 (2026: Sat 2/14 works, 2/15–2/23 Spring Festival)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from handlers.workflow.time_left import DeadlineState, deadline_rows
from storage.models import Complaint, Deadline
from tests.bot.console.support import START, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import local, make_complaint


def _case(db, world) -> str:
    with in_transaction(db, world) as w:  # received Friday 2026-02-13 10:00, a quality objection
        c = make_complaint(w, received_at=START)
        c.lead_office_id = w.dept("quality_office").id
        return c.number


def _rows(db, world, number: str, now):
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        deadlines = list(s.scalars(sa.select(Deadline).where(Deadline.complaint_id == c.id).order_by(Deadline.id)))
        return {r.deadline.milestone: r for r in deadline_rows(s, c, deadlines, now, world.policy)}


def test_working_day_limits_count_working_days_across_the_spring_festival(db, world) -> None:
    number = _case(db, world)
    # 组织调查: 2 working days after Fri 2/13 → Sat 2/14 (调休), then Tue 2/24 (after the holiday)
    rows = _rows(db, world, number, START)
    organise = rows["investigation_organised"]
    assert organise.deadline.due_at == local(2026, 2, 24, 23, 59, 59)
    assert (organise.working_days, organise.state, organise.left) == (True, DeadlineState.OPEN, 2)
    assert _rows(db, world, number, local(2026, 2, 20, 10))["investigation_organised"].left == 1  # holiday week
    today = _rows(db, world, number, local(2026, 2, 24, 9))["investigation_organised"]
    assert (today.state, today.left) == (DeadlineState.DUE_TODAY, 0)
    late = _rows(db, world, number, local(2026, 2, 28, 9))["investigation_organised"]  # Sat 2/28 works too
    assert (late.state, late.left, late.overdue) == (DeadlineState.BREACHED, -4, 4)


def test_hour_limits_count_minutes(db, world) -> None:
    number = _case(db, world)
    first = _rows(db, world, number, START)["first_response"]
    assert (first.working_days, first.state, first.left) == (False, DeadlineState.OPEN, 60)
    late = _rows(db, world, number, local(2026, 2, 13, 12, 30))["first_response"]
    assert (late.state, late.left) == (DeadlineState.BREACHED, -90)  # overdue, though the sweep has not run


def test_met_rows_say_on_time_or_late(db, world) -> None:
    number = _case(db, world)
    rows = _rows(db, world, number, START)
    assert rows["registration"].state is DeadlineState.MET  # registered at receipt
    assert rows["registration"].left is None


def test_the_page_shows_each_deadline_with_its_time_left(client, db, world, clock) -> None:
    number = _case(db, world)
    give_accounts(db, world, "li.na")
    clock.now = local(2026, 2, 20, 10)
    sign_in(client, "li.na")
    html = client.get(f"/console/cases/{number}").text
    table = re.search(r'<table class="table deadlines">(.*?)</table>', html, re.S).group(1)
    rows = {re.sub(r"<[^>]+>", "", m.group(1)).strip(): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(0)))
            for m in re.finditer(r"<tr class=\"\w+\"><td>(.*?)</td>.*?</tr>", table, re.S)}
    assert "2026-02-24 23:59" in rows["组织调查"] and "剩余 1 个工作日" in rows["组织调查"]
    assert "计时中" in rows["组织调查"]
    assert "已超时" in rows["首次响应"] and "天" in rows["首次响应"]  # an hour limit, a week late: in days+hours
    assert "按时完成" in rows["登记建档"]
    assert "个工作日" in rows["整体处理时限"]


def _preset_row(html: str) -> str:
    row = re.search(r"<dt>时限方案</dt><dd>(.*?)</dd>", html, re.S)
    assert row is not None
    return row.group(1)


def test_the_page_names_the_time_limit_preset(client, db, world) -> None:
    with in_transaction(db, world) as w:
        named = make_complaint(w, received_at=START, sla_preset="nonferrous-quality")
        retired = make_complaint(w, received_at=START)
        retired.sla_preset = "retired-rules"  # a preset the policy has dropped since
        for c in (named, retired):
            c.lead_office_id = w.dept("quality_office").id
        numbers = named.number, retired.number
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    html = client.get(f"/console/cases/{numbers[0]}").text
    assert _preset_row(html) == "有色金属客户质量投诉"  # not the code nonferrous-quality
    assert _preset_row(client.get(f"/console/cases/{numbers[1]}").text) == "retired-rules"
