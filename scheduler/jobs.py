"""Domain sweeps on a timer: SLA reminders/breaches/escalations, satisfaction surveys, purging stale intake
drafts, copying evidence out of WeChat's temporary media, the daily overdue notice (每日超期通报) and the monthly
report (统计月报).

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

from bot.channels.wechat import official_account_client
from bot.config import Settings
from handlers import customer, webhooks
from handlers.context import HandlerContext
from handlers.intake import purge_stale_drafts
from handlers.records import MESSAGE_LOG_BATCH, MessageLogPurge, purge_message_log
from handlers.stats.report import MonthlyRun, run_monthly_report
from handlers.survey import SWEEP_BATCH as SURVEY_BATCH
from handlers.survey import sweep_surveys
from handlers.workflow.deadlines import SWEEP_BATCH, sweep_deadlines
from handlers.workflow.digest import DIGEST_TIME, DigestReport, queue_daily_digest
from scheduler.media import download_job, remove_orphan_files
from storage.db import Database

log = logging.getLogger("tousu.jobs")
SLA_SWEEP_INTERVAL = dt.timedelta(minutes=1)
SURVEY_SWEEP_INTERVAL = dt.timedelta(minutes=1)
MAX_SWEEP_BATCHES = 20  # a backlog is worked off over the next ticks rather than in one long transaction
EVIDENCE_DOWNLOAD_INTERVAL = dt.timedelta(minutes=1)
# A worker down at 09:00 still sends the day's digest when it comes back within this (the day's key keeps
# it to one per person however many workers fire).
DIGEST_MISFIRE_GRACE = dt.timedelta(hours=3)
# The monthly report: built at 08:00 (Asia/Shanghai) and tried again every hour until 20:00, every day, so a
# failed run on the 1st is redone within the hour (or the next day); a run with nothing left to do is one SELECT.
MONTHLY_REPORT_HOURS = "8-20"


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


def run_orphan_file_sweep(db: Database, settings: Settings, now: dt.datetime | None = None) -> int:
    """Remove evidence files whose attachment rows are gone (forgotten or purged drafts), nightly."""
    return remove_orphan_files(db, settings.attachment_dir, now or _now())


#: Batches per night: 1,000,000 rows of each log; a bigger backlog (a first run) goes on the next nights.
MAX_MESSAGE_LOG_BATCHES = 500


def run_message_log_purge(db: Database, settings: Settings, now: dt.datetime | None = None) -> MessageLogPurge:
    """Forget the followers' texts in the message logs older than ``[workflow].message_log_days``
    (`handlers.records.purge_message_log`), one short transaction per batch so the webhook never waits long."""
    now = now or _now()
    total = MessageLogPurge()
    for _ in range(MAX_MESSAGE_LOG_BATCHES):
        with db.transaction() as session:
            done = purge_message_log(session, now=now, days=settings.policy.workflow.message_log_days,
                                     batch=MESSAGE_LOG_BATCH)
        total.add(done)
        if max(done.inbound, done.outbox, done.sink) < MESSAGE_LOG_BATCH:
            break
    if total.rows:
        log.info("message logs: %d inbound rows deleted, %d sent messages emptied, %d dev sink rows deleted",
                 total.inbound, total.outbox, total.sink)
    return total


def run_overdue_digest(db: Database, settings: Settings, now: dt.datetime | None = None) -> DigestReport:
    """The 09:00 notice: on working days, one WeCom message per lead office member and manager."""
    with db.transaction() as session:
        report = queue_daily_digest(session, now or _now(), policy=settings.policy,
                                    base_url=settings.public_base_url)
    if report.working_day:
        log.info("overdue digest %s: %d people told (%d messages), %d already told, %d with nothing due",
                 report.day, report.recipients, report.messages, report.already_queued, report.nothing_to_say)
    return report


def run_monthly_report_job(db: Database, settings: Settings, now: dt.datetime | None = None) -> MonthlyRun:
    """Last month's report (统计月报), built once, and management's WeCom card queued once
    (handlers/stats/report.py)."""
    with db.transaction() as session:
        result = run_monthly_report(session, now or _now(), policy=settings.policy)
    if result.built or result.notified:
        log.info("monthly report %s: built=%s, card queued for %d people", result.period, result.built,
                 result.notified)
    return result


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
    webhooks.configure(settings.policy.webhooks)  # state changes made by jobs (the survey) queue webhooks too


def install_domain_jobs(scheduler: BaseScheduler, db: Database, settings: Settings) -> None:
    """The SLA and survey sweeps every minute; the draft purge nightly at 03:17 Asia/Shanghai (a quiet hour),
    then at 03:37 the removal of the evidence files the purged drafts leave behind, and at 03:47 the message
    logs' old texts."""
    from scheduler import TIMEZONE, register_job

    configure_customer_links(settings)

    register_job(scheduler, functools.partial(run_sla_sweep, db, settings),
                 IntervalTrigger(seconds=SLA_SWEEP_INTERVAL.total_seconds(), timezone=TIMEZONE), id="sla-sweep")
    register_job(scheduler, functools.partial(run_survey_sweep, db, settings),
                 IntervalTrigger(seconds=SURVEY_SWEEP_INTERVAL.total_seconds(), timezone=TIMEZONE), id="survey-sweep")
    register_job(scheduler, functools.partial(run_draft_purge, db, settings),
                 CronTrigger(hour=3, minute=17, timezone=TIMEZONE), id="intake-draft-purge")
    register_job(scheduler, functools.partial(run_orphan_file_sweep, db, settings),
                 CronTrigger(hour=3, minute=37, timezone=TIMEZONE), id="evidence-orphan-sweep")
    register_job(scheduler, functools.partial(run_message_log_purge, db, settings),
                 CronTrigger(hour=3, minute=47, timezone=TIMEZONE), id="message-log-purge")
    register_job(scheduler, functools.partial(run_monthly_report_job, db, settings),
                 CronTrigger(hour=MONTHLY_REPORT_HOURS, minute=0, timezone=TIMEZONE), id="monthly-report",
                 misfire_grace_time=int(DIGEST_MISFIRE_GRACE.total_seconds()))
    install_evidence_jobs(scheduler, db, settings)


def install_evidence_jobs(scheduler: BaseScheduler, db: Database, settings: Settings) -> None:
    """Evidence downloads every minute (only with an AppSecret: media/get needs the API), and the overdue
    digest daily at 09:00 Asia/Shanghai (the function itself skips days off on the company calendar)."""
    from scheduler import TIMEZONE, register_job

    client = official_account_client(settings, timeout=10.0)
    if client is not None:
        register_job(scheduler, functools.partial(download_job, db, settings, client),
                     IntervalTrigger(seconds=EVIDENCE_DOWNLOAD_INTERVAL.total_seconds(), timezone=TIMEZONE),
                     id="evidence-download")
    else:
        log.info("no WECHAT_SECRET: evidence stays with WeChat (no download job)")
    register_job(scheduler, functools.partial(run_overdue_digest, db, settings),
                 CronTrigger(hour=DIGEST_TIME.hour, minute=DIGEST_TIME.minute, timezone=TIMEZONE),
                 id="overdue-digest", misfire_grace_time=int(DIGEST_MISFIRE_GRACE.total_seconds()))
