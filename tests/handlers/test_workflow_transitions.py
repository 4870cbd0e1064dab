"""The transition table: every (state, action) pair is either an arrow of DOMAIN.md's lifecycle, a step
recorded in place, or refused with an error naming the state and the action."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from handlers.workflow import operations as ops
from handlers.workflow.errors import IllegalTransition
from handlers.workflow.transitions import (
    OPEN_STATES,
    STATUS_LABELS,
    TERMINAL,
    TRANSITIONS,
    Action,
    allowed_actions,
    target_state,
)
from storage.models import ComplaintStatus, TimelineEvent
from tests.conftest import count_rows
from tests.handlers.test_workflow_support import World, assigned, investigated, make_complaint, make_world

S = ComplaintStatus
A = Action

# The arrows of DOMAIN.md's lifecycle, and the action that walks each.
ARROWS = {
    (S.REGISTERED, A.TRIAGE, S.TRIAGED),
    (S.TRIAGED, A.MARK_INVALID, S.INVALID),
    (S.TRIAGED, A.ASSIGN, S.ASSIGNED),
    (S.ASSIGNED, A.START_INVESTIGATION, S.INVESTIGATING),
    (S.INVESTIGATING, A.SUBMIT_PLAN_FOR_APPROVAL, S.PLAN_PENDING),
    (S.PLAN_PENDING, A.REJECT_PLAN, S.INVESTIGATING),
    (S.INVESTIGATING, A.START_IMPLEMENTATION, S.IMPLEMENTING),
    (S.PLAN_PENDING, A.START_IMPLEMENTATION, S.IMPLEMENTING),
    (S.IMPLEMENTING, A.FEED_BACK_RESULT, S.RESOLVED),
    (S.RESOLVED, A.START_SURVEY, S.SURVEYING),
    (S.RESOLVED, A.RECORD_FOLLOW_UP, S.SURVEYING),
    (S.SURVEYING, A.CLOSE, S.CLOSED),
    (S.RESOLVED, A.REOPEN, S.REOPENED),
    (S.SURVEYING, A.REOPEN, S.REOPENED),
    (S.REOPENED, A.START_INVESTIGATION, S.INVESTIGATING),
}

ALL_PAIRS = list(itertools.product(list(S), list(A)))


def test_the_state_changing_entries_are_exactly_the_lifecycle_arrows() -> None:
    moves = {(state, action, target) for (state, action), target in TRANSITIONS.items() if state is not target}
    assert moves == ARROWS


def test_terminal_states_allow_nothing_and_every_state_is_reachable() -> None:
    for state in TERMINAL:
        assert allowed_actions(state) == []
    reached, frontier = {S.REGISTERED}, [S.REGISTERED]
    while frontier:
        state = frontier.pop()
        for action in allowed_actions(state):
            target = target_state(state, action)
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(S)


@pytest.mark.parametrize(("state", "action"), ALL_PAIRS, ids=[f"{s.value}-{a.value}" for s, a in ALL_PAIRS])
def test_every_pair_is_allowed_or_refused_naming_state_and_action(state: S, action: A) -> None:
    if (state, action) in TRANSITIONS:
        assert target_state(state, action) is TRANSITIONS[(state, action)]
        return
    with pytest.raises(IllegalTransition) as err:
        target_state(state, action)
    assert (err.value.state, err.value.action) == (state.value, action.value)
    assert STATUS_LABELS[state] in str(err.value) and action.label in str(err.value)


def test_notes_contact_and_severity_changes_are_allowed_in_every_open_state() -> None:
    for state in OPEN_STATES:
        for action in (A.ADD_PROGRESS_NOTE, A.RECORD_CONTACT, A.CHANGE_SEVERITY, A.ANSWER_EXTENSION):
            assert target_state(state, action) is state


# -- the same table, through the operations on a real database ------------------------------------


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def test_an_operation_out_of_order_is_refused_and_writes_nothing(world: World, session, db) -> None:
    c = make_complaint(world)
    session.commit()
    before = count_rows(db, TimelineEvent)
    with pytest.raises(IllegalTransition) as err:
        ops.start_investigation(session, world["zhao.lei"], c, ctx=world.ctx())
    assert (err.value.state, err.value.action) == ("registered", "start_investigation")
    assert "已登记" in str(err.value) and "开始调查" in str(err.value)
    session.rollback()
    assert count_rows(db, TimelineEvent) == before


def test_refused_operations_along_the_way(world: World, session) -> None:
    c = make_complaint(world)
    with pytest.raises(IllegalTransition, match="assign"):
        ops.assign(session, world["li.na"], c, ctx=world.ctx(), handling_department=world.dept("production"))
    assigned(world, c)
    with pytest.raises(IllegalTransition, match="state=assigned, action=triage"):
        ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=True)
    with pytest.raises(IllegalTransition, match="action=mark_invalid"):
        ops.mark_invalid(session, world["li.na"], c, ctx=world.ctx(), reason="不属实")
    with pytest.raises(IllegalTransition, match="action=feed_back_result"):
        ops.feed_back_result(session, world["li.na"], c, ctx=world.ctx(), text="结果")
    investigated(world, c)
    with pytest.raises(IllegalTransition, match="state=investigating, action=approve_plan"):
        ops.approve_plan(session, world["chen.gang"], c, ctx=world.ctx())
    with pytest.raises(IllegalTransition, match="action=close"):
        ops.close(session, world["li.na"], c, ctx=world.ctx())
    with pytest.raises(IllegalTransition, match="action=reopen"):
        ops.reopen(session, world["li.na"], c, ctx=world.ctx(), reason="x")


def test_closed_and_invalid_cases_refuse_everything(world: World, session) -> None:
    c = make_complaint(world)
    ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=False, invalid_reason="重复投诉")
    for call in (
        lambda: ops.add_progress_note(session, world["li.na"], c, ctx=world.ctx(), text="x"),
        lambda: ops.record_contact(session, world["li.na"], c, ctx=world.ctx(), method="phone"),
        lambda: ops.reopen(session, world["li.na"], c, ctx=world.ctx(), reason="x"),
        lambda: ops.request_extension(session, world["li.na"], c, ctx=world.ctx(), reason="x",
                                      new_due=dt.date(2026, 4, 1)),
    ):
        with pytest.raises(IllegalTransition, match="state=invalid"):
            call()
