"""Staff tasks in the console (人工任务): the dashboard's 待办任务 and the case page show a task to exactly the
staff who may see its case, and closing one works for those who would do it (the task's department, the
responsible person, management, admin): 404 outside the scope, 403 for a viewer or another department."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from handlers import accounts
from handlers.workflow import notify
from handlers.workflow.scope import ConsoleRole
from storage.models import Complaint, StaffTask, TaskStatus, TimelineEvent
from tests.bot.console.support import (
    FREE_TEXT_PHONE,
    PASSWORD,
    START,
    csrf_token,
    in_transaction,
    scope_cases,
    sign_in,
)

ALL = "ABCDE"
# login → the cases it sees (tests/bot/console/test_case_scope.py has the same table).
SEES = {
    "root": ALL, "chen.gang": ALL, "wu.fang": ALL, "li.na": "ACD", "zhang.wei": "BCE", "wang.qiang": "B",
    "zhao.lei": "AE", "qian.hao": "AE", "sun.li": "D", "viewer.prod": "AE", "zheng.kai": "",
}
# Who may close the call task of case A (lead office 品质保障处, handled by 生产部, 赵磊 responsible).
CLOSE_A = {
    "root": 303, "chen.gang": 303, "wu.fang": 303,  # admin, management
    "li.na": 303,  # the task's department (A's lead office)
    "zhao.lei": 303,  # A's responsible person
    "qian.hao": 403, "viewer.prod": 403,  # see A (生产部 handles it) but do not own the call
    "zhang.wei": 404, "wang.qiang": 404, "sun.li": 404, "zheng.kai": 404,  # cannot see A
}
MESSAGE = f"您好，您的投诉已处理完毕。如有疑问请拨打 {FREE_TEXT_PHONE}。"
TASK_ID = re.compile(r'id="task-(\d+)"')


@pytest.fixture
def cases(db, world, app) -> dict[str, str]:
    numbers = scope_cases(db, world)
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)
        for userid in SEES:
            if userid not in ("root", "viewer.prod"):
                accounts.create_account(w.session, name=w[userid].name, userid=userid, password=PASSWORD, now=START)
        for letter, number in numbers.items():
            complaint = w.session.scalars(sa.select(Complaint).where(Complaint.number == number)).one()
            notify.call_instead(w.session, complaint, {"key": f"m-{letter}", "purpose": "result",
                                                       "text": f"{MESSAGE}（案件{letter}）"},
                                now=START, cause="undelivered", errcode=43004)
    return numbers


def task_of(db, number: str) -> StaffTask:
    with db.sessions() as s:
        return s.scalars(sa.select(StaffTask).join(Complaint, Complaint.id == StaffTask.complaint_id)
                         .where(Complaint.number == number)).one()


def signed_in(app, login: str):
    client = app.test_client()
    assert sign_in(client, login).status_code == 302
    return client


@pytest.mark.parametrize("login", list(SEES))
def test_the_dashboard_lists_the_tasks_of_the_cases_its_reader_sees(app, db, cases, login: str) -> None:
    page = signed_in(app, login).get("/console/")

    assert page.status_code == 200
    shown = {int(i) for i in TASK_ID.findall(page.text)}
    assert shown == {task_of(db, cases[letter]).id for letter in SEES[login]}
    for letter in ALL:
        assert (f"（案件{letter}）" in page.text) is (letter in SEES[login])
    if SEES[login]:
        assert "待办任务" in page.text and "电话告知客户" in page.text
        assert "客户未关注公众号（43004）" in page.text
    else:
        assert 'id="staff-tasks"' not in page.text


def test_the_message_shows_the_phone_only_to_who_may_see_it_in_full(app, db, cases) -> None:
    office = signed_in(app, "li.na").get("/console/").text  # lead office: calls the customer
    handler = signed_in(app, "qian.hao").get("/console/").text  # 生产部, not responsible for A

    assert FREE_TEXT_PHONE in office
    assert FREE_TEXT_PHONE not in handler and "（案件A）" in handler


@pytest.mark.parametrize("login", list(SEES))
def test_the_case_page_shows_its_open_tasks(app, db, cases, login: str) -> None:
    client = signed_in(app, login)
    for letter in ALL:
        page = client.get(f"/console/cases/{cases[letter]}")
        if letter not in SEES[login]:
            assert page.status_code == 404
            continue
        assert page.status_code == 200
        assert 'id="staff-tasks"' in page.text and f"（案件{letter}）" in page.text
        assert [int(i) for i in TASK_ID.findall(page.text)] == [task_of(db, cases[letter]).id]


@pytest.mark.parametrize("login", list(CLOSE_A))
def test_closing_a_task_per_role(app, db, cases, login: str) -> None:
    client = signed_in(app, login)
    token = csrf_token(client.get("/console/").text)
    task = task_of(db, cases["A"])

    response = client.post(f"/console/tasks/{task.id}/complete",
                           data={"csrf_token": token, "outcome": "已电话告知客户，客户认可", "next": "/console/"})

    assert response.status_code == CLOSE_A[login]
    after = task_of(db, cases["A"])
    if CLOSE_A[login] == 303:
        assert response.headers["Location"].endswith("/console/")
        assert (after.status, after.outcome) == (TaskStatus.DONE, "已电话告知客户，客户认可")
        assert after.done_at == START and after.done_by_id is not None
        with db.sessions() as s:
            done = s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == task.complaint_id,
                                                            TimelineEvent.action == "task_done")).one()
            assert done.details["outcome"] == "已电话告知客户，客户认可"
        assert f'id="task-{task.id}"' not in client.get("/console/").text
    else:
        assert after.status is TaskStatus.OPEN and after.outcome is None


def test_the_close_form_is_offered_only_to_who_may_close(app, db, cases) -> None:
    task = task_of(db, cases["A"])
    action = f'action="/console/tasks/{task.id}/complete"'
    assert action in signed_in(app, "li.na").get(f"/console/cases/{cases['A']}").text
    assert action not in signed_in(app, "viewer.prod").get(f"/console/cases/{cases['A']}").text
    assert action not in signed_in(app, "qian.hao").get("/console/").text


def test_closing_from_the_case_page_returns_there_and_refusals_are_explained(app, db, cases) -> None:
    client = signed_in(app, "li.na")
    case_url = f"/console/cases/{cases['A']}"
    token = csrf_token(client.get(case_url).text)
    task = task_of(db, cases["A"])

    empty = client.post(f"/console/tasks/{task.id}/complete", data={"csrf_token": token, "outcome": "  ",
                                                                     "next": case_url}, follow_redirects=True)
    assert "请填写处理情况" in empty.text and task_of(db, cases["A"]).status is TaskStatus.OPEN

    done = client.post(f"/console/tasks/{task.id}/complete",
                       data={"csrf_token": token, "outcome": "客户已知悉", "next": case_url})
    assert done.status_code == 303 and done.headers["Location"].endswith(case_url)
    page = client.get(case_url).text
    assert "任务已完成" in page and 'id="staff-tasks"' not in page

    again = client.post(f"/console/tasks/{task.id}/complete", data={"csrf_token": token, "outcome": "再次",
                                                                     "next": "https://evil.example/"},
                        follow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"].endswith("/console/")  # never off-site
    assert "该任务已处理" in client.get("/console/").text
    assert task_of(db, cases["A"]).outcome == "客户已知悉"


def test_closing_needs_the_csrf_token_and_a_real_task(app, db, cases) -> None:
    client = signed_in(app, "root")
    task = task_of(db, cases["A"])
    assert client.post(f"/console/tasks/{task.id}/complete", data={"outcome": "x"}).status_code == 400
    token = csrf_token(client.get("/console/").text)
    assert client.post("/console/tasks/999999/complete", data={"csrf_token": token, "outcome": "x"}).status_code == 404
    assert task_of(db, cases["A"]).status is TaskStatus.OPEN


def test_signed_out_nobody_closes_anything(client, db, cases) -> None:
    task = task_of(db, cases["A"])
    response = client.post(f"/console/tasks/{task.id}/complete", data={"outcome": "x"})
    assert response.status_code in (302, 400)
    assert task_of(db, cases["A"]).status is TaskStatus.OPEN
