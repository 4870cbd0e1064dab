"""What the conversation remembers between messages besides the answers: the draft's notes, typed.

Stored in the ``intake_session.notes`` JSON column under the same keys as before this was a dataclass, so a
draft saved by an earlier version loads, and one saved now loads in an earlier version. Reading is
tolerant: an unknown key is dropped, a value of the wrong shape reads as absent (a draft is never lost to
its notes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.models import IntakeMode


@dataclass
class Retries:
    """Refused answers in a row to one step (after three, 人工 is offered)."""

    step: str
    count: int


@dataclass
class Notes:
    """The draft's notes; every field is optional and defaults to "nothing noted"."""

    #: The free text a 您是要投诉吗？ offer was made about, and when (the complaint's received time).
    offer_text: str | None = None
    offer_at: dt.datetime | None = None
    #: The modes 人工 (CALLBACK_PHONE) and an idle draft's 继续 / 重新开始 (RESUME) return to.
    return_mode: IntakeMode | None = None
    resume_mode: IntakeMode | None = None
    #: The whole number given for a 人工 call-back without a draft (masked everywhere it is shown).
    callback_phone: str | None = None
    #: The step being changed from the summary (修改N); the summary is shown again after it.
    editing: str | None = None
    retries: Retries | None = None
    #: Step key → the answer shown before 上一步 took it back ("原来填写的是…").
    previous: dict[str, str] = field(default_factory=dict)
    #: A choice answered in words (表面有划痕), kept as the start of the description.
    description_seed: str | None = None
    #: The step keys the summary's numbers stand for (修改N).
    summary_keys: list[str] = field(default_factory=list)
    #: The FAQ menu's entry ids, in the order shown.
    faq_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Notes:
        """Read the JSON column; unknown keys and values of the wrong shape are ignored."""
        raw = raw if isinstance(raw, Mapping) else {}
        retries = raw.get("retries")
        previous = raw.get("previous")
        return cls(
            offer_text=_text(raw.get("offer_text")),
            offer_at=_time(raw.get("offer_at")),
            return_mode=_mode(raw.get("return_mode")),
            resume_mode=_mode(raw.get("resume_mode")),
            callback_phone=_text(raw.get("callback_phone")) or None,
            editing=_text(raw.get("editing")) or None,
            retries=Retries(str(retries.get("step")), _int(retries.get("count")))
            if isinstance(retries, Mapping) and retries.get("step") is not None else None,
            previous={str(k): str(v) for k, v in previous.items()} if isinstance(previous, Mapping) else {},
            description_seed=_text(raw.get("description_seed")) or None,
            summary_keys=[str(k) for k in _list(raw.get("summary_keys"))],
            faq_ids=[i for i in (_int_or_none(v) for v in _list(raw.get("faq_ids"))) if i is not None],
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON column's value: only what is noted, under the keys earlier versions used."""
        values: dict[str, Any] = {
            "offer_text": self.offer_text,
            "offer_at": self.offer_at.isoformat() if self.offer_at is not None else None,
            "return_mode": self.return_mode.value if self.return_mode is not None else None,
            "resume_mode": self.resume_mode.value if self.resume_mode is not None else None,
            "callback_phone": self.callback_phone,
            "editing": self.editing,
            "retries": {"step": self.retries.step, "count": self.retries.count} if self.retries else None,
            "previous": dict(self.previous) or None,
            "description_seed": self.description_seed,
            "summary_keys": list(self.summary_keys) or None,
            "faq_ids": list(self.faq_ids) or None,
        }
        return {key: value for key, value in values.items() if value is not None}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _int(value: Any) -> int:
    found = _int_or_none(value)
    return found if found is not None else 0


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _mode(value: Any) -> IntakeMode | None:
    try:
        return IntakeMode(value) if value is not None else None
    except ValueError:
        return None


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
