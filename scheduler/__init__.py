"""The periodic jobs (APScheduler 3): outbox dispatch now; SLA sweep, surveys, reports and purge later.

Every job is an idempotent sweep over database rows, so it can run in the web process (``tousu serve``),
in its own process (``tousu worker``), or in both at once without sending anything twice. Nothing here runs
at import time; :func:`build_scheduler` builds an unstarted scheduler and the caller starts it.

To add a job family, write ``install_<family>_jobs(scheduler, db, settings)`` in its own module (calling
:func:`register_job` once per job) and call it from :func:`build_scheduler`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.channels import Channels
from bot.channels.sink import build_channels
from bot.config import Settings
from scheduler.jobs import install_domain_jobs
from scheduler.outbox import dispatch_due, recover_stale_sending
from storage.base import SHANGHAI
from storage.db import Database

TIMEZONE = SHANGHAI  # business rules (and cron-like jobs such as the monthly report)
JOB_DEFAULTS: dict[str, Any] = {
    "coalesce": True,  # after a pause, run a missed sweep once, not once per missed tick
    "max_instances": 1,  # a slow sweep is never overlapped by the next tick in the same process
    "misfire_grace_time": 60,
}
OUTBOX_DISPATCH_INTERVAL = dt.timedelta(seconds=5)
OUTBOX_RECOVERY_INTERVAL = dt.timedelta(minutes=10)
# A send makes at most a few calls of 5 s each; a row claimed this long ago belongs to a dead dispatcher.
OUTBOX_STALE_AFTER = dt.timedelta(minutes=10)

def register_job(scheduler: BaseScheduler, func: Callable[..., Any], trigger: BaseTrigger | str, *,
                 id: str, **kwargs: Any) -> Job:
    """Add (or replace) the job ``id``: the one place jobs are registered, with the shared defaults."""
    kwargs.setdefault("name", id)
    return scheduler.add_job(func, trigger, id=id, replace_existing=True, **kwargs)


def install_outbox_jobs(scheduler: BaseScheduler, db: Database, settings: Settings, *,
                        channels: Channels | None = None) -> None:
    """Outbox dispatch every 5 s, and recovery of rows left ``sending`` by a dead dispatcher every 10 min."""
    senders = channels if channels is not None else build_channels(settings, db)
    register_job(scheduler, functools.partial(dispatch_due, db, senders),
                 IntervalTrigger(seconds=OUTBOX_DISPATCH_INTERVAL.total_seconds(), timezone=TIMEZONE),
                 id="outbox-dispatch")
    register_job(scheduler, functools.partial(recover_stale_sending, db, OUTBOX_STALE_AFTER),
                 IntervalTrigger(seconds=OUTBOX_RECOVERY_INTERVAL.total_seconds(), timezone=TIMEZONE),
                 id="outbox-recover-stale")


def build_scheduler(db: Database, settings: Settings, *, blocking: bool = False,
                    channels: Channels | None = None) -> BaseScheduler:
    """An unstarted scheduler with every job registered.

    ``blocking=True`` gives a BlockingScheduler for ``tousu worker`` (``start()`` runs until stopped);
    otherwise a BackgroundScheduler for the web process. ``channels`` replaces the senders chosen from
    ``settings`` (tests).
    """
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler: BaseScheduler = cls(timezone=TIMEZONE, job_defaults=dict(JOB_DEFAULTS))
    install_outbox_jobs(scheduler, db, settings, channels=channels)
    install_domain_jobs(scheduler, db, settings)
    return scheduler


__all__ = [
    "JOB_DEFAULTS",
    "TIMEZONE",
    "build_scheduler",
    "install_outbox_jobs",
    "register_job",
]
