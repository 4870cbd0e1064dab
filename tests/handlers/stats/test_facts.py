"""The KPI facts (kpi_fact) stay right in the transaction of every change, through the real workflow, and the
incremental maintenance agrees with a rebuild from scratch."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from handlers.stats.facts import rebuild_all
from storage.db import Database
from storage.models import Complaint, Deadline, DeadlineStatus, Department, KpiFact, Survey, SurveyStatus
from tests.handlers.stats.dataset import build
from tests.handlers.test_workflow_support import World, assigned, local, make_complaint, make_world


@pytest.fixture
def world(db: Database, company_config: dict[str, Any]) -> World:
    with db.transaction() as s:
        return make_world(s, company_config, now=local(2026, 3, 2, 10, 0))


def facts(db: Database) -> dict[int, tuple[Any, ...]]:
    with db.read_sessions() as s:
        return {f.complaint_id: (f.received_at, f.response_decided_at, f.response_on_time, f.whole_met,
                                 f.whole_on_time, f.overdue_since, f.unrated, f.repeat_prev_at)
                for f in s.scalars(sa.select(KpiFact))}


def fact(db: Database, complaint_id: int) -> KpiFact:
    with db.read_sessions() as s:
        found = s.get(KpiFact, complaint_id)
        assert found is not None
        s.expunge(found)
        return found


def test_registering_and_handling_a_case_keeps_its_facts(db: Database, world: World) -> None:
    with db.transaction() as s:
        world.session = s
        first = make_complaint(world, received_at=local(2026, 3, 2, 9, 0), product_name="铝板",
                               problem_type="surface")
        first_id, received = first.id, first.received_at
    got = fact(db, first_id)
    # The quality preset's 首次响应 (1 h on a working day) is its response deadline; nothing met yet.
    assert got.received_at == received and got.response_decided_at == local(2026, 3, 2, 10, 0)
    assert not got.response_on_time and not got.whole_met and got.repeat_prev_at is None
    assert got.overdue_since == local(2026, 3, 2, 10, 0)  # the earliest unmet deadline's due time

    with db.transaction() as s:  # 首次响应 met on time: the flush that marks the deadline refreshes the fact
        world.session = s
        row = s.scalar(sa.select(Deadline).where(Deadline.complaint_id == first_id,
                                                 Deadline.milestone == "first_response"))
        assert row is not None
        row.status, row.met_at = DeadlineStatus.MET, local(2026, 3, 2, 9, 30)
    got = fact(db, first_id)
    assert got.response_on_time and got.response_decided_at == local(2026, 3, 2, 9, 30)

    with db.transaction() as s:  # a second complaint about the same product and problem: a repeat
        world.session = s
        second = make_complaint(world, received_at=local(2026, 3, 3, 9, 0), product_name="铝板",
                                problem_type="surface", openid="oOTHER000000000000000001", phone="+8613900139001")
        second_id = second.id
        assigned(world, s.get(Complaint, first_id))  # a workflow operation on the first: its facts follow
    assert fact(db, second_id).repeat_prev_at == received

    with db.transaction() as s:  # an expired survey: 未评价
        s.add(Survey(complaint_id=first_id, round=0, status=SurveyStatus.EXPIRED, sent_at=received,
                     remind_at=received, expires_at=received))
    assert fact(db, first_id).unrated


def test_a_backdated_complaint_makes_the_later_one_a_repeat(db: Database, world: World) -> None:
    with db.transaction() as s:
        world.session = s
        later = make_complaint(world, received_at=local(2026, 3, 5, 9, 0), phone="+8613900139002",
                               openid="oLATER00000000000000000001")
        later_id = later.id
    assert fact(db, later_id).repeat_prev_at is None
    with db.transaction() as s:  # registered today, received by phone two days earlier
        world.session = s
        make_complaint(world, received_at=local(2026, 3, 3, 9, 0), phone="+8613900139002",
                       openid="oEARLIER0000000000000001")
    assert fact(db, later_id).repeat_prev_at == local(2026, 3, 3, 9, 0)


def test_incremental_facts_equal_a_rebuild(db: Database, world: World) -> None:
    with db.transaction() as s:
        build(s, {d.code: d for d in s.scalars(sa.select(Department))})
    kept = facts(db)
    assert len(kept) == 10  # every case of the hand-made October has its row
    with db.transaction() as s:
        rebuild_all(s.connection())
    assert facts(db) == kept


def test_deleting_a_complaint_removes_its_facts(db: Database, world: World) -> None:
    with db.transaction() as s:
        world.session = s
        cid = make_complaint(world, received_at=local(2026, 3, 2, 9, 0)).id
    with db.transaction() as s:
        complaint = s.get(Complaint, cid)
        s.delete(complaint)
    assert cid not in facts(db)
