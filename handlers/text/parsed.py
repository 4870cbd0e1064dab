"""What every parser returns: accepted with a value and a display, or refused with a hint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from handlers.render import render_message

T = TypeVar("T")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Hint:
    """Why an answer was refused: the name of a template in ``templates/messages/intake/hint/`` and its values.

    The wording lives in the template; :attr:`text` renders it only when someone reads it (extraction tries
    many candidates and reads none of their refusals).
    """

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, **params: Any) -> Hint:
        return cls(name, tuple(sorted(params.items())))

    @property
    def text(self) -> str:
        return render_message(f"intake/hint/{self.name}", **dict(self.params))


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
    refusal: Hint | None = None

    @property
    def hint(self) -> str:
        """The refusal's wording (rendered from its template); empty on an accepted answer."""
        return self.refusal.text if self.refusal is not None else ""

    @classmethod
    def ok(cls, value: V, display: str) -> Parsed[V]:
        """Accept ``value``; ``display`` is the short Chinese form shown back to the customer."""
        return Parsed(accepted=True, value=value, display=display)

    @classmethod
    def refuse(cls, hint: str | Hint, **params: Any) -> Parsed[Any]:
        """Refuse the answer with the hint template called ``hint`` (or a :class:`Hint` already built)."""
        refusal = hint if isinstance(hint, Hint) else Hint.of(hint, **params)
        return Parsed(accepted=False, value=None, display="", refusal=refusal)
