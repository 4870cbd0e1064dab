"""The message logs keep followers' texts ``[workflow].message_log_days`` (default 90, at least 1): older
inbound deliveries and dev sink rows are deleted, finished outbox rows lose their text and recipient but keep
their dedupe key; pending, sending and failed outbox rows and recent rows are untouched; a retry within
WeChat's window is still deduplicated. The worker runs it nightly in batches; `tousu records purge` too."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import main
from bot.config import load_settings
from handlers.config import PolicyError, load_policy
from handlers.records import count_message_log, message_log_cutoff, purge_message_log
from scheduler import jobs
from scheduler.jobs import run_message_log_purge
from storage.inbound import claim_inbound, record_reply
from storage.models import DevSinkMessage, InboundChannel, InboundMessage, OutboxChannel, OutboxMessage, OutboxStatus
from storage.outbox import queue_customer_text

NOW = dt.datetime(2026, 11, 23, 19, 47, tzinfo=dt.UTC)  # 03:47 Asia/Shanghai, when the worker runs it
OLD = NOW - dt.timedelta(days=91)
RECENT = NOW - dt.timedelta(days=89)


def _inbound(s, key: str, at: dt.datetime) -> int | None:
    inbound_id = claim_inbound(s, InboundChannel.WECHAT, key, sender="oFOLLOWER000000000000001", msg_type="text",
                               msg_id=None, received_at=at)
    if inbound_id is not None:
        record_reply(s, inbound_id, "您好，王工，您的投诉已受理", "intake")
    return inbound_id


def _outbox(s, key: str, at: dt.datetime, status: OutboxStatus) -> int:
    message = queue_customer_text(s, "oFOLLOWER000000000000001", "王工您好，13900139000 已回电", now=at,
                                  dedupe_key=key)
    assert message is not None
    message.status = status
    s.flush()
    return message.id


def _fill(db) -> dict[str, int]:
    with db.transaction() as s:
        ids = {
            "in-old": _inbound(s, "msg:1", OLD), "in-recent": _inbound(s, "msg:2", RECENT),
            "sent-old": _outbox(s, "wf:1:closed", OLD, OutboxStatus.SENT),
            "cancelled-old": _outbox(s, "wf:2:closed", OLD, OutboxStatus.CANCELLED),
            "failed-old": _outbox(s, "wf:3:closed", OLD, OutboxStatus.FAILED),
            "pending-old": _outbox(s, "wf:4:closed", OLD, OutboxStatus.PENDING),
            "sending-old": _outbox(s, "wf:5:closed", OLD, OutboxStatus.SENDING),
            "sent-recent": _outbox(s, "wf:6:closed", RECENT, OutboxStatus.SENT),
        }
        for name, at in (("sink-old", OLD), ("sink-recent", RECENT)):
            sink = DevSinkMessage(channel=OutboxChannel.WECHAT_CUSTOM, recipient="oFOLLOWER000000000000001",
                                  payload={"text": "王工您好"}, outbox_id=ids["sent-old"], created_at=at)
            s.add(sink)
            s.flush()
            ids[name] = sink.id
    return {k: v for k, v in ids.items() if v is not None}


def _state(db) -> tuple[set[int], dict[int, tuple[str, dict]], set[int]]:
    with db.read_sessions() as s:
        inbound = set(s.scalars(sa.select(InboundMessage.id)))
        outbox = {m.id: (m.recipient, m.payload) for m in s.scalars(sa.select(OutboxMessage))}
        sink = set(s.scalars(sa.select(DevSinkMessage.id)))
    return inbound, outbox, sink


def test_old_texts_go_recent_and_unfinished_rows_stay(db) -> None:
    ids = _fill(db)
    with db.read_sessions() as s:
        counted = count_message_log(s, now=NOW, days=90)
    assert (counted.inbound, counted.outbox, counted.sink) == (1, 2, 1)
    with db.transaction() as s:
        done = purge_message_log(s, now=NOW, days=90)
    assert (done.inbound, done.outbox, done.sink) == (1, 2, 1)
    inbound, outbox, sink = _state(db)
    assert inbound == {ids["in-recent"]}
    assert sink == {ids["sink-recent"]}
    assert set(outbox) == {ids[k] for k in ids if k.startswith(("sent", "cancelled", "failed", "pending", "sending"))}
    for name in ("sent-old", "cancelled-old"):
        assert outbox[ids[name]] == ("", {}), name  # the text and the openid are gone, the row stays
    for name in ("failed-old", "pending-old", "sending-old", "sent-recent"):
        recipient, payload = outbox[ids[name]]
        assert recipient == "oFOLLOWER000000000000001" and "王工" in payload["text"], name
    with db.transaction() as s:
        # The emptied rows keep their dedupe keys: the same closing notice is not queued again.
        assert queue_customer_text(s, "oFOLLOWER000000000000001", "again", now=NOW, dedupe_key="wf:1:closed") is None
        again = purge_message_log(s, now=NOW, days=90)
    assert again.rows == 0, "emptied rows are not counted twice"


def test_a_retry_within_the_window_is_still_deduplicated(db) -> None:
    with db.transaction() as s:
        first = _inbound(s, "msg:42", NOW - dt.timedelta(seconds=10))
    assert first is not None
    with db.transaction() as s:
        purge_message_log(s, now=NOW, days=1)  # the shortest setting allowed
    with db.transaction() as s:
        assert _inbound(s, "msg:42", NOW) is None, "the retry finds the claimed row"


def test_the_setting_is_at_least_a_day_and_checked_at_start_up(company_config) -> None:
    assert load_policy(company_config).workflow.message_log_days == 90
    assert load_policy({}).workflow.message_log_days == 90
    assert load_policy({"workflow": {"message_log_days": 1}}).workflow.message_log_days == 1
    for bad in (0, -5, "90", True):
        with pytest.raises(PolicyError, match=r"^\[workflow\]\.message_log_days: expected a whole number ≥ 1"):
            load_policy({"workflow": {"message_log_days": bad}})
    with pytest.raises(ValueError, match="at least 1"):
        message_log_cutoff(NOW, 0)


def test_the_nightly_job_works_in_batches(db, company_config, monkeypatch) -> None:
    config = copy.deepcopy(company_config)
    config.setdefault("workflow", {})["message_log_days"] = 30
    settings = load_settings(environ={"TOUSU_DEV": "1"}, overrides={"COMPANY": config})
    with db.transaction() as s:
        for n in range(7):
            _inbound(s, f"msg:{n}", NOW - dt.timedelta(days=31, minutes=n))
            _outbox(s, f"wf:{n}:closed", NOW - dt.timedelta(days=31), OutboxStatus.SENT)
        _inbound(s, "msg:new", NOW - dt.timedelta(days=29))
    monkeypatch.setattr(jobs, "MESSAGE_LOG_BATCH", 3)
    seen: list[int] = []
    real = jobs.purge_message_log

    def counted(*args, **kwargs):
        done = real(*args, **kwargs)
        seen.append(done.rows)
        return done

    monkeypatch.setattr(jobs, "purge_message_log", counted)
    total = run_message_log_purge(db, settings, now=NOW)
    assert (total.inbound, total.outbox, total.sink) == (7, 7, 0)
    assert seen == [6, 6, 2], "batches of 3 of each log, each its own transaction, until one comes back short"
    inbound, outbox, _ = _state(db)
    assert len(inbound) == 1 and all(recipient == "" for recipient, _ in outbox.values())


def test_records_purge_command_covers_the_message_logs(db, database_url, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TOUSU_ATTACHMENT_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        _inbound(s, "msg:old", now - dt.timedelta(days=120))
        _inbound(s, "msg:new", now - dt.timedelta(minutes=1))
        _outbox(s, "wf:9:closed", now - dt.timedelta(days=120), OutboxStatus.SENT)
    dry = CliRunner().invoke(main, ["records", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert ("message logs older than 90 days: would delete 1 inbound messages and 0 dev sink messages, "
            "would empty 1 sent messages") in dry.output
    assert len(_state(db)[0]) == 2
    done = CliRunner().invoke(main, ["records", "purge"])
    assert done.exit_code == 0, done.output
    assert "deleted 1 inbound messages and 0 dev sink messages, emptied 1 sent messages" in done.output
    inbound, outbox, _ = _state(db)
    assert len(inbound) == 1 and list(outbox.values()) == [("", {})]
