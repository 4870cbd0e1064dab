"""The outbox dispatcher: delivers queued messages after the transaction that queued them committed.

Each message goes through three steps, each its own short transaction or none:

1. **claim** (transaction): pick one due row (``pending`` and ``next_attempt_at <= now``), lock it with
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers with ``BEGIN IMMEDIATE``, see
   ``storage/db.py``), mark it ``sending``, count the attempt, commit;
2. **send** (no transaction): call the platform through the channel's sender;
3. **record** (transaction): ``sent``, back to ``pending`` with a later ``next_attempt_at``, or ``failed``;
   the same transaction claims the next row (step 1 of the next message), so a message costs one commit.
   The claim is one statement (``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``).
   A customer message about a case (``payload["case_message"]``) that the platform refused for good
   (45015 with no template, 43004, 40003, 40037, 47003 …, or retries exhausted) opens a task to phone the
   customer in that same transaction (``handlers.workflow.notify.call_instead``, once per message).
   A database that fails at this step (down right after a successful call) is retried a few times with
   a growing pause (:data:`RECORD_RETRY_DELAYS`, about 15 s in all) before the batch gives up: a sent
   message recorded late is still ``sent``, while one never recorded waits for the recovery below.

Because the claim commits before the call, a row whose process dies mid-send stays ``sending`` and no
dispatcher picks it up again: WeChat's 客服消息 has no idempotency key, so a blind resend could reach the
customer twice. :func:`recover_stale_sending` later sorts those rows out: template messages carry
``client_msg_id`` and go back to the queue, everything else is failed for a person to check.

While a row is ``sending``, its ``next_attempt_at`` holds the time it was claimed (the model has no
separate column for it); that is what :func:`recover_stale_sending` measures staleness by.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.channels import Channels, Outgoing, Sender
from bot.channels.errors import (
    MAX_ATTEMPTS,
    SHANGHAI,
    ChannelError,
    ErrorKind,
    backoff,
    channel_error,
    next_quota_reset,
)
from handlers.privacy import mask_recipient
from handlers.workflow import notify
from storage.base import utcnow
from storage.db import Database
from storage.models import Complaint, OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import IDEMPOTENT_CHANNELS, OUTCOME_UNKNOWN  # defined with the queue: the console reads them

logger = logging.getLogger("tousu.scheduler.outbox")

LAST_ERROR_LENGTH = 500  # OutboxMessage.last_error is VARCHAR(500)
# Pauses (seconds) between attempts to record an outcome while the database is unreachable.
RECORD_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
# What an unreachable database raises (connection refused or lost, server shutting down).
DATABASE_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError)


@dataclass
class DispatchStats:
    """What one :func:`dispatch_due` run did, for logs and tests."""

    sent: int = 0
    retried: int = 0
    deferred: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.deferred + self.failed


@dataclass(frozen=True)
class RecoveryStats:
    requeued: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Result:
    status: OutboxStatus
    last_error: str | None = None
    next_attempt_at: dt.datetime | None = None
    quota_reset_at: dt.datetime | None = None  # set on 45009: nothing more on this channel until then
    undelivered: bool = False  # the platform said no for good: the recipient does not have it
    errcode: int | None = None


def dispatch_due(
    db: Database,
    channels: Channels,
    now: dt.datetime | None = None,
    limit: int = 50,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    rng: random.Random | None = None,
    record_retry_delays: Sequence[float] = RECORD_RETRY_DELAYS,
) -> DispatchStats:
    """Send up to ``limit`` due messages, one claim at a time; safe to run in several processes at once.

    ``now`` fixes the clock (tests); by default each claim reads the real time. Only channels present in
    ``channels`` are claimed, so a worker never takes a row it has no sender for. An outcome that cannot
    be recorded after ``record_retry_delays`` ends the batch (the database is down).
    """
    stats = DispatchStats()
    open_channels = set(channels)
    current = now or utcnow()
    message = claim_next(db, open_channels, current) if limit > 0 else None
    handled = 0
    while message is not None:
        result = _attempt(channels[message.channel], message, current, max_attempts, rng)
        handled += 1
        if result.quota_reset_at is not None:
            # The daily quota is the account's, not the row's: the rest of this batch would only hit it too.
            open_channels.discard(message.channel)
        following_at = now or utcnow()
        # One transaction records this outcome and claims the next row (the claim still commits before the
        # next send); a database that fails here is retried as one (the outcome first, always).
        recorded, following = _record_with_retries(db, message, result, current, record_retry_delays,
                                                   claim=open_channels if handled < limit else (),
                                                   claim_at=following_at)
        if not recorded:
            break
        _count(stats, result)
        message, current = following, following_at
    if stats.attempted:
        logger.info("outbox: %s sent, %s retried, %s deferred, %s failed",
                    stats.sent, stats.retried, stats.deferred, stats.failed)
    return stats


def _count(stats: DispatchStats, result: _Result) -> None:
    if result.status is OutboxStatus.SENT:
        stats.sent += 1
    elif result.status is OutboxStatus.FAILED:
        stats.failed += 1
    elif result.quota_reset_at is not None:
        stats.deferred += 1
    else:
        stats.retried += 1


def claim_next(db: Database, channels: Collection[OutboxChannel], now: dt.datetime) -> Outgoing | None:
    """Mark the next due row ``sending`` and commit, so no other dispatcher can take it; None when idle."""
    if not channels:
        return None
    with db.transaction() as session:
        return _claim_in(session, db.dialect, channels, now)


_table = cast(sa.Table, OutboxMessage.__table__)


@functools.cache
def _claim_statement(dialect: str) -> sa.Update:
    """``UPDATE … WHERE id = (the next due row of the channels) RETURNING …``, built once (Core: no ORM
    bookkeeping on the hot path)."""
    t = _table
    pick = (
        sa.select(t.c.id)
        .where(t.c.status == OutboxStatus.PENDING, t.c.next_attempt_at <= sa.bindparam("now"),
               t.c.channel.in_(sa.bindparam("channels", expanding=True)))
        # ix_outbox_message_due (status, next_attempt_at, id) serves this order: one index entry per claim.
        .order_by(t.c.next_attempt_at, t.c.id)
        .limit(1)
    )
    if dialect == "postgresql":
        # Another dispatcher's claim in flight is skipped, not waited for; once it commits, the row is
        # `sending` and PostgreSQL's re-check of the WHERE clause excludes it.
        pick = pick.with_for_update(skip_locked=True)
    return (
        sa.update(t)
        .where(t.c.id == pick.scalar_subquery(), t.c.status == OutboxStatus.PENDING)
        # next_attempt_at: the claim time, while sending (see the module docstring)
        .values(status=OutboxStatus.SENDING, attempts=t.c.attempts + 1, next_attempt_at=sa.bindparam("now"))
        .returning(t.c.id, t.c.channel, t.c.recipient, t.c.payload, t.c.attempts)
    )


def _claim_in(session: Session, dialect: str, channels: Collection[OutboxChannel],
              now: dt.datetime) -> Outgoing | None:
    """The claim as one statement (see `_claim_statement`); None when nothing is due."""
    if not channels:
        return None
    claimed = session.connection().execute(
        _claim_statement(dialect), {"now": now, "channels": sorted(channels, key=lambda c: c.value)}
    ).first()
    if claimed is None:
        return None
    return Outgoing(id=claimed.id, channel=OutboxChannel(claimed.channel), recipient=claimed.recipient,
                    payload=dict(claimed.payload), attempts=claimed.attempts)


def _attempt(sender: Sender, message: Outgoing, now: dt.datetime, max_attempts: int,
             rng: random.Random | None) -> _Result:
    try:
        receipt = sender.send(message)
    except Exception as exc:
        error = channel_error(exc)
        if error is None:
            # A bug or a malformed row, not the platform: keep the traceback, and do not guess whether the
            # message went out.
            logger.exception("outbox %s (%s): unexpected error while sending", message.id, message.channel.value)
            return _Result(OutboxStatus.FAILED, f"unexpected error, {OUTCOME_UNKNOWN}: {exc!r}")
        return _apply_policy(error, message, now, max_attempts, rng)
    return _Result(OutboxStatus.SENT, receipt.note)


def _apply_policy(error: ChannelError, message: Outgoing, now: dt.datetime, max_attempts: int,
                  rng: random.Random | None) -> _Result:
    """The error policy of ``bot/channels/errors.py`` turned into the row's next state."""
    where = f"outbox {message.id} ({message.channel.value} to {_masked_recipient(message)})"
    if error.kind is ErrorKind.DAILY_QUOTA:
        reset = next_quota_reset(now)
        logger.warning("%s: daily quota reached (%s); waiting until %s", where, error, reset.astimezone(SHANGHAI))
        note = f"{error} (daily quota; waiting until {reset.astimezone(SHANGHAI):%Y-%m-%d %H:%M} Asia/Shanghai)"
        return _Result(OutboxStatus.PENDING, note, next_attempt_at=reset, quota_reset_at=reset)
    if error.kind.retryable:
        if message.attempts >= max_attempts:
            logger.error("%s: giving up after %s attempts: %s", where, message.attempts, error)
            return _Result(OutboxStatus.FAILED, f"gave up after {message.attempts} attempts: {error}",
                           undelivered=True)
        retry_at = now + backoff(message.attempts, rng=rng)
        logger.info("%s: attempt %s failed (%s); retrying at %s", where, message.attempts, error, retry_at)
        return _Result(OutboxStatus.PENDING, f"{error} (attempt {message.attempts}/{max_attempts})",
                       next_attempt_at=retry_at)
    logger.warning("%s: failed for good: %s", where, error)
    return _Result(OutboxStatus.FAILED, str(error), undelivered=True, errcode=error.errcode)


def _masked_recipient(message: Outgoing) -> str:
    """The recipient as a log line may show it: a customer's openid masked, phones among WeCom userids masked."""
    return mask_recipient(message.recipient, staff=message.channel is OutboxChannel.WECOM_APP)


def _record_with_retries(db: Database, message: Outgoing, result: _Result, now: dt.datetime,
                         delays: Sequence[float], *, claim: Collection[OutboxChannel] = (),
                         claim_at: dt.datetime | None = None) -> tuple[bool, Outgoing | None]:
    """:func:`_record` (with the next claim from ``claim`` at ``claim_at``, in the same transaction), retried
    while the database is unreachable; (False, None) when it never came back, else (True, the claimed row)."""
    pauses = iter(delays)
    while True:
        try:
            return True, _record_and_claim(db, message, result, now, claim, claim_at or now)
        except DATABASE_UNAVAILABLE as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            pause = next(pauses, None)
            if pause is None:
                logger.error("outbox %s: outcome %s could not be recorded, database unavailable (%s); the row "
                             "stays sending until recovery", message.id, result.status.value, reason)
                return False, None
            logger.warning("outbox %s: recording outcome %s failed, database unavailable (%s); retrying in %ss",
                           message.id, result.status.value, reason, pause)
            time.sleep(pause)


def _record_and_claim(db: Database, message: Outgoing, result: _Result, now: dt.datetime,
                      channels: Collection[OutboxChannel], claim_at: dt.datetime) -> Outgoing | None:
    """Write the outcome of the attempt ``message.attempts`` onto its row and, in the same transaction, claim
    the next row from ``channels`` (none when empty): one commit per message instead of two."""
    with db.transaction() as session:
        changed = _record_in(session, message, result, now)
        following = _claim_in(session, db.dialect, channels, claim_at)
    if not changed:
        _not_recorded(message, result)
    return following


def _record_in(session: Session, message: Outgoing, result: _Result, now: dt.datetime) -> int:
    values: dict[str, object] = {"status": result.status, "last_error": _clip(result.last_error)}
    if result.status is OutboxStatus.SENT:
        values["sent_at"] = now
    if result.next_attempt_at is not None:
        values["next_attempt_at"] = result.next_attempt_at
    t = _table
    stmt = sa.update(t).where(t.c.id == message.id)
    if result.status is not OutboxStatus.SENT:
        # Only our own claim: if recovery or an operator moved the row meanwhile, theirs is the newer word.
        # A success is always recorded, because it is the one fact that must stop any resend.
        stmt = stmt.where(t.c.status == OutboxStatus.SENDING, t.c.attempts == message.attempts)
    changed = session.connection().execute(stmt.values(**values)).rowcount
    if changed and result.undelivered and message.payload.get(notify.CASE_MESSAGE):
        # In the transaction that records the failure: a failed row never stands without its call task.
        _call_instead(session, message, result, now)
    return changed


def _not_recorded(message: Outgoing, result: _Result) -> None:
    logger.warning("outbox %s: row changed during the send; outcome %s not recorded", message.id,
                   result.status.value)


def _call_instead(session: Session, message: Outgoing, result: _Result, now: dt.datetime) -> None:
    """A customer message about a case that cannot reach them: a task to phone them (idempotent)."""
    complaint = session.scalar(
        sa.select(Complaint).join(OutboxMessage, OutboxMessage.complaint_id == Complaint.id)
        .where(OutboxMessage.id == message.id)
    )
    if complaint is None:
        return
    try:
        # Two pieces of one long message failing in two workers at once race for the same task key: the
        # loser's insert fails in its savepoint, and the task the winner opened stands.
        with session.begin_nested():
            notify.call_instead(session, complaint, message.payload[notify.CASE_MESSAGE], now=now,
                                cause="undelivered", errcode=result.errcode, error=_clip(result.last_error))
    except sa.exc.IntegrityError:
        logger.info("outbox %s: the call task for this message was opened by another worker", message.id)
        return
    logger.info("outbox %s: undeliverable (%s); task opened to phone the customer of %s", message.id,
                result.errcode, complaint.number)


def recover_stale_sending(db: Database, older_than: dt.timedelta, now: dt.datetime | None = None) -> RecoveryStats:
    """Settle rows left ``sending`` by a dispatcher that died between its claim and its result.

    Template messages go back to the queue (``client_msg_id`` makes WeChat drop a repeat); 客服消息 and
    WeCom messages may or may not have arrived, so they are failed with a ``last_error`` that tells the
    operator to check before resending. ``older_than`` must exceed the longest send (a few timeouts).
    """
    now = now or utcnow()
    cutoff = now - older_than
    stale = sa.and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.next_attempt_at <= cutoff)
    idempotent = OutboxMessage.channel.in_(list(IDEMPOTENT_CHANNELS))
    with db.transaction() as session:
        requeued = cast(sa.CursorResult[tuple[()]], session.execute(
            sa.update(OutboxMessage).where(stale, idempotent).values(
                status=OutboxStatus.PENDING, next_attempt_at=now,
                last_error="dispatcher stopped mid-send; queued again (client_msg_id prevents a duplicate)",
            )
        )).rowcount
        failed = cast(sa.CursorResult[tuple[()]], session.execute(
            sa.update(OutboxMessage).where(stale, ~idempotent).values(
                status=OutboxStatus.FAILED,
                last_error=f"{OUTCOME_UNKNOWN} (dispatcher stopped mid-send; the recipient may have it)",
            )
        )).rowcount
    if requeued or failed:
        logger.warning("outbox recovery: %s stale template messages queued again, %s marked failed (%s)",
                       requeued, failed, OUTCOME_UNKNOWN)
    return RecoveryStats(requeued=requeued, failed=failed)


def _clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= LAST_ERROR_LENGTH else text[: LAST_ERROR_LENGTH - 1] + "…"


__all__ = [
    "OUTCOME_UNKNOWN",
    "DispatchStats",
    "RecoveryStats",
    "claim_next",
    "dispatch_due",
    "recover_stale_sending",
]
