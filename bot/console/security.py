"""What every console request passes through: CSRF, sign-in, idle expiry, security headers, error pages."""

from __future__ import annotations

import datetime as dt
from typing import Final

from flask import Blueprint, Response, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from bot.console.extensions import csrf, login_manager
from bot.console.settings import ConsoleSettings
from bot.runtime import runtime
from handlers import audit
from handlers.audit import Origin
from storage.models import Staff

# Reachable without signing in.
PUBLIC_ENDPOINTS: Final = frozenset({"console.static", "console.auth.login",
                                     "console.wecom.login", "console.wecom.callback"})  # WeCom OAuth sign-in

# The brief's policy, plus base-uri and object-src: nothing but our own files, no inline script or style.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)
HSTS: Final = "max-age=31536000; includeSubDomains"
SEEN_KEY: Final = "seen"  # last request time (epoch seconds) in the signed session cookie
SEEN_RESOLUTION: Final = 30  # seconds: rewrite the cookie at most this often just to move "seen"


def console_settings() -> ConsoleSettings:
    settings: ConsoleSettings = current_app.extensions["tousu_console"]
    return settings


def now() -> dt.datetime:
    return runtime().clock()


def origin() -> Origin:
    return Origin(ip=request.remote_addr, user_agent=request.user_agent.string or None)


def before_console_request() -> ResponseReturnValue | None:
    """CSRF for every POST; then, except on public pages, a live (not idle) sign-in."""
    csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    moment = now().timestamp()
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, int | float) or moment - seen > console_settings().idle.total_seconds():
        return _expire()
    if moment - seen >= SEEN_RESOLUTION:
        session[SEEN_KEY] = moment
    return None


def _expire() -> ResponseReturnValue:
    staff_id = current_user.staff.id
    with runtime().db.transaction() as s:
        staff = s.get(Staff, staff_id)
        audit.record(s, audit.SESSION_EXPIRED, now=now(), origin=origin(), actor=staff)
    logout_user()
    session.clear()
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("console.auth.login", reason="expired", next=target))


def security_headers(response: Response) -> Response:
    """On every console response (pages, static files, errors): the browser may run and load only our
    own files, never frame the console, never sniff types; HSTS when the request came over HTTPS."""
    path = request.path
    if path != "/" and not path.startswith("/console"):
        return response  # callbacks, health, simulator: untouched
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "console.static":
        headers["Cache-Control"] = "no-store"  # pages carry personal data: no copy on a shared computer
    return response


def register_error_pages(bp: Blueprint) -> None:
    """Chinese error pages inside the console layout; a case outside one's scope is a plain 404."""

    @bp.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> ResponseReturnValue:
        return render_template("console/error.html", code=400, kind="csrf"), 400

    @bp.errorhandler(404)
    def not_found(exc: HTTPException) -> ResponseReturnValue:
        return render_template("console/error.html", code=404, kind="not_found"), 404

    @bp.errorhandler(403)
    def forbidden(exc: HTTPException) -> ResponseReturnValue:
        return render_template("console/error.html", code=403, kind="forbidden"), 403

    @bp.errorhandler(405)
    def not_allowed(exc: HTTPException) -> ResponseReturnValue:
        return render_template("console/error.html", code=405, kind="not_allowed"), 405


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PUBLIC_ENDPOINTS",
    "before_console_request",
    "console_settings",
    "now",
    "origin",
    "register_error_pages",
    "security_headers",
]
