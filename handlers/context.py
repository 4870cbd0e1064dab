"""What a handler knows besides the message: the time and the company's policy (parsed at start-up)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from handlers.sla.calendar import SHANGHAI

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy


def _default_policy() -> CompanyPolicy:
    from handlers.config import default_policy  # handlers.config's sections import this module

    return default_policy()


@dataclass(frozen=True)
class HandlerContext:
    now: dt.datetime  # aware, UTC
    policy: CompanyPolicy = field(default_factory=_default_policy)

    @property
    def local_now(self) -> dt.datetime:
        return self.now.astimezone(SHANGHAI)

    @property
    def today(self) -> dt.date:
        return self.local_now.date()

    @property
    def company_name(self) -> str:
        return self.policy.company.name


__all__ = ["SHANGHAI", "HandlerContext"]
