"""Every timeline row goes through transitions.record_event: who (kind, masked id, ``by``), what, and before/after.

The rows are the audit trail; a mutation run showed that dropping ``by`` or the before/after values went
unnoticed, so each writer (a state change, an event, registration, a 人工 request) is checked here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from handlers.workflow import operations as ops
from handlers.workflow.transitions import Action, Actor, apply, log_event, record_event
from storage.db import Database
from storage.models import ActorKind, ComplaintStatus, Severity, TimelineEvent
from tests.handlers.test_intake_chat import Chat
from tests.handlers.test_intake_chat import _to_summary as to_summary
from tests.handlers.test_workflow_support import local, make_complaint, make_world, timeline

OPENID = "oCUSTOMER0000000000000001"


def test_a_state_change_records_the_staff_member_and_before_after(session: Any, company_config: Any) -> None:
    world = make_world(session, company_config)
    complaint = make_complaint(world)
    staff = world["li.na"]
    ops.triage(session, staff, complaint, ctx=world.at(local(2026, 2, 13, 10, 20)), valid=True,
               severity=Severity.MAJOR, urgent=False, handling_department=world.dept("production"))
    triage = next(e for e in timeline(session, complaint) if e.action == "triage")
    assert (triage.actor_kind, triage.actor_id) == (ActorKind.STAFF, str(staff.id))
    assert triage.details["by"] == staff.name
    assert (triage.details["from"], triage.details["to"]) == ("registered", "triaged")
    assert triage.details["changes"]["severity"] == {"before": "general", "after": "major"}


def test_record_event_writes_actor_action_states_and_json_details(session: Any, company_config: Any) -> None:
    world = make_world(session, company_config)
    complaint = make_complaint(world)
    complaint.status = ComplaintStatus.INVESTIGATING
    at = local(2026, 2, 14, 9, 0)
    event = record_event(
        session, complaint, "note", Actor.customer(OPENID), at, before=ComplaintStatus.ASSIGNED,
        changed={"due": {"before": "2026-02-20", "after": "2026-02-27"}},
        details={"day": dt.date(2026, 2, 27), "severity": Severity.MAJOR}, sla_events=("assigned",),
    )
    stored = session.get(TimelineEvent, event.id)
    assert (stored.actor_kind, stored.actor_id, stored.action, stored.at) == (
        ActorKind.CUSTOMER, "oCUS…0001", "note", at)
    assert stored.details == {
        "from": "assigned", "to": "investigating", "by": "投诉人", "sla_events": ["assigned"],
        "changes": {"due": {"before": "2026-02-20", "after": "2026-02-27"}},
        "day": "2026-02-27", "severity": "major",
    }


def test_apply_and_log_event_go_through_the_same_row(session: Any, company_config: Any) -> None:
    world = make_world(session, company_config)
    complaint = make_complaint(world)
    at = local(2026, 2, 13, 11, 0)
    moved = apply(session, complaint, Action.TRIAGE, Actor.of(world["li.na"]), at,
                  changed={"urgent": {"before": False, "after": True}})
    assert moved.details == {"from": "registered", "to": "triaged", "by": world["li.na"].name,
                             "changes": {"urgent": {"before": False, "after": True}}}
    logged = log_event(session, complaint, "deadline_breached", Actor.system(), at, {"deadline": "first_response"})
    assert (logged.actor_kind, logged.actor_id) == (ActorKind.SYSTEM, None)
    assert logged.details == {"from": "triaged", "to": "triaged", "by": "系统", "deadline": "first_response"}


def test_registration_and_a_later_callback_request_are_rows_with_the_customer_as_actor(
    db: Database, company_config: dict[str, Any],
) -> None:
    chat = Chat(db, company_config, openid=OPENID)
    to_summary(chat)
    chat.send("确认")
    chat.send("人工")
    complaint = chat.complaints()[0]
    with db.read_sessions() as s:
        rows = {e.action: e for e in s.scalars(sa.select(TimelineEvent).where(
            TimelineEvent.complaint_id == complaint.id))}
    registered, callback = rows["registered"], rows["callback_requested"]
    for row in (registered, callback):
        assert (row.actor_kind, row.actor_id) == (ActorKind.CUSTOMER, "oCUS…0001")
        assert row.details["by"] == "投诉人"
    assert (registered.details["from"], registered.details["to"]) == (None, "registered")
    assert registered.details["severity_suggested"] == "general"
    assert (callback.details["from"], callback.details["to"]) == ("registered", "registered")
    assert callback.details["phone"] == "0379****3626"
