"""The draft's typed notes and the intake mode table (handlers/intake/notes.py, handlers/intake/modes.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.intake import ConversationRow, Draft
from handlers.intake.modes import MODE_CHANGES, IllegalModeChange, ModeEvent, target_mode
from handlers.intake.notes import Notes, Retries
from storage.db import Database
from storage.models import IntakeMode, IntakeSession
from tests.handlers.test_intake_chat import NOW, Chat

M = IntakeMode
E = ModeEvent

#: Notes as the previous version (a plain dict in the JSON column) stored them.
OLD_NOTES: dict[str, Any] = {
    "offer_text": "铝板有划痕", "offer_at": "2026-11-23T02:00:00+00:00", "return_mode": "summary",
    "resume_mode": "filling", "callback_phone": "+8613800138000", "editing": "batch",
    "retries": {"step": "phone", "count": 2}, "previous": {"batch": "2311-08"}, "description_seed": "表面有划痕",
    "summary_keys": ["category", "phone"], "faq_ids": [3, 1],
}


def row(mode: IntakeMode = M.FILLING, notes: Any = None) -> ConversationRow:
    return ConversationRow(id=1, openid="oModes0000000001", mode=mode, answers={}, displays={}, notes=notes or {},
                           updated_at=NOW)


# -- notes -----------------------------------------------------------------------------------------------------

def test_notes_stored_by_the_previous_version_load_typed_and_save_under_the_same_keys() -> None:
    notes = Notes.from_json(OLD_NOTES)
    assert notes == Notes(
        offer_text="铝板有划痕", offer_at=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC), return_mode=M.SUMMARY,
        resume_mode=M.FILLING, callback_phone="+8613800138000", editing="batch", retries=Retries("phone", 2),
        previous={"batch": "2311-08"}, description_seed="表面有划痕", summary_keys=["category", "phone"],
        faq_ids=[3, 1],
    )
    assert notes.to_json() == OLD_NOTES


@pytest.mark.parametrize("raw", [
    None, {}, {"no_such_key": 1, "seen_hint": True},
    {"return_mode": "no_such_mode", "offer_at": "yesterday", "retries": "3", "previous": ["x"],
     "summary_keys": "category", "faq_ids": ["a", None, True], "editing": 7, "offer_text": ["x"]},
])
def test_unknown_keys_and_values_of_the_wrong_shape_read_as_nothing_noted(raw: Any) -> None:
    assert Notes.from_json(raw) == Notes()
    assert Notes().to_json() == {}


def test_an_offer_time_without_zone_is_utc_and_retries_without_count_start_at_zero() -> None:
    notes = Notes.from_json({"offer_at": "2026-11-23T02:00:00", "retries": {"step": "phone"}})
    assert notes.offer_at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    assert notes.retries == Retries("phone", 0)


def test_a_draft_waiting_for_a_callback_phone_saved_by_the_previous_version_carries_on(
    db: Database, company_config: dict[str, Any],
) -> None:
    """A row written by the old code (notes a plain dict, unknown key included) is answered as before."""
    chat = Chat(db, company_config, openid="oModes0000000002")
    chat.send("投诉")
    chat.send("1")  # 产品质量: now at 单位/姓名
    with db.transaction() as s:
        s.execute(sa.update(IntakeSession).where(IntakeSession.openid == chat.openid).values(
            mode=M.CALLBACK_PHONE, notes={"return_mode": "filling", "retries": {"step": "complainant_name",
                                                                                "count": 1}, "legacy": "x"}))
    reply = chat.send("13800138000")
    assert "已为您登记人工回电" in reply and "单位" in reply
    state = chat.state()
    assert state is not None and state.mode == M.FILLING
    assert "legacy" not in state.notes and "return_mode" not in state.notes


# -- the mode table --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "event", "expected"), [
    (M.NONE, E.START, M.FILLING), (M.NONE, E.OFFER, M.OFFER), (M.NONE, E.OPEN_FAQ, M.FAQ_MENU),
    (M.FILLING, E.SHOW_SUMMARY, M.SUMMARY), (M.SUMMARY, E.ASK, M.FILLING), (M.FILLING, E.IDLE, M.RESUME),
    (M.SUMMARY, E.IDLE, M.RESUME), (M.SUMMARY, E.CALLBACK, M.CALLBACK_PHONE), (M.NONE, E.CALLBACK, M.CALLBACK_PHONE),
    (M.RESUME, E.CALLBACK, M.CALLBACK_PHONE), (M.OFFER, E.RESET, M.NONE), (M.CALLBACK_PHONE, E.RESET, M.NONE),
])
def test_the_moves_the_conversation_makes(mode: IntakeMode, event: ModeEvent, expected: IntakeMode) -> None:
    assert target_mode(mode, event) == expected


@pytest.mark.parametrize(("mode", "event"), [
    (M.FILLING, E.START), (M.OFFER, E.ASK), (M.NONE, E.SHOW_SUMMARY), (M.RESUME, E.IDLE), (M.NONE, E.RETURN),
    (M.FILLING, E.RETURN), (M.CALLBACK_PHONE, E.CALLBACK), (M.FAQ_MENU, E.ASK), (M.OFFER, E.CALLBACK),
])
def test_an_illegal_move_raises_naming_mode_and_event(mode: IntakeMode, event: ModeEvent) -> None:
    draft = Draft(row(mode))
    with pytest.raises(IllegalModeChange, match=f"no move '{event.value}' from mode '{mode.value}'"):
        draft.move(event)
    assert draft.mode is mode, "a refused move changes nothing"


def test_every_mode_can_be_reset_and_only_interrupting_modes_return() -> None:
    assert {mode for (mode, event) in MODE_CHANGES if event is E.RESET} == set(M)
    assert {mode for (mode, event) in MODE_CHANGES if event is E.RETURN} == {M.CALLBACK_PHONE, M.RESUME}


def test_return_goes_back_through_nested_interruptions() -> None:
    """Idle at the summary (RESUME), then 人工 (CALLBACK_PHONE): the phone answer returns to RESUME, 继续 to SUMMARY."""
    draft = Draft(row(M.SUMMARY))
    draft.move(E.IDLE)
    draft.move(E.CALLBACK)
    assert (draft.notes.resume_mode, draft.notes.return_mode) == (M.SUMMARY, M.RESUME)
    assert draft.move(E.RETURN) is M.RESUME
    assert (draft.notes.resume_mode, draft.notes.return_mode) == (M.SUMMARY, None)
    assert draft.move(E.RETURN) is M.SUMMARY
    assert draft.notes.resume_mode is None


def test_return_without_a_kept_mode_uses_the_default() -> None:
    assert Draft(row(M.CALLBACK_PHONE)).move(E.RETURN) is M.NONE
    assert Draft(row(M.RESUME)).move(E.RETURN) is M.FILLING


def test_leaving_an_interruption_for_good_forgets_the_mode_it_interrupted() -> None:
    draft = Draft(row(M.RESUME, {"resume_mode": "summary"}))
    draft.move(E.ASK)
    assert draft.mode is M.FILLING and draft.notes.resume_mode is None
    draft.save(NOW)
    assert "resume_mode" not in draft.row.notes
