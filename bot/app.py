"""The Flask app factory of the web process (imported only by :func:`bot.create_app`, so nothing else needs Flask)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Request
from flask.logging import has_level_handler
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from bot import LOG_FORMAT
from bot.config import load_settings
from bot.runtime import Runtime
from storage.db import Database
from templates import TEMPLATE_DIR


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signing serializer for a request that
    carries no session cookie (every WeChat and WeCom callback): it is an empty session either way, and
    building it was 3% of a callback's CPU."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(config: Mapping[str, Any] | None = None, *, database: Database | None = None) -> Flask:
    """Build the app; nothing happens at import time and nothing starts in the background here.

    ``config`` overrides environment settings (tests pass everything here). ``database`` lets a caller
    share an engine (tests). The scheduler is started by `tousu serve` / `tousu worker`, not here.
    """
    config = dict(config or {})
    settings = load_settings(overrides=config)
    from bot.api import make_app

    # flask-openapi3's app (a Flask subclass): the REST API's OpenAPI document and docs page at /api/v1
    app = make_app(__name__, template_folder=str(TEMPLATE_DIR / "pages"), static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=bool(config.get("TESTING", False)),
        MAX_CONTENT_LENGTH=1024 * 1024,
        TOUSU_ATTACHMENT_DIR=str(settings.attachment_dir),  # the download job writes where the console reads
    )
    app.session_interface = CookieSessions()
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable in JSON
    db = database or Database(settings.database_url)
    rt = Runtime(settings=settings, db=db)
    if "CLOCK" in config:
        rt.clock = config["CLOCK"]
    app.extensions["tousu"] = rt

    from bot import api, console, customer, errors, health, webhook, website
    from handlers import webhooks

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    errors.init_app(app)
    if settings.dev:
        from bot import simulator

        app.register_blueprint(simulator.bp)
    console.init_app(app, settings, config)
    customer.init_app(app, settings)  # the customer's case page /c/<number> and its survey
    website.init_app(app)  # the website's complaint page /w/complaint (after the console: its limiter)
    api.init_app(app)  # the REST API /api/v1 (bot/api/)
    webhooks.configure(settings.policy.webhooks)  # [webhooks]: state changes queue signed POSTs
    _log_to_stderr_unless_configured()
    return app


def _log_to_stderr_unless_configured() -> None:
    """tousu's INFO lines (one per inbound message) must reach an operator.

    `tousu serve`/`worker` configure logging themselves; gunicorn configures only its own loggers, so
    without this the per-message lines fell through to Python's last-resort handler, which drops INFO.
    Like Flask's default handler: added once, only when nothing on the logger's chain handles INFO.
    """
    logger = logging.getLogger("tousu")
    logger.setLevel(logging.INFO)
    if not has_level_handler(logger):
        handler = logging.StreamHandler()  # stderr: gunicorn's error log, the journal under systemd
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
