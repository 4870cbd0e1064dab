"""Signing in from a WeCom card (企业微信网页授权): tap → WeCom OAuth → the case page, already signed in.

Every staff card links to ``/console/wecom/login?next=/console/cases/<number>`` (handlers/workflow/notify.py):

1. ``login`` sends the browser to WeCom's authorize page (``WECOM_OAUTH_BASE_URL``) with the corp id, the
   app's agentid, scope ``snsapi_base`` (silent: WeCom knows who is looking) and a ``state`` that is
   signed with ``SECRET_KEY``, expires after :data:`STATE_TTL` and is bound to this browser's session
   (its nonce is kept in the signed session cookie and taken out on first use: no CSRF, no replay).
2. WeCom sends the browser back to ``callback?code&state``; the code is exchanged through the app's API
   client (``cgi-bin/auth/getuserinfo``, the same token handling as every WeCom call) for the member's
   ``userid``. A non-member (an ``openid`` only) is refused, and so is anyone the org chart does not
   have as an active person (handlers/wecom_signin.py decides and audits: ``login.wecom``).
3. The sign-in is the password sign-in's own session set-up (:func:`bot.console.auth.start_session`),
   then a redirect to ``next`` (a console path only: no open redirect).

In dev mode without WeCom credentials there is no WeCom to ask: the simulator's staff pane signs in as a
card's recipient directly (bot/simulator.py, dev only), through :func:`sign_in_userid`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Final
from urllib.parse import urlencode

import requests
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from wechatpy.exceptions import WeChatClientException

from bot.channels.wecom import WeComClient, wecom_client
from bot.console.auth import console_user, safe_next, start_session
from bot.console.security import SEEN_KEY, console_settings, now, origin
from bot.runtime import runtime
from handlers import audit
from handlers.wecom_signin import sign_in_by_wecom

log = logging.getLogger("tousu.console.wecom")

bp = Blueprint("wecom", __name__, url_prefix="/wecom")

#: Reachable without signing in (bot/console/security.py lets them through).
PUBLIC: Final = frozenset({"console.wecom.login", "console.wecom.callback"})

STATE_KEY: Final = "wecom_oauth"  # in the signed session cookie: the nonce of the one sign-in under way
STATE_TTL: Final = 600  # seconds from the redirect to WeCom until the callback (a code itself lives 5 min)
_NONCE_HEX: Final = 32
_TIME_HEX: Final = 10
_MAC_HEX: Final = 32
# WeCom accepts a state of a-zA-Z0-9 only, at most 128 bytes: nonce + issued time + MAC, all hex (74).
_STATE_LENGTH: Final = _NONCE_HEX + _TIME_HEX + _MAC_HEX


def _mac(nonce: str, issued: str) -> str:
    key = current_app.secret_key
    assert isinstance(key, str | bytes), "SECRET_KEY is always set (bot.config)"
    secret = key.encode() if isinstance(key, str) else key
    return hmac.new(secret, f"wecom-oauth:{nonce}:{issued}".encode(), hashlib.sha256).hexdigest()[:_MAC_HEX]


def new_state(target: str) -> str:
    """A fresh ``state`` for one trip to WeCom, remembered (with where to go after) in this session."""
    nonce = secrets.token_hex(_NONCE_HEX // 2)
    issued = f"{int(now().timestamp()):0{_TIME_HEX}x}"
    session[STATE_KEY] = {"nonce": nonce, "next": target}
    return f"{nonce}{issued}{_mac(nonce, issued)}"


def take_state(state: str) -> str | None:
    """Where to go after signing in, if ``state`` is this session's, untampered and fresh; else None.
    Either way the session's pending sign-in is used up."""
    pending = session.pop(STATE_KEY, None)
    if not isinstance(pending, dict) or len(state) != _STATE_LENGTH:
        return None
    try:
        int(state, 16)
    except ValueError:
        return None
    nonce, issued, mac = state[:_NONCE_HEX], state[_NONCE_HEX:-_MAC_HEX], state[-_MAC_HEX:]
    if not hmac.compare_digest(mac, _mac(nonce, issued)):
        return None
    if not hmac.compare_digest(nonce, str(pending.get("nonce", ""))):
        return None
    age = now().timestamp() - int(issued, 16)
    if not 0 <= age <= STATE_TTL:
        return None
    return safe_next(str(pending.get("next") or ""))


def _signed_in_and_live() -> bool:
    """A sign-in this browser already has, not idled out (else WeCom is asked again)."""
    if not current_user.is_authenticated:
        return False
    seen = session.get(SEEN_KEY)
    return isinstance(seen, int | float) and now().timestamp() - seen <= console_settings().idle.total_seconds()


def _client() -> WeComClient | None:
    """The app's WeCom client, built once per app (its token is reused between sign-ins)."""
    extensions = current_app.extensions
    if "tousu_wecom_client" not in extensions:
        extensions["tousu_wecom_client"] = wecom_client(runtime().settings)
    client: WeComClient | None = extensions["tousu_wecom_client"]
    return client


def _refused(reason: str, status: int) -> ResponseReturnValue:
    # current_user explicitly: the simulator (dev sign-in) renders this outside the console blueprint.
    return render_template("console/wecom_error.html", reason=reason, dev=runtime().settings.dev,
                           current_user=current_user), status


@bp.get("/login")
def login() -> ResponseReturnValue:
    target = safe_next(request.args.get("next"))
    if _signed_in_and_live():
        return redirect(target)
    settings = runtime().settings
    if not settings.wecom_enabled or _client() is None:
        return _refused("not_configured", 503)
    query = urlencode({
        "appid": settings.wecom_corp_id,
        "redirect_uri": settings.public_base_url + url_for(".callback"),
        "response_type": "code",
        "scope": "snsapi_base",
        "state": new_state(target),
        "agentid": settings.wecom_agent_id,
    })
    return redirect(f"{settings.wecom_oauth_base_url}/connect/oauth2/authorize?{query}#wechat_redirect")


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    target = take_state(request.args.get("state", ""))
    if target is None:
        return _refused("state", 400)
    code = request.args.get("code", "")
    if not code or len(code) > 512:
        return _refused("no_code", 400)  # the person declined, or WeCom sent nothing usable
    client = _client()
    if client is None:
        return _refused("not_configured", 503)
    try:
        info = client.get_user_info(code)
    except WeChatClientException as exc:
        if exc.errcode == 40029:
            return _refused("invalid_code", 400)
        log.warning("wecom getuserinfo failed: errcode %s", exc.errcode)
        return _refused("unavailable", 502)
    except requests.RequestException as exc:
        log.warning("wecom getuserinfo failed: %s", type(exc).__name__)
        return _refused("unavailable", 502)
    userid = info.get("userid") or info.get("UserId")
    if not isinstance(userid, str) or not userid:
        with runtime().db.transaction() as s:
            audit.record(s, audit.LOGIN_FAILED, now=now(), origin=origin(), details={"reason": "wecom_not_member"})
        return _refused("not_member", 403)
    return sign_in_userid(userid, target)


def sign_in_userid(userid: str, target: str) -> ResponseReturnValue:
    """Sign in the org-chart person WeCom (or, in dev mode, the simulator) says is ``userid``."""
    moment = now()
    with runtime().db.transaction() as s:
        result = sign_in_by_wecom(s, userid, now=moment, origin=origin())
        user = console_user(s, result.staff, result.account) if result.ok and result.staff and result.account \
            else None
    if user is None:
        return _refused(result.outcome, 403)
    start_session(user, moment)
    return redirect(safe_next(target))


__all__ = ["PUBLIC", "STATE_TTL", "bp", "new_state", "sign_in_userid", "take_state"]
