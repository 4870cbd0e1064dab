"""Domain sweeps on a timer: SLA reminders/breaches/escalations, satisfaction surveys, purging stale drafts.

Each job is a few lines: open a transaction, call an operation in handlers/, commit. The operations are
idempotent (outbox dedupe keys, status checks), so a restart or a second worker loses or repeats nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from handlers import customer
from handlers.context import HandlerContext
from handlers.intake import purge_stale_drafts
from handlers.survey import SWEEP_BATCH as SURVEY_BATCH
from handlers.survey import sweep_surveys
from handlers.workflow.deadlines import SWEEP_BATCH, sweep_deadlines
from storage.db import Database

log = logging.getLogger("tousu.jobs")
SLA_SWEEP_INTERVAL = dt.timedelta(minutes=1)
SURVEY_SWEEP_INTERVAL = dt.timedelta(minutes=1)
MAX_SWEEP_BATCHES = 20  # a backlog is worked off over the next ticks rather than in one long transaction


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_sla_sweep(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Queue every reminder, breach notice and escalation that is due; returns how many rows were handled."""
    handled = 0
    for _ in range(MAX_SWEEP_BATCHES):
        with db.transaction() as session:
            report = sweep_deadlines(session, now or _now(), policy=settings.policy)
        handled += report.rows
        if report.rows < SWEEP_BATCH:
            break
    if handled:
        log.info("sla sweep handled %d deadline rows", handled)
    return handled


def run_draft_purge(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Delete intake drafts idle longer than the configured window (default 7 days); filed cases stay."""
    with db.transaction() as session:
        purged = purge_stale_drafts(session, now or _now(), older_than=settings.policy.intake.purge_after)
    if purged:
        log.info("purged %d stale intake drafts", purged)
    return purged


def run_survey_sweep(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Send the surveys that are due, the one reminder, and close the unanswered as 未评价 (handlers/survey.py)."""
    handled = 0
    for _ in range(MAX_SWEEP_BATCHES):
        with db.transaction() as session:
            report = sweep_surveys(session, ctx=HandlerContext(now=now or _now(), policy=settings.policy))
        handled += report.rows
        if report.rows < SURVEY_BATCH:
            break
    if handled:
        log.info("survey sweep handled %d surveys", handled)
    return handled


def configure_customer_links(settings: Settings) -> None:
    """Links to the customer's case page (in survey messages) are signed with this deployment's key."""
    customer.configure_links(settings.public_base_url, settings.secret_key, oauth=settings.wechat_oauth_enabled)


def install_domain_jobs(scheduler: BaseScheduler, db: Database, settings: Settings) -> None:
    """The SLA and survey sweeps every minute; the draft purge nightly at 03:17 Asia/Shanghai (a quiet hour)."""
    from scheduler import TIMEZONE, register_job

    configure_customer_links(settings)

    register_job(scheduler, functools.partial(run_sla_sweep, db, settings),
                 IntervalTrigger(seconds=SLA_SWEEP_INTERVAL.total_seconds(), timezone=TIMEZONE), id="sla-sweep")
    register_job(scheduler, functools.partial(run_survey_sweep, db, settings),
                 IntervalTrigger(seconds=SURVEY_SWEEP_INTERVAL.total_seconds(), timezone=TIMEZONE), id="survey-sweep")
    register_job(scheduler, functools.partial(run_draft_purge, db, settings),
                 CronTrigger(hour=3, minute=17, timezone=TIMEZONE), id="intake-draft-purge")
