"""The complaint lifecycle of DOMAIN.md, written out here state by state, independently of the table in
handlers/workflow/transitions.py, and then walked with real operations on a real database.

test_workflow_transitions.py checks that the table is consistent with itself (every pair allowed or
refused, every state reachable); this file says what the table must *be*: a missing or extra entry
(a second 回访 refused, a reopen from the wrong state allowed) fails here, and the operations tests show
the same lifecycle in the timeline rows that real cases write.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from handlers.workflow import operations as ops
from handlers.workflow.errors import IllegalTransition
from handlers.workflow.transitions import TRANSITIONS, Action, allowed_actions, target_state
from storage.models import Complaint, ComplaintStatus, Severity
from tests.handlers.test_workflow_support import (
    World,
    investigated,
    local,
    make_complaint,
    make_world,
    timeline,
    triaged,
)

S = ComplaintStatus
A = Action

# Recorded in every open state, without leaving it: notes, contact with the complainant, a change of
# severity, naming the complained-about person, and the complainant's answer to an extension (which may
# arrive after the case moved on).
EVERYWHERE = (A.ADD_PROGRESS_NOTE, A.RECORD_CONTACT, A.CHANGE_SEVERITY, A.RECORD_COMPLAINED_STAFF,
              A.ANSWER_EXTENSION)
# While the case is in hand (assigned, before the result is fed back) it can be reassigned; from triage
# until then staff may ask the complainant for an extension (seed 001 第十条).
IN_HAND = (A.REASSIGN, A.REQUEST_EXTENSION)

# state → (the arrows of DOMAIN.md leaving it, the steps recorded in it)
LIFECYCLE: dict[S, tuple[dict[A, S], tuple[A, ...]]] = {
    S.REGISTERED: ({A.TRIAGE: S.TRIAGED}, EVERYWHERE),
    S.TRIAGED: ({A.MARK_INVALID: S.INVALID, A.ASSIGN: S.ASSIGNED}, (*EVERYWHERE, A.REQUEST_EXTENSION)),
    S.ASSIGNED: ({A.START_INVESTIGATION: S.INVESTIGATING}, (*EVERYWHERE, *IN_HAND)),
    S.INVESTIGATING: (
        {A.SUBMIT_PLAN_FOR_APPROVAL: S.PLAN_PENDING,  # 重大, or money
         A.START_IMPLEMENTATION: S.IMPLEMENTING},  # a plan needing no approval
        (*EVERYWHERE, *IN_HAND, A.RECORD_INVESTIGATION, A.DECIDE_SITE_VISIT, A.RECORD_SITE_VISIT,
         A.RECEIVE_SAMPLE, A.RECORD_RETEST, A.SUBMIT_REPORT, A.PROPOSE_PLAN),
    ),
    S.PLAN_PENDING: (
        {A.START_IMPLEMENTATION: S.IMPLEMENTING, A.REJECT_PLAN: S.INVESTIGATING},
        (*EVERYWHERE, *IN_HAND, A.APPROVE_PLAN),
    ),
    S.IMPLEMENTING: ({A.FEED_BACK_RESULT: S.RESOLVED}, (*EVERYWHERE, *IN_HAND, A.COMPLETE_IMPLEMENTATION)),
    S.RESOLVED: (
        {A.START_SURVEY: S.SURVEYING, A.RECORD_FOLLOW_UP: S.SURVEYING,
         A.REOPEN: S.REOPENED},  # unsatisfied → 直至客户满意
        EVERYWHERE,
    ),
    S.SURVEYING: (
        {A.CLOSE: S.CLOSED, A.REOPEN: S.REOPENED},
        (*EVERYWHERE, A.RECORD_FOLLOW_UP),  # 回访 may take several visits
    ),
    S.REOPENED: ({A.START_INVESTIGATION: S.INVESTIGATING}, (*EVERYWHERE, *IN_HAND)),
    S.CLOSED: ({}, ()),
    S.INVALID: ({}, ()),
}

EXPECTED: dict[tuple[S, A], S] = {
    **{(state, action): target for state, (moves, _) in LIFECYCLE.items() for action, target in moves.items()},
    **{(state, action): state for state, (_, steps) in LIFECYCLE.items() for action in steps},
}


def test_every_state_of_the_domain_is_described() -> None:
    assert set(LIFECYCLE) == set(S)
    for moves, steps in LIFECYCLE.values():
        assert not set(moves) & set(steps)  # an action either moves the case or is recorded in place


def test_the_table_is_exactly_the_lifecycle_of_the_domain() -> None:
    missing = {pair: target for pair, target in EXPECTED.items() if TRANSITIONS.get(pair) is not target}
    extra = {pair: target for pair, target in TRANSITIONS.items() if pair not in EXPECTED}
    assert (missing, extra) == ({}, {})


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.value)
def test_allowed_actions_per_state(state: S) -> None:
    moves, steps = LIFECYCLE[state]
    assert sorted(allowed_actions(state)) == sorted({*moves, *steps})
    for action in A:
        if action in moves:
            assert target_state(state, action) is moves[action]
        elif action in steps:
            assert target_state(state, action) is state
        else:
            with pytest.raises(IllegalTransition):
                target_state(state, action)


def test_the_lifecycle_has_no_way_out_of_closed_or_invalid_and_reopen_leads_back() -> None:
    targets = {target for (state, _), target in EXPECTED.items() if state is not target}
    assert targets == set(S) - {S.REGISTERED}
    assert {state for state, (moves, steps) in LIFECYCLE.items() if not moves and not steps} == {S.CLOSED, S.INVALID}
    # From any open state the case can still reach 已办结 (there is no dead end short of closing).
    for start in set(S) - {S.CLOSED, S.INVALID}:
        reached, frontier = {start}, [start]
        while frontier:
            for target in LIFECYCLE[frontier.pop()][0].values():
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        assert S.CLOSED in reached, start


# -- real cases ------------------------------------------------------------------------------------


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def _moves(session, complaint: Complaint) -> list[tuple[str, str, str]]:
    """(action, from, to) of each timeline row the case wrote, in order."""
    return [(e.action, e.details["from"], e.details["to"]) for e in timeline(session, complaint)]


def _implemented(world: World, complaint: Complaint) -> Complaint:
    investigated(world, complaint)
    ops.propose_plan(world.session, world["zhao.lei"], complaint, ctx=world.ctx(), measures=["replace"],
                     description="更换同规格铝板", due_date=dt.date(2026, 3, 3))
    ops.start_implementation(world.session, world["zhao.lei"], complaint, ctx=world.ctx())
    ops.complete_implementation(world.session, world["zhao.lei"], complaint, ctx=world.ctx(), note="已发货更换")
    return complaint


def _resolved(world: World, complaint: Complaint) -> Complaint:
    _implemented(world, complaint)
    ops.feed_back_result(world.session, world["li.na"], complaint, ctx=world.at(local(2026, 3, 3, 10)),
                         text="已为您更换同规格铝板。")
    return complaint


def test_a_second_follow_up_visit_is_recorded_while_surveying(world: World, session) -> None:
    c = _resolved(world, make_complaint(world))
    ops.record_follow_up(session, world["li.na"], c, ctx=world.at(local(2026, 3, 4, 10)), method="phone",
                         notes="无人接听")
    assert c.status is S.SURVEYING
    second = ops.record_follow_up(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 10)), method="visit",
                                  notes="上门回访，客户满意", satisfied=True)
    assert c.status is S.SURVEYING and second.satisfied is True
    ops.close(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 11)))
    assert c.status is S.CLOSED
    assert _moves(session, c)[-3:] == [
        ("record_follow_up", "resolved", "surveying"),
        ("record_follow_up", "surveying", "surveying"),
        ("close", "surveying", "closed"),
    ]


def test_the_whole_loop_moves_along_the_arrows(world: World, session) -> None:
    c = make_complaint(world)
    triaged(world, c)  # no department yet: stays 已分类
    assert c.status is S.TRIAGED
    ops.request_extension(session, world["li.na"], c, ctx=world.ctx(), reason="需协调生产部排产",
                          new_due=dt.date(2026, 3, 13))
    ops.assign(session, world["li.na"], c, ctx=world.ctx(), handling_department=world.dept("production"),
               responsible=world["zhao.lei"])
    _resolved(world, c)
    ops.record_follow_up(session, world["li.na"], c, ctx=world.ctx(), method="phone", notes="客户满意",
                         satisfied=True)
    ops.close(session, world["li.na"], c, ctx=world.ctx())
    assert _moves(session, c) == [
        ("deadlines_opened", "registered", "registered"),
        ("triage", "registered", "triaged"),
        ("request_extension", "triaged", "triaged"),
        ("assign", "triaged", "assigned"),
        ("start_investigation", "assigned", "investigating"),
        ("record_investigation", "investigating", "investigating"),
        ("submit_report", "investigating", "investigating"),
        ("propose_plan", "investigating", "investigating"),
        ("start_implementation", "investigating", "implementing"),
        ("complete_implementation", "implementing", "implementing"),
        ("feed_back_result", "implementing", "resolved"),
        ("record_follow_up", "resolved", "surveying"),
        ("close", "surveying", "closed"),
    ]


def test_a_plan_needing_approval_waits_then_starts(world: World, session) -> None:
    c = investigated(world, make_complaint(world, severity=Severity.MAJOR))
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["repair"], description="返修",
                     due_date=dt.date(2026, 3, 3))
    ops.reject_plan(session, world["chen.gang"], c, ctx=world.ctx(), note="应更换")
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.reassign(session, world["zhao.lei"], c, ctx=world.ctx(), responsible=world["qian.hao"], reason="换人跟进")
    ops.approve_plan(session, world["chen.gang"], c, ctx=world.ctx(), note="同意")
    ops.start_implementation(session, world["qian.hao"], c, ctx=world.ctx())
    assert c.status is S.IMPLEMENTING
    assert _moves(session, c)[-6:] == [
        ("submit_plan_for_approval", "investigating", "plan_pending"),
        ("reject_plan", "plan_pending", "investigating"),
        ("submit_plan_for_approval", "investigating", "plan_pending"),
        ("reassign", "plan_pending", "plan_pending"),
        ("approve_plan", "plan_pending", "plan_pending"),
        ("start_implementation", "plan_pending", "implementing"),
    ]


def test_unsatisfied_straight_after_the_result_reopens_without_a_survey(world: World, session) -> None:
    c = _resolved(world, make_complaint(world))
    ops.reopen(session, world["li.na"], c, ctx=world.ctx(), reason="客户当即表示不满意")
    assert c.status is S.REOPENED
    ops.reassign(session, world["li.na"], c, ctx=world.ctx(), responsible=world["qian.hao"], reason="换人重查")
    investigation = ops.start_investigation(session, world["qian.hao"], c, ctx=world.ctx())
    assert investigation.round == 2 and c.status is S.INVESTIGATING
    assert _moves(session, c)[-4:] == [
        ("feed_back_result", "implementing", "resolved"),
        ("reopen", "resolved", "reopened"),
        ("reassign", "reopened", "reopened"),
        ("start_investigation", "reopened", "investigating"),
    ]


def test_steps_out_of_their_state_are_refused_by_the_operations(world: World, session) -> None:
    c = _implemented(world, make_complaint(world))
    with pytest.raises(IllegalTransition, match="state=implementing, action=record_follow_up"):
        ops.record_follow_up(session, world["li.na"], c, ctx=world.ctx(), method="phone", notes="过早回访")
    with pytest.raises(IllegalTransition, match="state=implementing, action=reopen"):
        ops.reopen(session, world["li.na"], c, ctx=world.ctx(), reason="x")
    ops.feed_back_result(session, world["li.na"], c, ctx=world.ctx(), text="已更换。")
    with pytest.raises(IllegalTransition, match="state=resolved, action=close"):
        ops.close(session, world["li.na"], c, ctx=world.ctx(), outcome="no_answer", note="未回访就办结")
    with pytest.raises(IllegalTransition, match="state=resolved, action=request_extension"):
        ops.request_extension(session, world["li.na"], c, ctx=world.ctx(), reason="x", new_due=dt.date(2026, 4, 1))
    with pytest.raises(IllegalTransition, match="state=resolved, action=reassign"):
        ops.reassign(session, world["li.na"], c, ctx=world.ctx(), responsible=world["qian.hao"], reason="x")


def test_no_pair_outside_the_lifecycle_is_allowed() -> None:
    outside = [pair for pair in itertools.product(S, A) if pair not in EXPECTED]
    assert len(outside) + len(EXPECTED) == len(S) * len(A)
    for state, action in outside:
        with pytest.raises(IllegalTransition):
            target_state(state, action)
