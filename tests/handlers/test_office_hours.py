"""SLA alerts reach staff within office hours: a breach computed at midnight waits for the morning."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from handlers.config import PolicyError, load_policy
from handlers.workflow.deadlines import sweep_deadlines
from storage.models import OutboxChannel, OutboxMessage
from tests.handlers.test_workflow_support import local, make_complaint, make_world


def _conf(**workflow):
    return load_policy({"workflow": workflow}).workflow


@pytest.mark.parametrize(("now", "expected"), [
    (local(2026, 11, 23, 10, 0), None),  # inside: at once
    (local(2026, 11, 23, 7, 59), local(2026, 11, 23, 8, 0)),  # before opening: this morning
    (local(2026, 11, 23, 20, 0), local(2026, 11, 24, 8, 0)),  # at closing: tomorrow morning
    (local(2026, 11, 24, 0, 0, 1), local(2026, 11, 24, 8, 0)),  # just after midnight: this morning
])
def test_deliver_from_default_window(now, expected):
    got = _conf().deliver_from(now)
    assert got == (expected.astimezone(dt.UTC) if expected else None)


def test_empty_office_hours_means_always():
    assert _conf(office_hours=[]).deliver_from(local(2026, 11, 24, 3, 0)) is None


@pytest.mark.parametrize("value", [["20:00", "08:00"], ["08:00"], "08:00-20:00"])
def test_bad_office_hours_are_named(value):
    with pytest.raises(PolicyError, match=r"office_hours"):
        _conf(office_hours=value)


def _staff_rows(session):
    return list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == OutboxChannel.WECOM_APP)))


def test_midnight_breach_waits_for_the_morning_and_daytime_breach_goes_now(session, company_config):
    received = local(2026, 11, 23, 21, 30)  # Monday evening: the 1 h first response is breached at 22:30
    world = make_world(session, company_config, now=received)
    make_complaint(world, received_at=received)
    night = local(2026, 11, 23, 23, 0)
    sweep_deadlines(session, night.astimezone(dt.UTC), policy=world.policy)
    held = [m for m in _staff_rows(session) if m.payload.get("title") == "投诉处理超时"]
    assert held, "the breach is queued at once (nothing is lost)"
    assert {m.next_attempt_at for m in held} == {local(2026, 11, 24, 8, 0).astimezone(dt.UTC)}

    received_day = local(2026, 11, 24, 9, 0)
    make_complaint(world, received_at=received_day)
    day = local(2026, 11, 24, 10, 30)
    sweep_deadlines(session, day.astimezone(dt.UTC), policy=world.policy)
    fresh = [m for m in _staff_rows(session) if m.payload.get("title") == "投诉处理超时" and m not in held]
    assert fresh and all(m.next_attempt_at == day.astimezone(dt.UTC) for m in fresh)  # the sweep's clock
