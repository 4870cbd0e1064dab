"""The per-follower row: created once, locked per message, purged when stale, forgotten on unsubscribe."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.intake import lock_state, purge_stale_drafts
from storage.db import Database
from storage.models import Attachment, AttachmentKind, Complaint, IntakeMode, IntakeSession, Source
from tests.conftest import count_rows, run_concurrently
from tests.handlers.test_intake_chat import NOW, QUALITY_ANSWERS, Chat


def test_lock_state_creates_one_row_per_follower(db: Database) -> None:
    for _ in range(2):
        with db.transaction() as s:
            row = lock_state(s, "oState0000000001", NOW)
            assert row.mode == IntakeMode.NONE and row.answers == {}
    assert count_rows(db, IntakeSession) == 1


def test_concurrent_first_messages_create_one_row(db: Database) -> None:
    def first() -> None:
        with db.transaction() as s:
            lock_state(s, "oState0000000002", NOW)

    _, errors = run_concurrently(first, [()] * 8)
    assert errors == []
    assert count_rows(db, IntakeSession) == 1


def test_simultaneous_messages_from_one_follower_apply_one_after_the_other(
    db: Database, company_config: dict[str, Any]
) -> None:
    """Eight photos at the evidence step at the same moment: eight attachments, counted 1 to 8."""
    chat = Chat(db, company_config, openid="oState0000000003")
    chat.send("投诉")
    for answer in QUALITY_ANSWERS:
        chat.send(answer)
    def photo(n: int) -> str:
        return Chat(db, company_config, openid=chat.openid, now=chat.now).image(f"m{n}")

    replies, errors = run_concurrently(photo, [(n,) for n in range(8)])
    assert errors == []
    assert sorted(replies) == sorted(f"已收到第{n}个附件。可以继续发送，发完回复“好了”。" for n in range(1, 9))
    assert "佐证材料：8张图片" in chat.send("好了")


def _old_draft(db: Database, openid: str, *, age: dt.timedelta, mode: IntakeMode = IntakeMode.FILLING) -> None:
    with db.transaction() as s:
        row = lock_state(s, openid, NOW - age)
        row.mode = mode
        row.answers = {"category": ["other"]}
        s.add(Attachment(draft_openid=openid, kind=AttachmentKind.IMAGE, media_id=f"{openid}-img",
                         created_at=NOW - age))


def test_purge_deletes_drafts_older_than_seven_days(db: Database) -> None:
    _old_draft(db, "oStateOld0000001", age=dt.timedelta(days=8))
    _old_draft(db, "oStateOld0000002", age=dt.timedelta(days=8), mode=IntakeMode.NONE)
    _old_draft(db, "oStateNew0000001", age=dt.timedelta(days=6))
    with db.transaction() as s:  # a filed complaint's attachment is never a draft's
        s.add(Complaint(number="26100001", source=Source.WECHAT, received_at=NOW - dt.timedelta(days=30),
                        openid="oStateOld0000001", complainant_name="x", category="other", sla_preset="general"))
        s.flush()
        complaint_id = s.scalar(sa.select(Complaint.id))
        s.add(Attachment(complaint_id=complaint_id, kind=AttachmentKind.IMAGE, media_id="filed",
                         created_at=NOW - dt.timedelta(days=30)))
        # an orphan: a draft attachment whose row is already gone
        s.add(Attachment(draft_openid="oStateGone000001", kind=AttachmentKind.FILE, media_id="orphan",
                         created_at=NOW - dt.timedelta(days=9)))
    with db.transaction() as s:
        assert purge_stale_drafts(s, NOW) == 2
    with db.read_sessions() as s:
        assert list(s.scalars(sa.select(IntakeSession.openid))) == ["oStateNew0000001"]
        assert sorted(s.scalars(sa.select(Attachment.media_id))) == ["filed", "oStateNew0000001-img"]
    with db.transaction() as s:
        assert purge_stale_drafts(s, NOW) == 0, "idempotent"


def test_purge_age_is_a_parameter(db: Database) -> None:
    _old_draft(db, "oStateOld0000003", age=dt.timedelta(days=2))
    with db.transaction() as s:
        assert purge_stale_drafts(s, NOW, older_than=dt.timedelta(days=1)) == 1


@pytest.mark.parametrize("mode", list(IntakeMode))
def test_purge_handles_every_mode(db: Database, mode: IntakeMode) -> None:
    _old_draft(db, "oStateMode000001", age=dt.timedelta(days=10), mode=mode)
    with db.transaction() as s:
        assert purge_stale_drafts(s, NOW) == 1
