"""tousu's web process: the WeChat/WeCom callbacks, health, the staff console, the dev simulator.

Importing ``bot`` (its settings, its channel clients) does not import Flask: ``tousu worker`` and scheduler/ use
them without a web server. Flask comes in with :func:`create_app` (bot/app.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from storage.db import Database

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def create_app(config: Mapping[str, Any] | None = None, *, database: Database | None = None) -> Flask:
    """Build the web app (see :func:`bot.app.create_app`)."""
    from bot.app import create_app as build

    return build(config, database=database)
