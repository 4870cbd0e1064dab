"""The per-follower conversation row: locking it, a working copy of it, deleting it.

The locked row is read as plain values (:class:`ConversationRow`), not as an ORM instance: it is read once
per message and written back whole, and loading an ORM instance cost more than the statement itself.

Every customer message locks its sender's ``intake_session`` row before anything is decided, so two
messages from one follower at the same moment are applied one after the other: on PostgreSQL one upsert
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``, safe when two first messages race) creates or locks it
and reads it back; on SQLite every write transaction is already serialised (BEGIN IMMEDIATE, storage/db.py).
The lock is held until the delivery's transaction commits, together with the inbound-message row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.intake.modes import PREVIOUS, ModeEvent, return_slot, target_mode
from handlers.intake.notes import Notes
from storage.models import Attachment, IntakeMode, IntakeSession
from storage.outbox import cancel_pending_for

DEFAULT_PURGE_AFTER = dt.timedelta(days=7)


@dataclass(eq=False)
class ConversationRow:
    """A follower's ``intake_session`` row (see :class:`~storage.models.IntakeSession`) as plain values.

    ``locked_in`` is the session whose transaction holds the row's lock; :meth:`Draft.save` writes through
    it. A row built by hand (tests, previews) has none, and saving it only updates the values here.
    """

    id: int
    openid: str
    mode: IntakeMode
    answers: dict[str, Any]
    displays: dict[str, Any]
    notes: dict[str, Any]
    updated_at: dt.datetime
    step: str | None = None
    started_at: dt.datetime | None = None
    callback_requested_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    locked_in: Session | None = field(default=None, repr=False)


def lock_state(session: Session, openid: str, now: dt.datetime) -> ConversationRow:
    """This follower's row, created if missing and locked for the rest of the transaction.

    One statement on every message: INSERT ... ON CONFLICT DO UPDATE ... RETURNING. The no-op update
    (openid = excluded.openid) is what makes PostgreSQL lock an existing row, so two messages from one
    follower are applied one after the other; it leaves ``updated_at`` alone, which idle detection reads.
    """
    params = {"openid": openid, "updated_at": now, "created_at": now}
    connection = session.connection()
    values = connection.execute(_lock_statement(connection.dialect.name), params).one()._asdict()
    return ConversationRow(**values, locked_in=session)


@cache
def _lock_statement(dialect: str) -> Any:
    """Built once per dialect (building it costs more than running it)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = sa.Table(IntakeSession.__tablename__, IntakeSession.metadata)
    stmt = insert(table).values(
        openid=sa.bindparam("openid"), mode=IntakeMode.NONE.value, answers={}, displays={}, notes={},
        updated_at=sa.bindparam("updated_at"), created_at=sa.bindparam("created_at"),
    )
    stmt = stmt.on_conflict_do_update(index_elements=["openid"], set_={"openid": stmt.excluded.openid})
    return stmt.returning(*table.c)


class Draft:
    """A working copy of a :class:`ConversationRow`; :meth:`save` writes it back (JSON columns replaced whole).

    Handlers change plain dicts and lists (and the typed :class:`~handlers.intake.notes.Notes`) here, and
    change the mode only through :meth:`move`; the row keeps the last saved values, so a fresh
    ``Draft(row)`` starts from what is stored.
    """

    def __init__(self, row: ConversationRow) -> None:
        self.row = row
        self.openid = row.openid
        self.mode = IntakeMode(row.mode)
        self.step: str | None = row.step
        self.answers: dict[str, Any] = dict(row.answers or {})
        self.displays: dict[str, str] = {k: str(v) for k, v in (row.displays or {}).items()}
        self.notes = Notes.from_json(row.notes)
        self.started_at = row.started_at
        self.callback_requested_at = row.callback_requested_at
        self.last_seen = row.updated_at

    @property
    def has_draft(self) -> bool:
        """True while a complaint is being filled in (or its summary shown, or resume offered)."""
        return self.mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME) or (
            self.mode is IntakeMode.CALLBACK_PHONE
            and self.notes.return_mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME)
        )

    def move(self, event: ModeEvent) -> IntakeMode:
        """Change the mode as the table (handlers/intake/modes.py) says; returns the new mode.

        Entering an interrupting mode (人工's phone question, the idle offer) keeps the mode it interrupted;
        ``RETURN`` goes back to it. Raises IllegalModeChange for a move the table does not have.
        """
        target = target_mode(self.mode, event)
        leaving = return_slot(self.mode)
        if target == PREVIOUS and leaving is not None:
            name, default = leaving
            target = getattr(self.notes, name) or default
        mode = IntakeMode(target)
        entering = return_slot(mode)
        interrupted = entering is not None and event is not ModeEvent.RETURN
        if leaving is not None and not interrupted:  # left for good (not interrupted once more)
            setattr(self.notes, leaving[0], None)
        if interrupted and entering is not None:
            setattr(self.notes, entering[0], self.mode)
        self.mode = mode
        return mode

    def reset(self, *, keep_callback: bool = False) -> None:
        """Back to nothing pending (the row itself stays: it is the lock).

        ``keep_callback`` keeps a 人工 request made without a draft (its time and phone number), so the
        console can list it and a complaint started soon after carries it.
        """
        callback_at = self.callback_requested_at if keep_callback else None
        callback_phone = self.notes.callback_phone if keep_callback else None
        self.move(ModeEvent.RESET)
        self.step = None
        self.answers = {}
        self.displays = {}
        self.notes = Notes(callback_phone=callback_phone if callback_at else None)
        self.started_at = None
        self.callback_requested_at = callback_at

    def save(self, now: dt.datetime) -> None:
        """Write the draft back (one UPDATE, run now, in the transaction that holds the row's lock), and
        keep the saved values on the row."""
        values: dict[str, Any] = {
            "mode": self.mode, "step": self.step, "answers": dict(self.answers),
            "displays": dict(self.displays), "notes": self.notes.to_json(), "started_at": self.started_at,
            "callback_requested_at": self.callback_requested_at, "updated_at": now,
        }
        if self.row.locked_in is not None:
            self.row.locked_in.connection().execute(_save_statement(), {"row_id": self.row.id, **values})
        for key, value in values.items():
            setattr(self.row, key, value)


@cache
def _save_statement() -> Any:
    table = sa.Table(IntakeSession.__tablename__, IntakeSession.metadata)
    columns = ("mode", "step", "answers", "displays", "notes", "started_at", "callback_requested_at", "updated_at")
    return (
        sa.update(table).where(table.c.id == sa.bindparam("row_id"))
        .values({name: sa.bindparam(name, type_=table.c[name].type) for name in columns})
    )


def draft_attachments(session: Session, openid: str) -> list[Attachment]:
    return list(
        session.scalars(
            sa.select(Attachment)
            .where(Attachment.draft_openid == openid, Attachment.complaint_id.is_(None))
            .order_by(Attachment.id)
        )
    )


def delete_draft_attachments(session: Session, openid: str) -> int:
    result = session.execute(
        sa.delete(Attachment)
        .where(Attachment.draft_openid == openid, Attachment.complaint_id.is_(None))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_customer(session: Session, openid: str) -> None:
    """Unsubscribe (取消关注): drop the draft, the conversation row and unsent customer messages.

    Filed complaints are business records under the retention rule and stay (WECHAT.md).
    """
    delete_draft_attachments(session, openid)
    session.execute(
        sa.delete(IntakeSession).where(IntakeSession.openid == openid).execution_options(synchronize_session=False)
    )
    cancel_pending_for(session, openid)


def purge_stale_drafts(session: Session, now: dt.datetime, *, older_than: dt.timedelta = DEFAULT_PURGE_AFTER) -> int:
    """Delete conversation rows (with their drafts and draft attachments) untouched for ``older_than``.

    Returns how many rows were deleted. For the scheduler (daily is enough); safe to run while
    messages arrive: a row a message touched in the meantime no longer matches and is kept.
    """
    cutoff = now - older_than
    openids = list(
        session.scalars(
            sa.delete(IntakeSession)
            .where(IntakeSession.updated_at < cutoff)
            .returning(IntakeSession.openid)
            .execution_options(synchronize_session=False)
        )
    )
    for start in range(0, len(openids), 500):
        chunk = openids[start : start + 500]
        session.execute(
            sa.delete(Attachment)
            .where(Attachment.draft_openid.in_(chunk), Attachment.complaint_id.is_(None))
            .execution_options(synchronize_session=False)
        )
    # Draft attachments whose conversation row is already gone (e.g. an earlier crash) go too.
    session.execute(
        sa.delete(Attachment)
        .where(
            Attachment.complaint_id.is_(None),
            Attachment.draft_openid.is_not(None),
            Attachment.created_at < cutoff,
            ~sa.exists().where(IntakeSession.openid == Attachment.draft_openid),
        )
        .execution_options(synchronize_session=False)
    )
    return len(openids)
