"""The domain jobs the scheduler runs: the SLA sweep and the stale-draft purge, on a real database."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.config import load_settings
from handlers.intake import lock_state
from scheduler.jobs import run_draft_purge, run_sla_sweep
from storage.models import IntakeSession, OutboxMessage
from tests.conftest import count_rows
from tests.handlers.test_workflow_support import local, make_complaint, make_world


def _settings(company):
    return load_settings(environ={"TOUSU_DEV": "1"}, overrides={"COMPANY": company})


def test_sla_sweep_queues_due_reminders_once(db, company_config):
    received = local(2026, 2, 13, 10, 0)  # Friday before the Spring Festival block
    with db.transaction() as s:
        world = make_world(s, company_config, now=received)
        make_complaint(world, received_at=received)
        settings = _settings(world.config)
    assert count_rows(db, OutboxMessage) == 0
    later = (received + dt.timedelta(hours=3)).astimezone(dt.UTC)  # the 1 h first response is breached
    handled = run_sla_sweep(db, settings, now=later)
    assert handled >= 1
    with db.read_sessions() as s:
        texts = [m.payload["text"] for m in s.scalars(sa.select(OutboxMessage))]
    assert texts, "the breach notice is queued for staff"
    queued = len(texts)
    run_sla_sweep(db, settings, now=later)
    assert count_rows(db, OutboxMessage) == queued, "a second sweep at the same moment queues nothing"


def test_draft_purge_removes_only_stale_drafts(db, company_config):
    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    with db.transaction() as s:
        lock_state(s, "oSTALE00000000000001", now - dt.timedelta(days=8))
        lock_state(s, "oFRESH00000000000001", now - dt.timedelta(days=1))
    assert run_draft_purge(db, _settings(company_config), now=now) == 1
    with db.read_sessions() as s:
        assert list(s.scalars(sa.select(IntakeSession.openid))) == ["oFRESH00000000000001"]
