"""Two staff acting on one case at once: the second is told the case changed (409), never a lost update.

The form carries the complaint's version; the view locks the complaint row first (the lock order) and
compares. Sequentially (any database) a stale form is refused; concurrently (two real requests released at
once by a barrier, each in its own transaction) exactly one wins on PostgreSQL's row lock and on SQLite's
serialised writers alike. Below the console, the version column itself refuses an UPDATE made from a stale
read (SQLAlchemy's version_id_col), so even a writer that forgot the lock cannot overwrite silently.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from storage.models import Complaint, TimelineEvent
from tests.bot.console.case_support import alert, case_state, hidden_fields, post_action, prefixed
from tests.bot.console.support import START, give_accounts, in_transaction, sign_in
from tests.conftest import run_concurrently
from tests.handlers.test_workflow_support import make_complaint

STALE = "该投诉已被他人更新，请刷新后重试"


@pytest.fixture
def number(db, world) -> str:
    with in_transaction(db, world) as w:
        c = make_complaint(w, received_at=START)
        c.lead_office_id = w.dept("quality_office").id
        return c.number


def _notes(db, number: str) -> list[str]:
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        events = s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id,
                                                          TimelineEvent.action == "add_progress_note"))
        return [e.details["text"] for e in events]


def test_a_form_from_before_someone_elses_change_is_refused_with_409(app, db, world, number) -> None:
    give_accounts(db, world, "li.na", "zhou.min")
    li, zhou = app.test_client(), app.test_client()
    sign_in(li, "li.na")
    sign_in(zhou, "zhou.min")
    li_page = li.get(f"/console/cases/{number}").text
    zhou_page = zhou.get(f"/console/cases/{number}").text  # both opened the case at version v
    assert post_action(li, number, "add_progress_note", page=li_page, text="李娜：已联系客户").status_code == 302
    _, after_first = case_state(db, number)
    response = post_action(zhou, number, "add_progress_note", page=zhou_page, text="周敏：已联系客户")
    assert response.status_code == 409
    assert STALE in alert(response.text)
    assert "周敏：已联系客户" in response.text  # what they typed is still on the page
    assert _notes(db, number) == ["李娜：已联系客户"]
    assert case_state(db, number)[1] == after_first
    # after reloading, the same person can act
    assert post_action(zhou, number, "add_progress_note", text="周敏：已联系客户").status_code == 302
    assert _notes(db, number) == ["李娜：已联系客户", "周敏：已联系客户"]


def test_a_stale_form_for_a_state_change_cannot_move_the_case_twice(app, db, world, number) -> None:
    """Two people triaging the same new case: the second triage would overwrite the first's decision."""
    give_accounts(db, world, "li.na", "zhang.wei")
    first, second = app.test_client(), app.test_client()
    sign_in(first, "li.na")
    sign_in(second, "li.na")
    page_1 = first.get(f"/console/cases/{number}").text
    page_2 = second.get(f"/console/cases/{number}").text
    office = str(world.dept("quality_office").id)
    assert post_action(first, number, "triage", page=page_1, valid="1", category="product_quality",
                       severity="major", lead_office=office).status_code == 302
    response = post_action(second, number, "triage", page=page_2, valid="0", category="product_quality",
                           severity="general", lead_office=office, invalid_reason="重复投诉")
    assert response.status_code == 409 and STALE in alert(response.text)
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert (c.status.value, c.severity.value, c.is_valid) == ("triaged", "major", True)


def test_a_form_without_a_version_or_with_a_forged_one_is_refused(app, db, world, number) -> None:
    give_accounts(db, world, "li.na")
    client = app.test_client()
    sign_in(client, "li.na")
    page = client.get(f"/console/cases/{number}").text
    data = hidden_fields(page, "add_progress_note")
    del data["add_progress_note-version"]
    data.update(prefixed("add_progress_note", {"text": "无版本"}))
    assert client.post(f"/console/cases/{number}/actions/add_progress_note", data=data).status_code == 409
    _, version = case_state(db, number)
    assert post_action(client, number, "add_progress_note", page=page, version=version + 5,
                       text="未来的版本").status_code == 409
    assert _notes(db, number) == []


def test_two_concurrent_requests_one_wins_the_other_gets_409(app, db, world, number) -> None:
    """Two real requests, each its own transaction, released at once: on PostgreSQL the second waits for
    the complaint's row lock, then sees the new version; on SQLite writers queue (BEGIN IMMEDIATE)."""
    give_accounts(db, world, "li.na", "zhou.min")
    clients = {"li.na": app.test_client(), "zhou.min": app.test_client()}
    pages = {}
    for login, client in clients.items():
        sign_in(client, login)
        pages[login] = client.get(f"/console/cases/{number}").text

    def act(login: str) -> int:
        return post_action(clients[login], number, "add_progress_note", page=pages[login],
                           text=f"{login} 的进展").status_code

    for _ in range(3):  # a few rounds, so an interleaving that loses an update would show
        results, errors = run_concurrently(act, [("li.na",), ("zhou.min",)])
        assert errors == []
        assert sorted(results) == [302, 409]
        for login, client in clients.items():
            pages[login] = client.get(f"/console/cases/{number}").text
    notes = _notes(db, number)
    assert len(notes) == 3  # one per round, never both, never none


def test_the_version_column_refuses_an_update_from_a_stale_read(db, world, number) -> None:
    """Below the console: two sessions read version v; the first commits; the second's UPDATE matches no
    row (WHERE version = v) and SQLAlchemy raises instead of overwriting."""
    with db.read_sessions() as b:  # a deferred transaction on SQLite: b's read holds no write lock
        cb = b.scalar(sa.select(Complaint).where(Complaint.number == number))
        b.commit()  # ends b's read; the object keeps what it read (expire_on_commit=False), as a page does
        with db.transaction() as a:
            ca = a.scalar(sa.select(Complaint).where(Complaint.number == number))
            assert ca.version == cb.version
            assert cb.severity_confirmed is False
            ca.urgent = True
        cb.severity_confirmed = True
        with pytest.raises(StaleDataError):
            b.commit()
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert c.urgent is True and c.severity_confirmed is False
