"""What every parser returns: accepted with a value and a display, or refused with a hint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """Outcome of parsing one answer: accepted with a value, or refused with a hint.

    ``display`` is what the confirmation summary (请核对) shows; ``hint`` is the sentence appended to
    the repeated question when the answer does not fit. Exactly one of them is non-empty.
    ``value`` can be ``None`` on an accepted answer only where a parser allows an explicit "无".
    """

    accepted: bool
    value: T | None
    display: str
    hint: str

    @classmethod
    def ok(cls, value: V, display: str) -> Parsed[V]:
        """Accept ``value``; ``display`` is the short Chinese form shown back to the customer."""
        return Parsed(accepted=True, value=value, display=display, hint="")

    @classmethod
    def refuse(cls, hint: str) -> Parsed[Any]:
        """Refuse the answer; ``hint`` says in Chinese what form is expected."""
        return Parsed(accepted=False, value=None, display="", hint=hint)

