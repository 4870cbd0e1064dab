"""Every role × every case × every command: the WeCom commands leak nothing outside a person's scope.

The same five cases and the same table of who sees what as the console's scope tests
(tests/bot/console/test_case_scope.py), read here through WeCom: a case outside the scope answers exactly
like a number that does not exist, for reading and for acting, and nothing changes; inside it, the
complainant's identity and phone are shown exactly as the console's `PersonalDataAccess` says.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from handlers.render import render_message
from handlers.workflow.available import available_actions
from handlers.workflow.scope import HIDDEN, personal_data_access
from storage.models import Complaint, Department, Staff, TimelineEvent
from tests.bot.console.support import CUSTOMER_NAME, CUSTOMER_PHONE, FREE_TEXT_PHONE, scope_cases
from tests.bot.wecom.support import command

ALL = "ABCDE"
# WeCom userid → the cases it sees (the console table; 只读 is a viewer of 生产部 with a WeCom userid).
SCOPE: dict[str, str] = {
    "chen.gang": ALL,  # admin (and management)
    "wu.fang": ALL,  # management
    "li.na": "ACD",  # office: the quality ledger and the new case
    "zhang.wei": "BCE",  # office: the general ledger and the new case
    "zhao.lei": "AE",  # handler of 生产部 (head)
    "qian.hao": "AE",  # handler of 生产部
    "wang.qiang": "B",  # handler of 销售部
    "sun.li": "D",  # handler of 物流部
    "viewer.prod": "AE",  # viewer of 生产部
    "zheng.kai": "",  # the complained-about person of B (回避), a handler of 销售部
}
MISSING = "26029999"


@pytest.fixture
def cases(db, world) -> dict[str, str]:
    numbers = scope_cases(db, world)
    with db.transaction() as s:
        production = s.scalar(sa.select(Department).where(Department.code == "production"))
        s.add(Staff(wecom_userid="viewer.prod", name="只读员", department_id=production.id, roles=["viewer"]))
    return numbers


def _not_found(number: str) -> str:
    return render_message("staff/not_found", number=number)


def _notes(db) -> int:
    with db.read_sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)
                            .where(TimelineEvent.action == "add_progress_note")) or 0)


def _versions(db) -> dict[str, int]:
    with db.read_sessions() as s:
        return dict(s.execute(sa.select(Complaint.number, Complaint.version)).all())


@pytest.mark.parametrize("userid", sorted(SCOPE))
def test_show_sees_exactly_the_scope_masked_as_the_console_masks(client, wecom, db, cases, userid):
    letters = SCOPE[userid]
    for letter in ALL:
        number = cases[letter]
        answer = command(client, wecom, db, userid, f"查 {number}")
        if letter not in letters:
            assert answer.text == _not_found(number), (userid, letter)
            assert CUSTOMER_NAME not in answer.text and FREE_TEXT_PHONE not in answer.text
            continue
        assert answer.text.startswith(f"投诉 {number} · "), (userid, letter, answer.text)
        with db.read_sessions() as s:
            staff = s.scalar(sa.select(Staff).where(Staff.wecom_userid == userid))
            c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
            access = personal_data_access(s, staff, c, world_policy(client).workflow)
            offered = [a.label for a in available_actions(s, staff, c)]
        assert (CUSTOMER_NAME in answer.text) is access.identity, (userid, letter)
        assert (CUSTOMER_PHONE in answer.text) is access.full_phone, (userid, letter)
        assert (FREE_TEXT_PHONE in answer.text) is access.full_phone, (userid, letter)
        if not access.identity:
            assert f"投诉人：{HIDDEN}" in answer.text
        if offered:
            assert "您可办理：" + "、".join(offered) in answer.text
        else:
            assert "您目前没有可办理的操作" in answer.text
    assert command(client, wecom, db, userid, f"查 {MISSING}").text == _not_found(MISSING)


def world_policy(client):
    from bot.runtime import runtime

    with client.application.app_context():
        return runtime().settings.policy


@pytest.mark.parametrize("userid", sorted(SCOPE))
def test_acting_outside_the_scope_answers_not_found_and_changes_nothing(client, wecom, db, cases, userid):
    letters = SCOPE[userid]
    for letter in ALL:
        if letter in letters:
            continue
        number = cases[letter]
        before = _versions(db), _notes(db)
        for text in (f"接单 {number}", f"进度 {number} 已联系客户", f"反馈 {number} 已处理",
                     f"延期 {number} 3 等待复检"):
            answer = command(client, wecom, db, userid, text)
            assert answer.text == _not_found(number), (userid, letter, text, answer.text)
        assert (_versions(db), _notes(db)) == before, (userid, letter)


@pytest.mark.parametrize("userid", sorted(SCOPE))
def test_todo_lists_nothing_outside_the_scope(client, wecom, db, cases, userid):
    answer = command(client, wecom, db, userid, "待办")
    whole = "\n".join([answer.text, *answer.extra])
    for letter in ALL:
        if letter not in SCOPE[userid]:
            assert cases[letter] not in whole, (userid, letter)
    assert CUSTOMER_NAME not in whole and FREE_TEXT_PHONE not in whole


def test_todo_of_each_role_is_the_dashboards_list(client, wecom, db, cases):
    """赵磊 is responsible for A; 孙丽 for D; 吴芳 approves D; 李娜's ledger has nothing waiting for her."""
    assert cases["A"] in command(client, wecom, db, "zhao.lei", "待办").text
    assert cases["D"] in command(client, wecom, db, "sun.li", "待办").text
    assert cases["D"] in command(client, wecom, db, "wu.fang", "待办").text
    assert "目前没有需要您处理的投诉" in command(client, wecom, db, "viewer.prod", "待办").text


@pytest.mark.parametrize(("userid", "letter"), [("viewer.prod", "A"), ("zheng.kai", "B"), ("wang.qiang", "E")])
def test_a_progress_note_by_someone_who_may_not_is_refused(client, wecom, db, cases, userid, letter):
    """Inside the scope but not permitted (the viewer): the workflow's reason; outside: not found."""
    number = cases[letter]
    before = _notes(db)
    answer = command(client, wecom, db, userid, f"进度 {number} 已联系客户")
    if letter in SCOPE[userid]:
        assert "无权执行“记录进展”" in answer.text, answer.text
    else:
        assert answer.text == _not_found(number)
    assert _notes(db) == before


@pytest.mark.parametrize("userid", ["zhao.lei", "qian.hao"])
def test_a_handler_of_the_department_notes_progress(client, wecom, db, cases, userid):
    answer = command(client, wecom, db, userid, f"进度 {cases['A']} 已联系客户")
    assert "已记录" in answer.text
    assert _notes(db) == 1


def test_todo_tasks_mask_the_phone_per_reader(client, wecom, db, cases):
    """A 电话告知 task on A quoting the complainant's number: the lead office (李娜) calls back and reads it in
    full, the handling department (赵磊) reads it masked, and 销售部 (王强) does not see the task at all."""
    from handlers.privacy import mask_phone
    from handlers.workflow.tasks import open_task
    from storage.models import TaskKind
    from tests.bot.console.support import START

    with db.transaction() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == cases["A"]))
        open_task(s, c, TaskKind.CALL_CUSTOMER, "微信无法送达", now=START, dedupe_key="t-A",
                  details={"text": f"请致电 {FREE_TEXT_PHONE} 告知处理结果"})
    lina = command(client, wecom, db, "li.na", "待办").text
    assert "待办任务 1 项" in lina and f"请致电 {FREE_TEXT_PHONE}" in lina
    zhao = command(client, wecom, db, "zhao.lei", "待办").text
    assert "待办任务 1 项" in zhao and FREE_TEXT_PHONE not in zhao and mask_phone(FREE_TEXT_PHONE) in zhao
    assert "待办任务" not in command(client, wecom, db, "wang.qiang", "待办").text
