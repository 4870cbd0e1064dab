"""Where a follower's conversation stands (:class:`~storage.models.IntakeMode`) and how it moves: one table.

Like the complaint lifecycle (handlers/workflow/transitions.py), every change of mode is a row of
:data:`MODE_CHANGES` — (mode, event) → mode — applied by one function, :meth:`Draft.move
<handlers.intake.state.Draft.move>`; a move the table does not have raises :class:`IllegalModeChange` naming
the mode and the event.

Two modes interrupt another and go back to it: 人工 asking for a phone number (CALLBACK_PHONE) and the
继续 / 重新开始 offer on an idle draft (RESUME). Entering one keeps the mode it interrupted in the draft's
notes (:func:`return_slot`); the ``RETURN`` event goes back to it — the one place that is done.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from storage.models import IntakeMode

M = IntakeMode


class ModeEvent(enum.StrEnum):
    START = "start"  # a new draft (投诉, 我要投诉, 是 to the offer)
    OFFER = "offer"  # a complaint-like message while nothing was pending: 您是要投诉吗？
    ASK = "ask"  # a step of the form is asked (also: 修改N from the summary, 上一步)
    SHOW_SUMMARY = "show_summary"  # every step answered: 请核对
    IDLE = "idle"  # a draft left alone past intake.idle_minutes: 继续 / 重新开始
    CALLBACK = "callback"  # 人工 without a phone number: ask for one
    RETURN = "return"  # back to the mode CALLBACK or IDLE interrupted
    OPEN_FAQ = "open_faq"  # the 常见问题 menu
    RESET = "reset"  # cancelled, submitted, discarded: nothing pending


#: The mode RETURN goes back to is the one the interrupting mode was entered from.
PREVIOUS: Final = "previous"

_DRAFT = (M.FILLING, M.SUMMARY)

MODE_CHANGES: Final[Mapping[tuple[IntakeMode, ModeEvent], IntakeMode | str]] = MappingProxyType(
    {
        (M.NONE, ModeEvent.START): M.FILLING,
        (M.NONE, ModeEvent.OFFER): M.OFFER,
        (M.NONE, ModeEvent.OPEN_FAQ): M.FAQ_MENU,
        **{(mode, ModeEvent.ASK): M.FILLING for mode in (*_DRAFT, M.RESUME)},
        **{(mode, ModeEvent.SHOW_SUMMARY): M.SUMMARY for mode in (*_DRAFT, M.RESUME)},
        **{(mode, ModeEvent.IDLE): M.RESUME for mode in _DRAFT},
        **{(mode, ModeEvent.CALLBACK): M.CALLBACK_PHONE for mode in (M.NONE, M.FAQ_MENU, *_DRAFT, M.RESUME)},
        (M.CALLBACK_PHONE, ModeEvent.RETURN): PREVIOUS,
        (M.RESUME, ModeEvent.RETURN): PREVIOUS,
        **{(mode, ModeEvent.RESET): M.NONE for mode in M},
    }
)

#: The notes field that keeps the interrupted mode, and where RETURN goes when none was kept.
_RETURNS: Final[Mapping[IntakeMode, tuple[str, IntakeMode]]] = MappingProxyType(
    {M.CALLBACK_PHONE: ("return_mode", M.NONE), M.RESUME: ("resume_mode", M.FILLING)}
)


class IllegalModeChange(RuntimeError):
    """A move the mode table does not have: a bug in the conversation, named by mode and event."""

    def __init__(self, mode: IntakeMode, event: ModeEvent) -> None:
        self.mode, self.event = mode, event
        super().__init__(f"intake: no move {event.value!r} from mode {mode.value!r}")


def target_mode(mode: IntakeMode, event: ModeEvent) -> IntakeMode | str:
    """Where ``event`` leads from ``mode`` (:data:`PREVIOUS` for RETURN); IllegalModeChange if nowhere."""
    target = MODE_CHANGES.get((mode, event))
    if target is None:
        raise IllegalModeChange(mode, event)
    return target


def return_slot(mode: IntakeMode) -> tuple[str, IntakeMode] | None:
    """For an interrupting mode: the notes field keeping the interrupted mode, and RETURN's default."""
    return _RETURNS.get(mode)
