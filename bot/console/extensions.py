"""The console's Flask extensions, created unbound and attached to each app by `bot.console.init_app`."""

from __future__ import annotations

import math
import time

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "console.auth.login"
login_manager.login_message = None  # the page says it itself, in Chinese

# No default limits: only the sign-in form is throttled (its decorators name their own limits).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def retry_after(reset_time: float) -> dict[str, str]:
    """The ``Retry-After`` header of a 429 (RFC 9110): whole seconds, at least one, until the exceeded window
    (its ``WindowStats.reset_time``, epoch seconds) takes another attempt."""
    return {"Retry-After": str(max(1, math.ceil(reset_time - time.time())))}



def login_key() -> str:
    """Throttle key of the account a sign-in attempt names (case and spaces do not make a new key)."""
    return "account:" + (request.form.get("login") or "").strip().lower()[:64]
