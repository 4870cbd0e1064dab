"""The timeline is the audit log (DOMAIN.md: every change with who, when, what): the rows real operations
write, read back from the database, name the actor, the moment, the action and the before/after values
as plain JSON (enums as their codes, moments in UTC ISO 8601, dates ISO, amounts as decimal strings).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from handlers.privacy import mask_openid
from handlers.workflow import operations as ops
from handlers.workflow.transitions import Actor, changes, json_value, log_event, record_event
from storage.models import ActorKind, Complaint, PlanStatus, Severity, Staff, TimelineEvent
from tests.handlers.test_workflow_support import World, eod, investigated, local, make_complaint, make_world

CUSTOMER = "oCUSTOMER0000000000000001"


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def _rows(db, complaint: Complaint) -> list[TimelineEvent]:
    """The complaint's timeline as the database holds it (a fresh session, nothing cached)."""
    with db.read_sessions() as s:
        rows = list(s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == complaint.id)
                              .order_by(TimelineEvent.id)))
        s.expunge_all()
    return rows


def _by(staff: Staff) -> tuple[ActorKind, str, str]:
    return ActorKind.STAFF, str(staff.id), staff.name


def test_each_staff_step_names_its_actor_and_moment(world: World, session, db) -> None:
    c = make_complaint(world)
    steps = [
        ("triage", "li.na", local(2026, 2, 13, 10, 20)),
        ("assign", "li.na", local(2026, 2, 13, 10, 20)),  # written by the same triage call
        ("start_investigation", "zhao.lei", local(2026, 2, 14, 9)),
        ("add_progress_note", "qian.hao", local(2026, 2, 14, 15, 30)),
    ]
    ops.triage(session, world["li.na"], c, ctx=world.at(steps[0][2]), valid=True,
               handling_department=world.dept("production"), responsible=world["zhao.lei"])
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.at(steps[2][2]))
    ops.add_progress_note(session, world["qian.hao"], c, ctx=world.at(steps[3][2]), text="已联系物流公司")
    session.commit()
    rows = _rows(db, c)[1:]
    assert [(r.action, r.actor_kind, r.actor_id, r.details["by"], r.at) for r in rows] == [
        (action, *_by(world[who]), at) for action, who, at in steps
    ]


def test_system_rows_name_the_system_and_their_moment(world: World, session, db) -> None:
    registered = local(2026, 2, 13, 9, 40)
    c = make_complaint(world, received_at=local(2026, 2, 13, 9, 30), registered_at=registered)
    session.commit()
    [opened] = _rows(db, c)
    assert (opened.action, opened.actor_kind, opened.actor_id, opened.at) == (
        "deadlines_opened", ActorKind.SYSTEM, None, registered)
    assert (opened.details["from"], opened.details["to"]) == ("registered", "registered")


def test_a_logged_event_keeps_whoever_is_named_and_the_state_it_happened_in(world: World, session, db) -> None:
    c = investigated(world, make_complaint(world))
    at = local(2026, 2, 20, 16)
    log_event(session, c, "sample_lost", Actor.of(world["zhao.lei"]), at, {"noted_on": dt.date(2026, 2, 20)})
    session.commit()
    row = _rows(db, c)[-1]
    assert (row.action, row.actor_kind, row.actor_id, row.at) == ("sample_lost", ActorKind.STAFF,
                                                                   str(world["zhao.lei"].id), at)
    assert row.details == {"by": "赵磊", "from": "investigating", "to": "investigating", "noted_on": "2026-02-20"}


def test_a_row_is_flushed_at_once_unless_the_caller_batches_and_never_committed(world: World, session, db) -> None:
    """record_event and log_event flush the row, so it has its id when they return; a job writing many rows
    passes flush=False and the next flush writes them together. Neither commits: a rollback drops them."""
    c = investigated(world, make_complaint(world))
    session.commit()
    kept = len(_rows(db, c))
    actor, at = Actor.of(world["zhao.lei"]), local(2026, 2, 20, 16)
    for write in (lambda: record_event(session, c, "add_progress_note", actor, at),
                  lambda: log_event(session, c, "sample_lost", actor, at, {})):
        row = write()
        assert (row.id is not None, row in session.new) == (True, False)
    batched = [record_event(session, c, "add_progress_note", actor, at, flush=False),
               log_event(session, c, "sample_lost", actor, at, {}, flush=False)]
    assert [(row.id is None, row in session.new) for row in batched] == [(True, True)] * 2
    session.flush()
    assert all(row.id is not None for row in batched)
    session.rollback()
    assert len(_rows(db, c)) == kept


def test_enum_date_and_amount_values_are_stored_as_plain_json(world: World, session, db) -> None:
    c = make_complaint(world)
    ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=True, severity=Severity.MAJOR,
               handling_department=world.dept("production"), responsible=world["zhao.lei"])
    investigated(world, c)
    plan = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["compensation"],
                            description="赔偿损失", amount="12000", due_date=dt.date(2026, 3, 3))
    ops.approve_plan(session, world["chen.gang"], c, ctx=world.ctx(), note="同意")
    session.commit()
    by_action = {r.action: r for r in _rows(db, c)}

    triage = by_action["triage"].details
    assert triage["changes"]["severity"] == {"before": "general", "after": "major"}
    assert triage["changes"]["severity_confirmed"] == {"before": False, "after": True}
    proposal = by_action["submit_plan_for_approval"].details
    assert (proposal["plan_id"], proposal["amount"], proposal["due_date"]) == (plan.id, "12000.00", "2026-03-03")
    assert proposal["measures"] == ["compensation"] and proposal["approval_reasons"] == ["major", "money"]
    assert by_action["approve_plan"].details["changes"] == {
        "plan_status": {"before": "pending_approval", "after": "approved"}}
    assert by_action["approve_plan"].details["by"] == world["chen.gang"].name


def test_closing_records_the_moments_in_utc_and_the_retention_date(world: World, session, db) -> None:
    c = _surveyed(world, session)
    ops.close(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 10, 30)))
    session.commit()
    close = _rows(db, c)[-1]
    assert close.details["changes"] == {
        "closed_at": {"before": None, "after": "2026-03-05T02:30:00+00:00"},
        "retain_until": {"before": None, "after": "2029-03-05"},
    }
    assert (close.details["outcome"], close.details["by"], close.at) == ("satisfied", "李娜",
                                                                         local(2026, 3, 5, 10, 30))


@pytest.fixture
def host_in_shanghai() -> Iterator[None]:
    """The server's own zone set to China's, as a host in China often is."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Asia/Shanghai")
        time.tzset()
        yield
    time.tzset()


def test_moments_are_utc_whatever_the_hosts_zone(world: World, session, db, host_in_shanghai: None) -> None:
    moment = dt.datetime(2026, 3, 5, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert json_value(moment) == "2026-03-05T02:30:00+00:00"
    c = _surveyed(world, session)
    ops.close(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 10, 30)))
    session.commit()
    assert _rows(db, c)[-1].details["changes"]["closed_at"]["after"] == "2026-03-05T02:30:00+00:00"


def test_the_complainants_answer_is_recorded_as_theirs(world: World, session, db) -> None:
    c = investigated(world, make_complaint(world))
    extension = ops.request_extension(session, world["zhao.lei"], c, ctx=world.ctx(), reason="等待第三方检测报告",
                                      new_due=dt.date(2026, 3, 31))
    ops.answer_extension(session, extension, ctx=world.at(local(2026, 2, 25, 9)), consent=True, answer_text="同意")
    session.commit()
    request, answer = _rows(db, c)[-2:]
    assert (request.action, request.details["by"]) == ("request_extension", "赵磊")
    assert (request.details["current_due_at"], request.details["new_due_at"]) == (
        eod(2026, 3, 12).isoformat(), eod(2026, 3, 31).isoformat())
    assert (answer.action, answer.actor_kind, answer.actor_id, answer.at) == (
        "answer_extension", ActorKind.CUSTOMER, mask_openid(CUSTOMER), local(2026, 2, 25, 9))
    assert answer.details["by"] == "投诉人"
    assert answer.details["changes"] == {
        "due_at": {"before": eod(2026, 3, 12).isoformat(), "after": eod(2026, 3, 31).isoformat()},
        "extension_status": {"before": "pending", "after": "consented"},
    }


def test_actors_as_the_timeline_names_them(world: World) -> None:
    staff = world["li.na"]
    assert (Actor.of(staff).kind, Actor.of(staff).id, Actor.of(staff).name) == _by(staff)
    assert (Actor.customer(CUSTOMER).kind, Actor.customer(CUSTOMER).id, Actor.customer(CUSTOMER).name) == (
        ActorKind.CUSTOMER, "oCUS…0001", "投诉人")
    assert Actor.customer(None).id is None  # no openid: nobody to name, not a masked placeholder
    assert (Actor.system().kind, Actor.system().id) == (ActorKind.SYSTEM, None)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Severity.MAJOR, "major"),
        (PlanStatus.APPROVED, "approved"),
        (decimal.Decimal("12000.50"), "12000.50"),
        (dt.date(2029, 3, 5), "2029-03-05"),
        (dt.datetime(2026, 3, 5, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))), "2026-03-05T02:30:00+00:00"),
        ({"sla_at": {"assigned": dt.date(2026, 3, 5)}}, {"sla_at": {"assigned": "2026-03-05"}}),
        ((1, "a", None, True), [1, "a", None, True]),
    ],
    ids=["str-enum", "plan-status", "decimal", "date", "aware-datetime", "nested-mapping", "tuple"],
)
def test_json_values_are_what_the_database_gives_back(value: object, stored: object) -> None:
    converted = json_value(value)
    assert converted == stored
    assert json.loads(json.dumps(converted)) == converted
    assert type(converted) is type(stored)  # a str, not a str-enum member that only compares equal


def test_changes_leave_out_what_did_not_change() -> None:
    assert changes(severity=(Severity.GENERAL, "general"), urgent=(False, True)) == {
        "urgent": {"before": False, "after": True}}


def _surveyed(world: World, session) -> Complaint:
    c = investigated(world, make_complaint(world))
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    ops.complete_implementation(session, world["zhao.lei"], c, ctx=world.ctx(), note="已更换")
    ops.feed_back_result(session, world["li.na"], c, ctx=world.at(local(2026, 3, 3, 10)), text="已为您更换。")
    ops.record_follow_up(session, world["li.na"], c, ctx=world.at(local(2026, 3, 4, 10)), method="phone",
                         notes="客户满意", satisfied=True)
    return c
