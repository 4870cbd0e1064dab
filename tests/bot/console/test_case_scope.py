"""Every console role × (the actions a case page shows, posting each action, the evidence files): nothing
outside a person's scope leaks, and nothing they may not do is done.

The answers are consistent and documented in bot/console/cases.py:

* 404 for a case outside the scope (the same page as a number that does not exist), for posts and files too;
* 403 for an action the person may not take on this case in any state (viewer, wrong department, not an
  approver…), with the workflow's Chinese reason on the page;
* 422 for an action they may take, but not in the case's present state (or without its earlier step).

The complained-about person (回避) sees nothing: every request about that case answers 404.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.console.forms import ACTIONS, form_action
from handlers import accounts
from handlers.workflow import permissions
from handlers.workflow.scope import ConsoleRole
from handlers.workflow.transitions import TRANSITIONS, Action
from storage.models import Attachment, AttachmentKind, AuditEvent, Complaint, Staff
from tests.bot.console.case_support import actions_on, alert, case_state, csrf_of, post_blind
from tests.bot.console.support import (
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    PASSWORD,
    START,
    in_transaction,
    scope_cases,
    sign_in,
)

ALL = "ABCDE"
FORMS = [action for action in ACTIONS if form_action(action) is action]  # the URLs a page can post to
# login → (console role, the cases it sees): the same table as test_scope.py's, for the pages of this area.
SCOPE: dict[str, tuple[ConsoleRole, str]] = {
    "root": (ConsoleRole.ADMIN, ALL),
    "chen.gang": (ConsoleRole.ADMIN, ALL),
    "wu.fang": (ConsoleRole.MANAGEMENT, ALL),
    "li.na": (ConsoleRole.OFFICE, "ACD"),
    "zhang.wei": (ConsoleRole.OFFICE, "BCE"),
    "wang.qiang": (ConsoleRole.HANDLER, "B"),
    "zhao.lei": (ConsoleRole.HANDLER, "AE"),
    "qian.hao": (ConsoleRole.HANDLER, "AE"),
    "sun.li": (ConsoleRole.HANDLER, "D"),
    "viewer.prod": (ConsoleRole.VIEWER, "AE"),
    "zheng.kai": (ConsoleRole.HANDLER, ""),  # the complained-about person of B: 回避
}
# What some of them may do, written out (the rest follow from the same rules; see the generic tests).
EXPECTED_ACTIONS: dict[tuple[str, str], list[str]] = {
    # C is new (registered, no lead office yet): any lead office triages it
    ("li.na", "C"): ["triage", "change_severity", "record_complained_staff", "record_contact", "add_progress_note"],
    ("zhang.wei", "C"): ["triage", "change_severity", "record_complained_staff", "record_contact",
                         "add_progress_note"],
    # A is assigned to 生产部, 赵磊 responsible: he starts the investigation; he cannot triage or re-route
    ("zhao.lei", "A"): ["reassign", "record_complained_staff", "record_contact", "start_investigation",
                        "add_progress_note", "request_extension"],
    ("qian.hao", "A"): ["record_contact", "start_investigation", "add_progress_note", "request_extension"],
    # D waits for plan approval: management approves or rejects; the handler may only start (once approved)
    ("wu.fang", "D"): ["reassign", "change_severity", "record_complained_staff", "record_contact",
                       "approve_plan", "reject_plan", "start_implementation", "add_progress_note",
                       "request_extension"],
    ("sun.li", "D"): ["reassign", "record_complained_staff", "record_contact", "start_implementation",
                      "add_progress_note", "request_extension"],
    ("root", "E"): ["reassign", "change_severity", "record_complained_staff"],  # admin: dispatch, not casework
    ("viewer.prod", "A"): [],
    ("viewer.prod", "E"): [],
}


@pytest.fixture
def cases(db, world, app, tmp_path) -> dict[str, str]:
    numbers = scope_cases(db, world)
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)
        for userid in ("chen.gang", "wu.fang", "li.na", "zhang.wei", "wang.qiang", "zhao.lei", "qian.hao",
                       "sun.li", "zheng.kai"):
            accounts.create_account(w.session, name=w[userid].name, userid=userid, password=PASSWORD, now=START)
        for letter, number in numbers.items():
            c = w.session.scalar(sa.select(Complaint).where(Complaint.number == number))
            (tmp_path / f"{letter}.jpg").write_bytes(b"\xff\xd8\xff\xe0 photo of case " + letter.encode())
            w.session.add(Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id=f"MEDIA_{letter}",
                                     url="http://mmbiz.qpic.cn/remote.jpg", meta={"path": f"{letter}.jpg"}))
    app.config["TOUSU_ATTACHMENT_DIR"] = str(tmp_path)
    return numbers


def _attachment_ids(db) -> dict[str, int]:
    with db.read_sessions() as s:
        rows = s.execute(sa.select(Complaint.number, Attachment.id).join(Attachment,
                                                                         Attachment.complaint_id == Complaint.id))
        return {number: attachment_id for number, attachment_id in rows}


def _states(db, numbers: dict[str, str]) -> dict[str, tuple[str, int]]:
    return {letter: case_state(db, number) for letter, number in numbers.items()}


@pytest.mark.parametrize("login", sorted(SCOPE))
def test_case_pages_and_their_actions_per_role(client, db, cases, login: str) -> None:
    _, letters = SCOPE[login]
    sign_in(client, login)
    for letter in ALL:
        response = client.get(f"/console/cases/{cases[letter]}")
        if letter not in letters:
            assert response.status_code == 404, (login, letter)
            assert cases[letter] not in response.text and CUSTOMER_NAME not in response.text
            continue
        assert response.status_code == 200, (login, letter)
        shown = actions_on(response.text)
        with db.read_sessions() as s:
            c = s.scalar(sa.select(Complaint).where(Complaint.number == cases[letter]))
            staff = s.scalar(sa.select(Staff).where(Staff.id == accounts.account_by_login(s, login).staff_id))
            for code in shown:  # each form shown is allowed in this state AND permitted to this person
                action = Action(code)
                assert (c.status, action) in TRANSITIONS, (login, letter, code)
                assert permissions.can(s, staff, action, c), (login, letter, code)
        if (login, letter) in EXPECTED_ACTIONS:
            assert shown == EXPECTED_ACTIONS[(login, letter)], (login, letter)
        if SCOPE[login][0] is ConsoleRole.VIEWER:
            assert shown == [] and "<form method=\"post\" action=\"/console/cases/" not in response.text


def test_the_written_out_expectations_cover_every_console_role(db, cases) -> None:
    roles = {SCOPE[login][0] for login, _ in EXPECTED_ACTIONS}
    assert roles == {ConsoleRole.ADMIN, ConsoleRole.MANAGEMENT, ConsoleRole.OFFICE, ConsoleRole.HANDLER,
                     ConsoleRole.VIEWER}


@pytest.mark.parametrize("login", sorted(SCOPE))
def test_posting_any_action_outside_the_scope_is_404_and_changes_nothing(client, db, cases, login: str) -> None:
    _, letters = SCOPE[login]
    sign_in(client, login)
    csrf = csrf_of(client)
    before = _states(db, cases)
    for letter in ALL:
        if letter in letters:
            continue
        _, version = before[letter]
        for action in FORMS:
            response = post_blind(client, cases[letter], action.value, csrf, version, reason="x", text="x",
                                  note="x", valid="1", category="product_quality")
            assert response.status_code == 404, (login, letter, action)
            assert CUSTOMER_PHONE not in response.text and CUSTOMER_NAME not in response.text
    assert _states(db, cases) == before


@pytest.mark.parametrize("login", sorted(SCOPE))
def test_posting_an_action_not_offered_is_refused_403_or_422_and_changes_nothing(client, db, cases,
                                                                                 login: str) -> None:
    _, letters = SCOPE[login]
    sign_in(client, login)
    csrf = csrf_of(client)
    for letter in letters:
        number = cases[letter]
        shown = set(actions_on(client.get(f"/console/cases/{number}").text))
        before = case_state(db, number)
        for action in FORMS:
            if action.value in shown:
                continue
            response = post_blind(client, number, action.value, csrf, before[1], reason="越权尝试", text="越权尝试",
                                  note="越权尝试", valid="1", category="product_quality", severity="major")
            with db.read_sessions() as s:
                c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
                staff = s.scalar(sa.select(Staff).where(Staff.id == accounts.account_by_login(s, login).staff_id))
                permitted = permissions.can(s, staff, action, c)
            expected = 422 if permitted else 403
            assert response.status_code == expected, (login, letter, action, alert(response.text))
            message = alert(response.text)
            assert ("无权执行" in message) if expected == 403 else ("不能执行" in message), message
        assert case_state(db, number) == before, (login, letter)


@pytest.mark.parametrize("login", ["li.na", "zhao.lei", "wu.fang", "sun.li"])
def test_every_offered_form_posted_empty_answers_in_chinese_never_500(client, db, cases, login: str) -> None:
    """Each offered form, submitted with nothing filled in: refused with the workflow's Chinese reason (or,
    for a form that needs nothing, done). Never a server error."""
    _, letters = SCOPE[login]
    sign_in(client, login)
    csrf = csrf_of(client)
    statuses = []
    for letter in letters:
        number = cases[letter]
        for action in actions_on(client.get(f"/console/cases/{number}").text):
            _, version = case_state(db, number)
            response = post_blind(client, number, action, csrf, version)
            statuses.append(response.status_code)
            assert response.status_code in (302, 403, 422), (login, letter, action)
            if response.status_code == 422:
                assert "缺少必填项" in alert(response.text) or "不能执行" in alert(response.text) \
                    or "无效" in alert(response.text) or "检查" in alert(response.text), alert(response.text)
    assert 422 in statuses


@pytest.mark.parametrize("login", sorted(SCOPE))
def test_evidence_files_only_within_the_scope(client, db, cases, login: str) -> None:
    _, letters = SCOPE[login]
    sign_in(client, login)
    ids = _attachment_ids(db)
    for letter in ALL:
        number = cases[letter]
        response = client.get(f"/console/cases/{number}/attachments/{ids[number]}")
        if letter in letters:
            assert response.status_code == 200, (login, letter)
            assert response.data == b"\xff\xd8\xff\xe0 photo of case " + letter.encode()
            assert response.mimetype == "image/jpeg"
            assert response.headers["Cache-Control"].startswith("no-store") or "no-cache" in \
                response.headers["Cache-Control"]
        else:
            assert response.status_code == 404, (login, letter)
            assert b"photo of case" not in response.data
        # another case's attachment under this case's number: never served
        other = cases["A" if letter != "A" else "B"]
        assert client.get(f"/console/cases/{number}/attachments/{ids[other]}").status_code == 404
    with db.read_sessions() as s:
        audited = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment.viewed")).all()
        assert sorted(e.subject for e in audited) == sorted(cases[letter] for letter in letters)
        assert all(e.personal_data for e in audited)
