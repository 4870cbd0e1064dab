"""Who sees which case: every console role × (the list query, the dashboard, the case page), recusal, and
how much of the complainant each one sees. Nothing outside a scope may show, so every test also checks
the cases that must NOT appear."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sqlalchemy as sa

from handlers import accounts
from handlers.workflow.scope import ConsoleRole, console_role, find_visible, personal_data_access, visible_complaints
from handlers.workflow.settings import parse_settings
from storage.models import AuditEvent, Staff
from tests.bot.console.support import (
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    FREE_TEXT_PHONE,
    PASSWORD,
    START,
    in_transaction,
    scope_cases,
    sign_in,
)

ALL = "ABCDE"
# login → (console role, the cases it sees). Logins are the WeCom userids, plus two console-only people.
EXPECTED: dict[str, tuple[ConsoleRole, str]] = {
    "root": (ConsoleRole.ADMIN, ALL),  # console-only admin, no department
    "chen.gang": (ConsoleRole.ADMIN, ALL),  # admin + management
    "wu.fang": (ConsoleRole.MANAGEMENT, ALL),
    "li.na": (ConsoleRole.OFFICE, "ACD"),  # quality ledger + the untriaged case
    "zhou.min": (ConsoleRole.OFFICE, "ACD"),
    "zhang.wei": (ConsoleRole.OFFICE, "BCE"),  # general ledger + the untriaged case
    "wang.qiang": (ConsoleRole.HANDLER, "B"),
    "zheng.kai": (ConsoleRole.HANDLER, ""),  # 销售部, but the complained-about person of B: 回避
    "zhao.lei": (ConsoleRole.HANDLER, "AE"),  # 生产部 handles A and E
    "qian.hao": (ConsoleRole.HANDLER, "AE"),
    "sun.li": (ConsoleRole.HANDLER, "D"),
    "viewer.prod": (ConsoleRole.VIEWER, "AE"),  # read-only, 生产部
}


def _make_console_only_people(db, world) -> None:
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)


def _staff(session, login: str) -> Staff:
    account = accounts.account_by_login(session, login)
    if account is not None:
        return account.staff
    return session.scalar(sa.select(Staff).where(Staff.wecom_userid == login))


@pytest.fixture
def cases(db, world) -> dict[str, str]:
    numbers = scope_cases(db, world)
    _make_console_only_people(db, world)
    return numbers


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_list_query_returns_exactly_the_scope(db, cases, login: str) -> None:
    role, letters = EXPECTED[login]
    with db.read_sessions() as s:
        staff = _staff(s, login)
        assert console_role(s, staff) is role
        seen = {c.number for c in s.scalars(visible_complaints(s, staff))}
        assert seen == {cases[letter] for letter in letters}
        for letter in ALL:  # the per-case lookup agrees with the list, both ways
            found = find_visible(s, staff, number=cases[letter])
            assert (found is not None) == (letter in letters), (login, letter)


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_case_page_and_dashboard_show_only_the_scope(db, cases, world, client, login: str) -> None:
    _, letters = EXPECTED[login]
    if login not in ("root", "viewer.prod"):
        with in_transaction(db, world) as w:
            accounts.create_account(w.session, name=w[login].name, userid=login, password=PASSWORD, now=START)
    assert sign_in(client, login).status_code == 302
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200
    for letter in ALL:
        page = client.get(f"/console/cases/{cases[letter]}")
        if letter in letters:
            assert page.status_code == 200, (login, letter)
            assert f"案件{letter}" in page.text
        else:
            assert page.status_code == 404, (login, letter)  # 404, never 403: the scope cannot be probed
            assert f"案件{letter}" not in page.text and cases[letter] not in page.text
            assert cases[letter] not in dashboard.text, (login, letter)
    assert client.get("/console/cases/26999999").status_code == 404


def test_an_inactive_person_sees_nothing(db, cases, world) -> None:
    with in_transaction(db, world) as w:
        w["li.na"].active = False
    with db.read_sessions() as s:
        staff = _staff(s, "li.na")
        assert list(s.scalars(visible_complaints(s, staff))) == []


def test_an_approver_sees_the_plans_waiting_for_approval(db, cases, world) -> None:
    with in_transaction(db, world) as w:
        w["sun.li"].roles = ["approver"]
        w["sun.li"].department_id = w.dept("sales").id
    with db.read_sessions() as s:
        assert {c.number for c in s.scalars(visible_complaints(s, _staff(s, "sun.li")))} == {cases["D"], cases["B"]}


def test_recusal_wins_over_every_other_rule(db, cases, world) -> None:
    """The complained-about person is hidden from the case even as manager, admin or responsible person."""
    with in_transaction(db, world) as w:
        w["zheng.kai"].roles = ["management", "admin", "approver"]
        c = find_visible(w.session, w["chen.gang"], number=cases["B"])
        assert c is not None
        c.responsible_staff_id = w["zheng.kai"].id
    with db.read_sessions() as s:
        staff = _staff(s, "zheng.kai")
        seen = {c.number for c in s.scalars(visible_complaints(s, staff))}
        assert cases["B"] not in seen and seen == {cases[x] for x in "ACDE"}


# -- personal data on the case page --------------------------------------------------------------

# login → (identity shown, full phone) on case A, with the default policy (handling department does not
# see who complained) and with handling_department_sees_complainant = true.
ACCESS_ON_A = {
    "li.na": ((True, True), (True, True)),  # the lead office
    "chen.gang": ((True, False), (True, False)),  # management: identity, phone masked
    "root": ((False, False), (False, False)),  # a system admin runs the system, not the case
    "zhao.lei": ((False, False), (True, True)),  # responsible person (handling department)
    "qian.hao": ((False, False), (True, False)),  # handling department, not responsible
    "viewer.prod": ((False, False), (True, False)),  # read-only: identity only when the policy says
}


@pytest.mark.parametrize("sees", [False, True], ids=["policy-hides", "policy-shows"])
@pytest.mark.parametrize("login", sorted(ACCESS_ON_A))
def test_personal_data_per_reader(db, cases, world, company_config, login: str, sees: bool) -> None:
    config = copy.deepcopy(company_config)
    config.setdefault("workflow", {})["handling_department_sees_complainant"] = sees
    settings = parse_settings(config)
    with db.read_sessions() as s:
        staff = _staff(s, login)
        complaint = find_visible(s, staff, number=cases["A"])
        assert complaint is not None
        access = personal_data_access(s, staff, complaint, settings)
        assert (access.identity, access.full_phone) == ACCESS_ON_A[login][int(sees)]


def _page_as(client, db, world, cases, login: str) -> Any:
    if login not in ("root", "viewer.prod"):
        with in_transaction(db, world) as w:
            accounts.create_account(w.session, name=w[login].name, userid=login, password=PASSWORD, now=START)
    assert sign_in(client, login).status_code == 302
    page = client.get(f"/console/cases/{cases['A']}")
    assert page.status_code == 200
    return page


@pytest.mark.parametrize("login", sorted(ACCESS_ON_A))
def test_case_page_masks_per_reader(db, cases, world, client, login: str) -> None:
    identity, full_phone = ACCESS_ON_A[login][0]
    text = _page_as(client, db, world, cases, login).text
    assert (CUSTOMER_NAME in text) == identity
    assert ("洛阳市涧西区某路1号" in text) == identity
    assert (CUSTOMER_PHONE in text) == full_phone
    assert (FREE_TEXT_PHONE in text) == full_phone  # a phone inside the description too
    assert ("139****9000" in text) == (not full_phone)
    if identity and not full_phone:
        assert "138****8000" in text
    if not identity:
        assert "（保密）" in text and "138****8000" not in text


def test_case_views_are_audited_with_what_was_shown(db, cases, world, client) -> None:
    _page_as(client, db, world, cases, "li.na")
    with db.read_sessions() as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "case.viewed")).one()
        assert event.subject == cases["A"] and event.personal_data is True
        assert event.details == {"identity": True, "full_phone": True}
        assert event.actor_staff_id == _staff(s, "li.na").id and event.ip == "127.0.0.1"


def test_a_viewer_may_look_but_never_act(db, cases, world) -> None:
    from handlers.workflow import permissions
    from handlers.workflow.errors import PermissionDenied
    from handlers.workflow.transitions import Action

    with db.read_sessions() as s:
        viewer = _staff(s, "viewer.prod")
        complaint = find_visible(s, viewer, number=cases["A"])
        assert complaint is not None
        for action in Action:
            assert not permissions.can(s, viewer, action, complaint), action
        with pytest.raises(PermissionDenied, match="只读账号"):
            permissions.check(s, viewer, Action.ADD_PROGRESS_NOTE, complaint)
