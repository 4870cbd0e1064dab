"""What a handler knows besides the message: the time and the company's configuration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class HandlerContext:
    now: dt.datetime  # aware, UTC
    company: Mapping[str, Any] = field(default_factory=dict)

    @property
    def local_now(self) -> dt.datetime:
        return self.now.astimezone(SHANGHAI)

    @property
    def today(self) -> dt.date:
        return self.local_now.date()

    @property
    def company_name(self) -> str:
        return str(self.company.get("company", {}).get("name", "本公司"))
