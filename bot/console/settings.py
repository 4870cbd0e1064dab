"""The console's settings: policy from ``[console]`` in tousu.toml (parsed at start-up with the rest of the
policy, ``handlers.accounts.parse_console``), deployment facts from the environment.

Environment: ``TRUSTED_PROXIES`` (how many reverse proxies set X-Forwarded-For/Proto; 0 = none, the
default), ``COOKIE_SECURE`` (1/0; default: on outside dev mode), ``REDIS_URL`` (shared rate-limit
counters between workers; in-memory without it).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import ConfigError, Settings
from handlers.accounts import LockoutPolicy


@dataclass(frozen=True)
class ConsoleSettings:
    idle: dt.timedelta
    lockout: LockoutPolicy
    login_rate_per_ip: str
    login_rate_per_account: str
    due_soon: dt.timedelta
    cookie_secure: bool
    trusted_proxies: int
    ratelimit_storage_uri: str


def _env(overrides: Mapping[str, Any], name: str) -> str | None:
    value = overrides.get(name, os.environ.get(name))
    return None if value is None else str(value)


def load_console_settings(settings: Settings, overrides: Mapping[str, Any] | None = None) -> ConsoleSettings:
    """Checked once at start-up; a bad value raises `ConfigError` naming it."""
    over = overrides or {}
    policy = settings.policy.console
    secure = _env(over, "COOKIE_SECURE")
    proxies = _env(over, "TRUSTED_PROXIES")
    try:
        trusted_proxies = int(proxies) if proxies not in (None, "") else 0
    except ValueError:
        raise ConfigError(f"TRUSTED_PROXIES: must be a whole number (got {proxies!r})") from None
    if trusted_proxies < 0:
        raise ConfigError("TRUSTED_PROXIES: must be 0 or more")
    return ConsoleSettings(
        idle=policy.idle,
        lockout=policy.lockout,
        login_rate_per_ip=policy.login_rate_per_ip,
        login_rate_per_account=policy.login_rate_per_account,
        due_soon=policy.due_soon,
        cookie_secure=secure.strip().lower() in {"1", "true", "yes", "on"} if secure is not None else not settings.dev,
        trusted_proxies=trusted_proxies,
        ratelimit_storage_uri=settings.redis_url or "memory://",
    )
