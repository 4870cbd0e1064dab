"""Every role × every way the API reads or acts on a case: nothing outside the caller's scope leaks.

The same matrix as the console's (tests/bot/console/test_case_scope.py), through tokens: a token acts as its
own member of staff with a role and department, so the console's scope rules apply unchanged. A case outside
the scope answers 404 exactly like a number that does not exist — for the case, its deadlines, timeline,
attachments, files and every operation; the list never shows it, not even through a keyword.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from handlers.workflow.scope import personal_data_access
from storage.models import Attachment, AuditEvent, Complaint, Staff
from tests.bot.api.conftest import TOKENS
from tests.bot.console.support import CUSTOMER_NAME, CUSTOMER_PHONE, FREE_TEXT_PHONE
from tests.handlers.test_workflow_support import World

ALL = "ABCDE"
# token → the cases it sees (A–E of tests/bot/console/support.py::scope_cases)
SEES = {
    "admin": ALL,
    "management": ALL,
    "office": "ACD",  # the quality ledger (A, D) and the new case no lead office has yet (C)
    "handler": "AE",  # handled by 生产部
    "other-handler": "D",  # handled by 物流部
    "viewer": "AE",  # read-only member of 生产部
    "recused": "",  # 销售部 handles B, but this is B's complained-about person: 回避
    "sales": "B",
}
assert set(SEES) == set(TOKENS)


def _version(db, number: str) -> int:
    with db.read_sessions() as s:
        return int(s.scalar(sa.select(Complaint.version).where(Complaint.number == number)))


@pytest.mark.parametrize("who", sorted(SEES))
def test_list_shows_exactly_the_scope(api, cases, who) -> None:
    response = api.get(who, "/complaints")
    assert response.status_code == 200, response.json
    shown = sorted(item["number"] for item in response.json["items"])
    assert shown == sorted(cases[letter] for letter in SEES[who])
    # a keyword that matches every case (the product/description) still finds only the scope
    found = api.get(who, "/complaints", query_string={"q": "铝板"}).json["items"]
    assert sorted(i["number"] for i in found) == shown
    # and a filter naming an invisible case's number finds nothing
    for letter in ALL:
        if letter not in SEES[who]:
            assert api.get(who, "/complaints", query_string={"number": cases[letter]}).json["items"] == []


@pytest.mark.parametrize("who", sorted(SEES))
def test_every_read_of_a_case_outside_the_scope_is_404(api, cases, db, who) -> None:
    with db.read_sessions() as s:
        attachments = {n: i for n, i in s.execute(sa.select(Complaint.number, Attachment.id)
                                                  .join(Attachment, Attachment.complaint_id == Complaint.id))}
    for letter, number in cases.items():
        paths = [f"/complaints/{number}", f"/complaints/{number}/deadlines", f"/complaints/{number}/timeline",
                 f"/complaints/{number}/attachments", f"/complaints/{number}/attachments/{attachments[number]}/file"]
        for path in paths:
            response = api.get(who, path)
            if letter in SEES[who]:
                assert response.status_code == 200, (who, path, response.json)
            else:
                assert response.status_code == 404, (who, path)
                assert response.json == {"code": "not_found", "message": "未找到该投诉"}
    # a number that does not exist answers exactly the same
    assert api.get(who, "/complaints/26999999").json == {"code": "not_found", "message": "未找到该投诉"}


@pytest.mark.parametrize("who", sorted(SEES))
def test_every_operation_on_a_case_outside_the_scope_is_404_and_changes_nothing(api, cases, db, who) -> None:
    from bot.api.operations import OPERATIONS

    for letter in ALL:
        if letter in SEES[who]:
            continue
        number = cases[letter]
        before = _version(db, number)
        for action in OPERATIONS:
            response = api.post(who, f"/complaints/{number}/{action.value}", {"version": before})
            assert response.status_code in (404, 422), (who, letter, action, response.json)
            if response.status_code == 422:  # the body's own shape is checked first; never a hint of the case
                assert response.json["code"] == "invalid"
            assert _version(db, number) == before


@pytest.mark.parametrize("who", sorted(who for who in SEES if SEES[who]))
def test_personal_data_is_masked_exactly_as_the_console_masks_it(api, cases, db, world: World, app, who) -> None:
    policy = app.extensions["tousu"].settings.policy
    for letter in SEES[who]:
        body = api.get(who, f"/complaints/{cases[letter]}").json
        with db.read_sessions() as s:
            staff = s.scalar(sa.select(Staff).where(Staff.wecom_userid == f"local:api:{who}"))
            c = s.scalar(sa.select(Complaint).where(Complaint.number == cases[letter]))
            access = personal_data_access(s, staff, c, policy.workflow)
        assert body["identity_shown"] is access.identity and body["full_phone_shown"] is access.full_phone
        assert body["complainant"] == access.who(CUSTOMER_NAME)
        assert body["phone"] == access.phone(CUSTOMER_PHONE)
        assert body["description"] == access.text(c.description)
        if not access.full_phone:
            assert FREE_TEXT_PHONE not in str(body) and CUSTOMER_PHONE not in str(body)
        if not access.identity:
            assert CUSTOMER_NAME not in str(body)
        listed = {i["number"]: i for i in api.get(who, "/complaints").json["items"]}[cases[letter]]
        assert listed["phone"] == body["phone"] and listed["complainant"] == (body["complainant"] or "—")


def test_masking_differs_by_role(api, cases) -> None:
    """Not vacuous: the lead office sees the full phone of its case, the handling department only masked."""
    office = api.get("office", f"/complaints/{cases['A']}").json
    handler = api.get("viewer", f"/complaints/{cases['A']}").json
    assert office["phone"] == CUSTOMER_PHONE
    assert handler["phone"] != CUSTOMER_PHONE and CUSTOMER_PHONE not in str(handler)


def test_reading_a_case_is_audited_like_the_console(api, cases, db) -> None:
    api.get("office", f"/complaints/{cases['A']}")
    with db.read_sessions() as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "case.viewed")).one()
        assert event.details["via"] == "api" and event.details["full_phone"] is True


def test_operations_offered_follow_role_and_state(api, cases) -> None:
    """The viewer may do nothing; the handler of A's department may start the investigation; admin dispatches."""
    assert api.get("viewer", f"/complaints/{cases['A']}").json["operations"] == []
    handler_ops = api.get("handler", f"/complaints/{cases['A']}").json["operations"]
    assert "start_investigation" in handler_ops and "triage" not in handler_ops
    assert "triage" in api.get("office", f"/complaints/{cases['C']}").json["operations"]


def test_a_viewer_acting_on_a_visible_case_gets_403_and_nothing_changes(api, cases, db) -> None:
    number = cases["A"]
    version = _version(db, number)
    response = api.post("viewer", f"/complaints/{number}/add_progress_note", {"version": version, "text": "看过"})
    assert response.status_code == 403 and response.json["code"] == "forbidden"
    assert _version(db, number) == version
