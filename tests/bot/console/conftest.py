"""Fixtures for the console: the demo org chart with the tests' extra people, an app on a moving clock."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher

from handlers import accounts
from tests.bot.console.support import START, Clock
from tests.handlers.test_workflow_support import World, make_world

# argon2 at its real cost takes ~0.3 s per hash on a busy CI machine; the tests that are about hashing
# (test_accounts.py) use the real parameters, everything else a cheap hasher of the same algorithm.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if "real_hashing" not in request.keywords:
        monkeypatch.setattr(accounts, "PASSWORD_HASHER", CHEAP_HASHER)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def console_config() -> dict[str, Any]:
    """[console] for the tests: a generous throttle, so only the throttle tests meet it."""
    return {"idle_minutes": 30, "max_failed_logins": 3, "lockout_minutes": 15,
            "login_rate_per_ip": "100 per minute", "login_rate_per_account": "100 per minute"}


@pytest.fixture
def app_config(app_config: dict[str, Any], console_config: dict[str, Any], clock: Clock) -> dict[str, Any]:
    config = dict(app_config)
    company = copy.deepcopy(config["COMPANY"])
    company["console"] = console_config
    config["COMPANY"] = company
    config["CLOCK"] = clock
    return config


@pytest.fixture
def world(db: Any, app_config: dict[str, Any]) -> Iterator[World]:
    """The org chart, committed (the app reads it through its own sessions)."""
    with db.transaction() as s:
        w = make_world(s, app_config["COMPANY"], now=START)
    yield w
