"""The outbox dispatcher and the scheduler, on a real database, against the fake WeChat server over HTTP."""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.channels import Channels, Outgoing, Receipt, Sender
from bot.channels.errors import next_quota_reset
from bot.channels.sink import DevSink, build_channels
from bot.channels.wechat import OfficialAccountClient, OfficialAccountSender
from bot.channels.wecom import WeComClient, WeComSender
from scheduler import JOB_DEFAULTS, TIMEZONE, build_scheduler, register_job
from scheduler.outbox import OUTCOME_UNKNOWN, dispatch_due, recover_stale_sending
from storage.db import Database
from storage.models import DevSinkMessage, OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import queue_message
from tests.conftest import run_concurrently
from tests.fakes.fake_wechat import (
    CUSTOM_SEND,
    FAKE_AGENT_ID,
    TEMPLATE_SEND,
    TOKEN,
    WECOM_SEND,
    FakeWeChat,
    fake_settings,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)

NOW = dt.datetime(2025, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
OPENID = "oCUSTOMER000000000000000001"
TEMPLATE = {"template_id": "TPL-ACCEPTED", "data": {"thing1": {"value": "投诉已受理"}}, "url": "https://e.x/c/1"}


def real_channels(fake: FakeWeChat, timeout: float = 2.0) -> Channels:
    oa = OfficialAccountSender(OfficialAccountClient(fake.appid, fake.secret, base_url=fake.url, timeout=timeout))
    wecom = WeComSender(WeComClient(fake.corp_id, fake.corp_secret, FAKE_AGENT_ID, base_url=fake.url,
                                    timeout=timeout))
    return {OutboxChannel.WECHAT_CUSTOM: oa, OutboxChannel.WECHAT_TEMPLATE: oa, OutboxChannel.WECOM_APP: wecom}


def queue(db: Database, channel: OutboxChannel = OutboxChannel.WECHAT_CUSTOM, recipient: str = OPENID,
          payload: dict[str, Any] | None = None, *, due: dt.datetime = NOW - dt.timedelta(minutes=1)) -> int:
    with db.transaction() as session:
        row = queue_message(session, channel, recipient, payload or {"text": "您的投诉已受理"}, now=due)
        assert row is not None
        return row.id


def load(db: Database, message_id: int) -> OutboxMessage:
    with db.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


# -- delivery ------------------------------------------------------------------------------------------


def test_custom_message_is_sent(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)

    stats = dispatch_due(db, real_channels(fake_wechat), now=NOW)

    assert (stats.sent, stats.attempted) == (1, 1)
    row = load(db, message_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.SENT, 1, NOW, None)
    assert [c.body["text"]["content"] for c in fake_wechat.deliveries] == ["您的投诉已受理"]


def test_rows_not_yet_due_or_not_pending_are_left_alone(db: Database, fake_wechat: FakeWeChat) -> None:
    later = queue(db, due=NOW + dt.timedelta(seconds=1))
    cancelled = queue(db)
    with db.transaction() as session:
        session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == cancelled)
                        .values(status=OutboxStatus.CANCELLED))

    assert dispatch_due(db, real_channels(fake_wechat), now=NOW).attempted == 0
    assert load(db, later).status is OutboxStatus.PENDING
    assert fake_wechat.calls == []


def test_only_channels_with_a_sender_are_claimed(db: Database, fake_wechat: FakeWeChat) -> None:
    staff = queue(db, OutboxChannel.WECOM_APP, "zhangsan", {"text": "新投诉"})
    customer = queue(db)
    channels = real_channels(fake_wechat)
    only_customers: Channels = {k: v for k, v in channels.items() if k is not OutboxChannel.WECOM_APP}

    dispatch_due(db, only_customers, now=NOW)

    assert load(db, customer).status is OutboxStatus.SENT
    staff_row = load(db, staff)
    assert (staff_row.status, staff_row.attempts) == (OutboxStatus.PENDING, 0)


def test_template_row_is_sent_with_its_client_msg_id(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db, OutboxChannel.WECHAT_TEMPLATE, payload=TEMPLATE)
    dispatch_due(db, real_channels(fake_wechat), now=NOW)
    assert load(db, message_id).status is OutboxStatus.SENT
    assert fake_wechat.calls_to(TEMPLATE_SEND)[0].body["client_msg_id"] == f"tousu-{message_id}"


def test_outside_the_48h_window_falls_back_to_the_template(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db, payload={"text": "您的投诉已办结", "template": TEMPLATE})
    fake_wechat.fail_next(CUSTOM_SEND, 45015, "response out of time limit")

    stats = dispatch_due(db, real_channels(fake_wechat), now=NOW)

    row = load(db, message_id)
    assert (stats.sent, row.status, row.attempts) == (1, OutboxStatus.SENT, 1)
    assert row.last_error is not None and row.last_error.startswith("45015")
    [delivery] = fake_wechat.deliveries
    assert delivery.path == TEMPLATE_SEND
    assert delivery.body["client_msg_id"] == f"tousu-{message_id}"
    assert delivery.body["template_id"] == "TPL-ACCEPTED"


def test_outside_the_window_without_template_fails(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    fake_wechat.fail_next(CUSTOM_SEND, 45015)

    assert dispatch_due(db, real_channels(fake_wechat), now=NOW).failed == 1

    row = load(db, message_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("45015")


def test_busy_is_retried_with_backoff_then_sent(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    fake_wechat.fail_next(CUSTOM_SEND, -1, "system error")
    channels = real_channels(fake_wechat)

    assert dispatch_due(db, channels, now=NOW).retried == 1
    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert NOW + dt.timedelta(seconds=15) <= row.next_attempt_at <= NOW + dt.timedelta(seconds=30)
    assert row.last_error is not None and row.last_error.startswith("-1")

    assert dispatch_due(db, channels, now=NOW + dt.timedelta(seconds=5)).attempted == 0  # still backing off

    assert dispatch_due(db, channels, now=row.next_attempt_at).sent == 1
    row = load(db, message_id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, None)
    assert len(fake_wechat.calls_to(CUSTOM_SEND)) == 2
    assert len(fake_wechat.deliveries) == 1


def test_backoff_doubles_and_gives_up_after_max_attempts(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    fake_wechat.fail_next(CUSTOM_SEND, -1, times=10)
    channels = real_channels(fake_wechat)
    now, delays = NOW, []
    for _ in range(3):
        dispatch_due(db, channels, now=now, max_attempts=4, rng=random.Random(1))
        row = load(db, message_id)
        delays.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert delays[0] < delays[1] < delays[2]

    assert dispatch_due(db, channels, now=now, max_attempts=4).failed == 1
    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 4)
    assert row.last_error is not None and row.last_error.startswith("gave up after 4 attempts: -1")


def test_expired_token_is_refreshed_once_within_the_same_attempt(db: Database, fake_wechat: FakeWeChat) -> None:
    channels = real_channels(fake_wechat)
    queue(db)
    dispatch_due(db, channels, now=NOW)
    fake_wechat.expire_tokens()
    message_id = queue(db)

    assert dispatch_due(db, channels, now=NOW).sent == 1

    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
    assert len(fake_wechat.calls_to(TOKEN)) == 2
    assert len(fake_wechat.deliveries) == 2


def test_a_token_still_rejected_after_the_refresh_is_retried_later(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    fake_wechat.fail_next(CUSTOM_SEND, 40001, times=2)

    assert dispatch_due(db, real_channels(fake_wechat), now=NOW).retried == 1

    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert row.next_attempt_at > NOW
    assert len(fake_wechat.calls_to(CUSTOM_SEND)) == 2  # the call and its one retry
    assert len(fake_wechat.calls_to(TOKEN)) == 2  # the first fetch and one refresh


def test_daily_quota_defers_the_channel_until_shanghai_midnight(db: Database, fake_wechat: FakeWeChat) -> None:
    first = queue(db, due=NOW - dt.timedelta(minutes=2))
    second = queue(db)
    staff = queue(db, OutboxChannel.WECOM_APP, "zhangsan", {"text": "新投诉"})
    fake_wechat.fail_next(CUSTOM_SEND, 45009, "api freq out of limit")

    stats = dispatch_due(db, real_channels(fake_wechat), now=NOW)

    assert (stats.deferred, stats.sent) == (1, 1)
    row = load(db, first)
    assert row.status is OutboxStatus.PENDING
    assert row.next_attempt_at == next_quota_reset(NOW) == dt.datetime(2025, 3, 10, 16, 0, tzinfo=dt.UTC)
    assert row.last_error is not None and row.last_error.startswith("45009")
    untouched = load(db, second)  # the quota is the account's: no call wasted on the next row
    assert (untouched.status, untouched.attempts) == (OutboxStatus.PENDING, 0)
    assert load(db, staff).status is OutboxStatus.SENT  # other channels carry on
    assert len(fake_wechat.calls_to(CUSTOM_SEND)) == 1


@pytest.mark.parametrize("errcode", [45047, 43004, 43101, 40003, 40037, 47003])
def test_permanent_errors_fail_with_the_code(db: Database, fake_wechat: FakeWeChat, errcode: int) -> None:
    message_id = queue(db, payload={"text": "您好", "template": TEMPLATE})
    fake_wechat.fail_next(CUSTOM_SEND, errcode)

    assert dispatch_due(db, real_channels(fake_wechat), now=NOW).failed == 1

    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error is not None and row.last_error.startswith(str(errcode))
    assert fake_wechat.calls_to(TEMPLATE_SEND) == []  # only 45015 falls back


def test_timeout_is_retried(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    channels = real_channels(fake_wechat, timeout=0.3)
    fake_wechat.delay(1.5, path=CUSTOM_SEND, times=1)

    assert dispatch_due(db, channels, now=NOW).retried == 1
    row = load(db, message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.last_error is not None and "timeout" in row.last_error

    assert dispatch_due(db, channels, now=row.next_attempt_at).sent == 1
    assert load(db, message_id).attempts == 2


def test_connection_refused_is_retried(db: Database) -> None:
    message_id = queue(db)
    oa = OfficialAccountSender(OfficialAccountClient("wxapp", "secret", base_url="http://127.0.0.1:9", timeout=1))

    assert dispatch_due(db, {OutboxChannel.WECHAT_CUSTOM: oa}, now=NOW).retried == 1
    row = load(db, message_id)
    assert row.status is OutboxStatus.PENDING
    assert row.last_error is not None and "network error" in row.last_error


def test_wecom_invalid_users_are_recorded_on_a_sent_row(db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.invalid_wecom_users = {"left"}
    message_id = queue(db, OutboxChannel.WECOM_APP, "zhangsan|left",
                       {"text": "投诉 TS1 待处理", "title": "新投诉", "url": "https://e.x/c/1"})

    dispatch_due(db, real_channels(fake_wechat), now=NOW)

    row = load(db, message_id)
    assert (row.status, row.last_error) == (OutboxStatus.SENT, "invaliduser: left")
    assert fake_wechat.calls_to(WECOM_SEND)[0].body["msgtype"] == "textcard"


def test_wecom_all_invalid_fails(db: Database, fake_wechat: FakeWeChat) -> None:
    fake_wechat.invalid_wecom_users = {"ghost"}
    message_id = queue(db, OutboxChannel.WECOM_APP, "ghost", {"text": "新投诉"})
    dispatch_due(db, real_channels(fake_wechat), now=NOW)
    row = load(db, message_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("81013")


class Exploding:
    def send(self, message: Outgoing) -> Receipt:
        raise RuntimeError("a bug in a sender")


def test_an_unexpected_error_fails_the_row_and_the_batch_goes_on(db: Database, fake_wechat: FakeWeChat,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    broken = queue(db, OutboxChannel.WECOM_APP, "zhangsan", {"text": "新投诉"})
    fine = queue(db)
    channels = {**real_channels(fake_wechat), OutboxChannel.WECOM_APP: Exploding()}

    with caplog.at_level(logging.ERROR, logger="tousu.scheduler.outbox"):
        stats = dispatch_due(db, channels, now=NOW)

    assert (stats.failed, stats.sent) == (1, 1)
    row = load(db, broken)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and OUTCOME_UNKNOWN in row.last_error
    assert load(db, fine).status is OutboxStatus.SENT
    assert "a bug in a sender" in caplog.text


# -- never twice ---------------------------------------------------------------------------------------


class SimulatedCrash(BaseException):
    """The process dies (SIGKILL, OOM) after WeChat got the message and before the result was written."""


class CrashAfterSend:
    def __init__(self, inner: Sender) -> None:
        self.inner = inner

    def send(self, message: Outgoing) -> Receipt:
        self.inner.send(message)
        raise SimulatedCrash


def test_a_crash_after_the_call_never_leads_to_a_second_send(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    channels = real_channels(fake_wechat)
    crashing = {**channels, OutboxChannel.WECHAT_CUSTOM: CrashAfterSend(channels[OutboxChannel.WECHAT_CUSTOM])}

    with pytest.raises(SimulatedCrash):
        dispatch_due(db, crashing, now=NOW)

    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
    assert len(fake_wechat.deliveries) == 1

    # The restarted worker, even much later, does not send it again...
    assert dispatch_due(db, channels, now=NOW + dt.timedelta(hours=1)).attempted == 0
    assert len(fake_wechat.deliveries) == 1

    # ...and recovery hands it to a person instead.
    stats = recover_stale_sending(db, dt.timedelta(minutes=10), now=NOW + dt.timedelta(minutes=11))
    assert (stats.requeued, stats.failed) == (0, 1)
    row = load(db, message_id)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith(OUTCOME_UNKNOWN)
    assert dispatch_due(db, channels, now=NOW + dt.timedelta(hours=2)).attempted == 0
    assert len(fake_wechat.calls_to(CUSTOM_SEND)) == 1


class DatabaseOutageAfterSend:
    """The database goes away the moment WeChat has the message: the next ``statements`` statements fail.

    Installed on the engine (where the driver would raise), armed by the fake server's first delivery, so
    the claim before the call works and only recording its outcome meets the outage.
    """

    def __init__(self, db: Database, fake: FakeWeChat, statements: int) -> None:
        self.db, self.fake, self.left = db, fake, statements
        self.failed = 0

    def __enter__(self) -> DatabaseOutageAfterSend:
        sa.event.listen(self.db.engine, "before_cursor_execute", self._fail)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.db.engine, "before_cursor_execute", self._fail)

    def _fail(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.fake.deliveries and self.left > 0:
            self.left -= 1
            self.failed += 1
            raise sa.exc.OperationalError(statement, parameters, Exception("server closed the connection"))


def test_an_outcome_is_recorded_once_the_database_is_back(db: Database, fake_wechat: FakeWeChat,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    message_id = queue(db)

    with DatabaseOutageAfterSend(db, fake_wechat, statements=2) as outage, \
            caplog.at_level(logging.WARNING, logger="tousu.scheduler.outbox"):
        stats = dispatch_due(db, real_channels(fake_wechat), now=NOW, record_retry_delays=(0.01, 0.02, 0.04))

    assert outage.failed == 2
    assert stats.sent == 1
    row = load(db, message_id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (OutboxStatus.SENT, 1, NOW, None)
    assert len(fake_wechat.deliveries) == 1
    retries = [r for r in caplog.records if "recording outcome sent failed" in r.getMessage()]
    assert len(retries) == 2 and "server closed the connection" in retries[0].getMessage()
    # Recovery has nothing to sort out: the row is not left `sending`.
    assert recover_stale_sending(db, dt.timedelta(minutes=10), now=NOW + dt.timedelta(minutes=11)).failed == 0


def test_an_outcome_never_recorded_ends_the_batch_and_is_left_to_recovery(db: Database, fake_wechat: FakeWeChat,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    first = queue(db)
    second = queue(db, recipient="oCUSTOMER000000000000000002")

    with DatabaseOutageAfterSend(db, fake_wechat, statements=1000) as outage, \
            caplog.at_level(logging.WARNING, logger="tousu.scheduler.outbox"):
        stats = dispatch_due(db, real_channels(fake_wechat), now=NOW, record_retry_delays=(0.01, 0.02))

    assert outage.failed == 3, "one attempt and two retries, then the batch stops instead of claiming more"
    assert stats.attempted == 0
    assert len(fake_wechat.deliveries) == 1
    assert (load(db, first).status, load(db, second).status) == (OutboxStatus.SENDING, OutboxStatus.PENDING)
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING, logging.ERROR]
    assert "stays sending until recovery" in caplog.records[-1].getMessage()


def test_dispatcher_log_lines_mask_recipients(db: Database, fake_wechat: FakeWeChat,
                                             caplog: pytest.LogCaptureFixture) -> None:
    queue(db)
    queue(db, OutboxChannel.WECOM_APP, "13800138000|zhangsan", {"text": "新投诉"})
    fake_wechat.fail_next(CUSTOM_SEND, -1, "system error")
    fake_wechat.fail_next(WECOM_SEND, 45009, "reach max api daily quota limit")

    with caplog.at_level(logging.DEBUG):
        stats = dispatch_due(db, real_channels(fake_wechat), now=NOW)
        dispatch_due(db, build_channels(fake_settings(fake_wechat, WECHAT_SECRET=None, WECOM_SECRET=None), db),
                     now=NOW + dt.timedelta(days=2))

    assert (stats.retried, stats.deferred) == (1, 1)
    assert OPENID not in caplog.text and "13800138000" not in caplog.text
    assert "oCUS…0001" in caplog.text and "138****8000|zhangsan" in caplog.text


def test_a_stale_template_message_is_requeued_and_not_delivered_twice(db: Database,
                                                                     fake_wechat: FakeWeChat) -> None:
    message_id = queue(db, OutboxChannel.WECHAT_TEMPLATE, payload=TEMPLATE)
    channels = real_channels(fake_wechat)
    crashing = {**channels,
                OutboxChannel.WECHAT_TEMPLATE: CrashAfterSend(channels[OutboxChannel.WECHAT_TEMPLATE])}
    with pytest.raises(SimulatedCrash):
        dispatch_due(db, crashing, now=NOW)

    stats = recover_stale_sending(db, dt.timedelta(minutes=10), now=NOW + dt.timedelta(minutes=11))
    assert (stats.requeued, stats.failed) == (1, 0)
    assert load(db, message_id).status is OutboxStatus.PENDING

    assert dispatch_due(db, channels, now=NOW + dt.timedelta(minutes=11)).sent == 1
    row = load(db, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert len(fake_wechat.calls_to(TEMPLATE_SEND)) == 2  # the repeat was sent with the same client_msg_id
    assert len(fake_wechat.deliveries) == 1  # ...so WeChat delivered it once


def test_recovery_leaves_recent_sending_rows_alone(db: Database, fake_wechat: FakeWeChat) -> None:
    message_id = queue(db)
    channels = real_channels(fake_wechat)
    with pytest.raises(SimulatedCrash):
        dispatch_due(db, {OutboxChannel.WECHAT_CUSTOM: CrashAfterSend(channels[OutboxChannel.WECHAT_CUSTOM])},
                     now=NOW)
    stats = recover_stale_sending(db, dt.timedelta(minutes=10), now=NOW + dt.timedelta(minutes=9))
    assert (stats.requeued, stats.failed) == (0, 0)
    assert load(db, message_id).status is OutboxStatus.SENDING


def test_two_dispatchers_at_once_never_send_a_row_twice(db: Database, fake_wechat: FakeWeChat) -> None:
    """Two workers (threads with their own clients and connections) racing over the same queue.

    On PostgreSQL this exercises FOR UPDATE SKIP LOCKED; on SQLite, BEGIN IMMEDIATE serialising the claims.
    """
    count = 40
    ids = {queue(db, recipient=f"oCUSTOMER{n:019d}", payload={"text": f"消息 {n}"}) for n in range(count)}
    fake_wechat.delay(0.005, path=CUSTOM_SEND)  # keep each send in flight long enough to interleave
    def worker() -> int:
        channels = real_channels(fake_wechat)
        sent = 0
        while (stats := dispatch_due(db, channels, now=NOW, limit=5)).attempted:
            sent += stats.sent
        return sent

    results, errors = run_concurrently(worker, [()] * 2)
    assert errors == []
    assert sum(results) == count
    sends = fake_wechat.calls_to(CUSTOM_SEND)
    assert len(sends) == count
    assert len({c.body["touser"] for c in sends}) == count
    with db.sessions() as session:
        rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids))).all()
        assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.SENT, 1)}
    # Both workers really took part (each fetched its own token in this test: separate memory storage).
    assert len(fake_wechat.calls_to(TOKEN)) == 2
    assert len({c.access_token for c in sends}) == 2


# -- dev sink ------------------------------------------------------------------------------------------


def test_dev_sink_records_every_message_and_calls_nothing(db: Database, fake_wechat: FakeWeChat) -> None:
    settings = fake_settings(fake_wechat, WECHAT_SECRET=None, WECOM_SECRET=None)
    assert not settings.outbound_enabled
    custom = queue(db, payload={"text": "您的投诉已受理"})
    template = queue(db, OutboxChannel.WECHAT_TEMPLATE, payload=TEMPLATE)
    staff = queue(db, OutboxChannel.WECOM_APP, "zhangsan|lisi", {"text": "新投诉"})

    stats = dispatch_due(db, build_channels(settings, db), now=NOW)

    assert stats.sent == 3
    assert fake_wechat.calls == []
    with db.sessions() as session:
        sunk = {m.outbox_id: m for m in session.scalars(sa.select(DevSinkMessage))}
    assert set(sunk) == {custom, template, staff}
    assert sunk[custom].payload == {"text": "您的投诉已受理"}
    assert (sunk[staff].channel, sunk[staff].recipient) == (OutboxChannel.WECOM_APP, "zhangsan|lisi")
    assert load(db, custom).last_error == "dev sink: not sent to any platform"


def test_wecom_alone_goes_to_the_sink_without_wecom_credentials(db: Database, fake_wechat: FakeWeChat) -> None:
    queue(db)
    staff = queue(db, OutboxChannel.WECOM_APP, "zhangsan", {"text": "新投诉"})
    dispatch_due(db, build_channels(fake_settings(fake_wechat, WECOM_SECRET=None), db), now=NOW)
    assert [c.path for c in fake_wechat.deliveries] == [CUSTOM_SEND]
    with db.sessions() as session:
        assert session.scalars(sa.select(DevSinkMessage.outbox_id)).all() == [staff]


# -- the scheduler -------------------------------------------------------------------------------------


def test_build_scheduler_registers_the_outbox_jobs(db: Database, fake_wechat: FakeWeChat) -> None:
    settings = fake_settings(fake_wechat, WECHAT_SECRET=None, WECOM_SECRET=None)
    scheduler = build_scheduler(db, settings)

    assert isinstance(scheduler, BackgroundScheduler)
    assert not scheduler.running
    assert str(scheduler.timezone) == str(TIMEZONE) == "Asia/Shanghai"
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"outbox-dispatch", "outbox-recover-stale", "sla-sweep", "survey-sweep", "intake-draft-purge",
                         "evidence-orphan-sweep", "message-log-purge", "overdue-digest", "monthly-report"}
    # (no evidence download without an AppSecret: tests/scheduler/test_jobs.py)
    assert jobs["outbox-dispatch"].trigger.interval == dt.timedelta(seconds=5)
    assert jobs["outbox-recover-stale"].trigger.interval == dt.timedelta(minutes=10)
    assert JOB_DEFAULTS["coalesce"] is True and JOB_DEFAULTS["max_instances"] == 1

    message_id = queue(db)
    jobs["outbox-dispatch"].func()  # what the scheduler runs every 5 s
    assert load(db, message_id).status is OutboxStatus.SENT
    assert fake_wechat.calls == []

    assert isinstance(build_scheduler(db, settings, blocking=True), BlockingScheduler)


def test_started_scheduler_applies_job_defaults_and_stops(db: Database, fake_wechat: FakeWeChat) -> None:
    scheduler = build_scheduler(db, fake_settings(fake_wechat), channels={OutboxChannel.WECOM_APP: DevSink(db)})
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("outbox-dispatch")
        assert (job.coalesce, job.max_instances) == (True, 1)
    finally:
        scheduler.shutdown(wait=False)
    assert fake_wechat.calls == []


def test_register_job_replaces_a_job_with_the_same_id(db: Database, fake_wechat: FakeWeChat) -> None:
    scheduler = build_scheduler(db, fake_settings(fake_wechat, WECHAT_SECRET=None))
    register_job(scheduler, print, "interval", id="sla-sweep", minutes=1)
    register_job(scheduler, print, "interval", id="sla-sweep", minutes=2)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("sla-sweep")
        assert job.trigger.interval == dt.timedelta(minutes=2)
        assert job.name == "sla-sweep"
    finally:
        scheduler.shutdown(wait=False)
