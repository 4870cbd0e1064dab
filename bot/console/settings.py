"""The console's settings: policy from ``[console]`` in tousu.toml, deployment facts from the environment.

::

    [console]
    idle_minutes = 30              # signed out after this long without a request (会话空闲超时)
    max_failed_logins = 5          # this many failed sign-ins of one account within …
    lockout_minutes = 15           # … this window lock it until the oldest of them is this old
    login_rate_per_ip = "30 per 10 minutes"        # sign-in attempts from one address (Flask-Limiter syntax)
    login_rate_per_account = "10 per 10 minutes"   # sign-in attempts naming one account
    due_soon_hours = 24            # the dashboard's 即将到期 list: deadlines due within this many hours

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

from limits import parse_many

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


def _int(where: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: expected a whole number ≥ {minimum}, got {value!r}")
    return value


def _rate(where: str, value: Any) -> str:
    try:
        if not isinstance(value, str) or not parse_many(value):
            raise ValueError
    except ValueError:
        raise ConfigError(f"{where}: expected a rate such as \"10 per 10 minutes\", got {value!r}") from None
    return value


def _env(overrides: Mapping[str, Any], name: str) -> str | None:
    value = overrides.get(name, os.environ.get(name))
    return None if value is None else str(value)


def load_console_settings(settings: Settings, overrides: Mapping[str, Any] | None = None) -> ConsoleSettings:
    """Checked once at start-up; a bad value raises `ConfigError` naming it."""
    over = overrides or {}
    table = settings.company.get("console") or {}
    if not isinstance(table, Mapping):
        raise ConfigError("[console]: expected a table")
    known = {"idle_minutes", "max_failed_logins", "lockout_minutes", "login_rate_per_ip",
             "login_rate_per_account", "due_soon_hours"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"[console]: unknown key(s) {', '.join(sorted(unknown))}")
    secure = _env(over, "COOKIE_SECURE")
    proxies = _env(over, "TRUSTED_PROXIES")
    try:
        trusted_proxies = int(proxies) if proxies not in (None, "") else 0
    except ValueError:
        raise ConfigError(f"TRUSTED_PROXIES: must be a whole number (got {proxies!r})") from None
    if trusted_proxies < 0:
        raise ConfigError("TRUSTED_PROXIES: must be 0 or more")
    return ConsoleSettings(
        idle=dt.timedelta(minutes=_int("[console].idle_minutes", table.get("idle_minutes", 30))),
        lockout=LockoutPolicy(
            max_failures=_int("[console].max_failed_logins", table.get("max_failed_logins", 5)),
            window=dt.timedelta(minutes=_int("[console].lockout_minutes", table.get("lockout_minutes", 15))),
        ),
        login_rate_per_ip=_rate("[console].login_rate_per_ip", table.get("login_rate_per_ip", "30 per 10 minutes")),
        login_rate_per_account=_rate(
            "[console].login_rate_per_account", table.get("login_rate_per_account", "10 per 10 minutes")
        ),
        due_soon=dt.timedelta(hours=_int("[console].due_soon_hours", table.get("due_soon_hours", 24))),
        cookie_secure=secure.strip().lower() in {"1", "true", "yes", "on"} if secure is not None else not settings.dev,
        trusted_proxies=trusted_proxies,
        ratelimit_storage_uri=settings.redis_url or "memory://",
    )
