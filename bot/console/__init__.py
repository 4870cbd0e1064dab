"""The staff console (工作台): server-rendered pages for the complaint office, under ``/console``.

One parent blueprint, ``console``, holds what every console page shares, so a page added later (a
child blueprint registered below) gets it without doing anything:

* sign-in required (Flask-Login) except for the sign-in page and the static files, and sign-out after
  ``[console] idle_minutes`` without a request (recorded as ``session.expired``);
* CSRF on every POST (Flask-WTF), checked here rather than app-wide, so the WeChat and WeCom callbacks
  (and the token-authenticated API) never touch a session or a token;
* the security headers of `security.security_headers` (CSP without inline script, frame denial, HSTS
  over HTTPS) on every console response, error pages included.

Which cases a signed-in person sees is `handlers.workflow.scope`; pages never query complaints any
other way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from flask import Blueprint, Flask, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import Settings
from bot.console import admin, auth, cases, dashboard, labels, ledger, performance, register, stats, tasks, wecom_auth
from bot.console import print as print_form
from bot.console.extensions import csrf, limiter, login_manager
from bot.console.security import before_console_request, register_error_pages, security_headers
from bot.console.settings import ConsoleSettings, load_console_settings

bp = Blueprint("console", __name__, url_prefix="/console", static_folder="../static", static_url_path="/static")
bp.before_request(before_console_request)
bp.context_processor(lambda: {"current_user": current_user})
register_error_pages(bp)
labels.register(bp)
bp.register_blueprint(auth.bp)
bp.register_blueprint(dashboard.bp)
bp.register_blueprint(cases.bp)
bp.register_blueprint(ledger.bp)
bp.register_blueprint(wecom_auth.bp)
bp.register_blueprint(print_form.bp)
bp.register_blueprint(admin.bp)
bp.register_blueprint(register.bp)
bp.register_blueprint(tasks.bp)
bp.register_blueprint(performance.bp)
bp.register_blueprint(stats.bp)
bp.context_processor(register.nav_context)
bp.context_processor(stats.nav_context)


def init_app(app: Flask, settings: Settings, overrides: Mapping[str, Any] | None = None) -> ConsoleSettings:
    """Configure sessions, sign-in, CSRF and throttling for ``app`` and register the console."""
    console = load_console_settings(settings, overrides)
    app.extensions["tousu_console"] = console
    if console.trusted_proxies:
        # request.remote_addr / is_secure from X-Forwarded-For / -Proto, as many hops as are ours.
        n = console.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=console.cookie_secure,
        PERMANENT_SESSION_LIFETIME=console.idle,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=console.cookie_secure,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the console blueprint only (callbacks are signed instead)
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as its session, which idles out
        RATELIMIT_STORAGE_URI=console.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=False,
    )
    csrf.init_app(app)
    _scope_hooks_to_console(app, lambda: limiter.init_app(app))
    # Not login_manager.init_app: its after_request hook reads the session on every response, callbacks
    # included, to refresh a remember-me cookie the console never sets. Attaching it is all it needs.
    app.login_manager = login_manager  # type: ignore[attr-defined]
    app.register_blueprint(bp)
    app.after_request(security_headers)

    @app.route("/", methods=["GET"])  # Flask's route: the OpenAPI app's get() would document it
    def home() -> ResponseReturnValue:
        return redirect(url_for("console.dashboard.index"))

    return console


def _scope_hooks_to_console(app: Flask, init: Callable[[], None]) -> None:
    """Run an extension's ``init_app`` and move the request hooks it added to the console blueprint.

    Flask-Limiter hooks every request of the app and, even for an exempt blueprint, resolves limits on
    each: ~0.05 ms per WeChat/WeCom callback, for nothing, since only the console has limits. Hooks in
    the ``"console"`` scope of Flask's hook registries run for the console and its child blueprints only.
    """
    registries = cast(
        "tuple[dict[str | None, list[Any]], ...]",
        (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs),
    )
    before = [list(registry.get(None, [])) for registry in registries]
    init()
    for registry, old in zip(registries, before, strict=True):
        added = [hook for hook in registry.get(None, []) if hook not in old]
        registry[None] = old
        registry.setdefault("console", []).extend(added)
