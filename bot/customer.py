"""The customer's case page (办理进度), ``/c/<number>``: status, next step, result, survey, for its own customer.

Who is looking is established one of two ways (handlers/customer.py decides what a credential opens):

* **WeChat web authorisation** (网页授权, snsapi_base), when the Official Account is configured for it
  (``WECHAT_SECRET`` set, ``WECHAT_OAUTH`` not 0): the page sends the browser to
  ``<WECHAT_OAUTH_BASE_URL>/connect/oauth2/authorize`` (silent inside WeChat), WeChat comes back to
  ``/c/oauth/callback?code&state``, the code is exchanged for the follower's openid at
  ``<WECHAT_API_BASE_URL>/sns/oauth2/access_token`` through wechatpy's `WeChatOAuth` (with the base URLs from
  configuration and a timeout), and a signed cookie of this page's own (``tousu_customer``, path ``/c``, 12 h)
  remembers the openid. The case is shown only when its openid is that follower's; any other number is 404.
* **A signed link** ``/c/<number>?t=…`` (handlers/customer.py: one case, 30 days), which is what messages carry
  when web authorisation is not configured, and what staff give customers without WeChat. A link for another
  case, an altered one or an old one gets a Chinese page saying so, never the case.

The page shares nothing with the staff console: no Flask session (its cookie stays the console's alone), no
Flask-Login, its own CSRF token on the survey form (signed, bound to the case and to who is looking), and the
console's strict headers (no inline script or style, no framing, nothing cached, no referrer: the URL may carry
a link token).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import requests
from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from wechatpy.exceptions import WeChatOAuthException
from wechatpy.oauth import WeChatOAuth

from bot.config import Settings
from bot.runtime import runtime
from handlers import customer, survey
from handlers.workflow.notify import local_time
from storage.models import SurveyStatus

log = logging.getLogger("tousu.customer")

bp = Blueprint("customer", __name__, url_prefix="/c", static_folder="static", static_url_path="/static")

COOKIE: Final = "tousu_customer"  # the follower's openid, signed, after web authorisation
OAUTH_COOKIE: Final = "tousu_customer_oauth"  # the one authorisation under way: its state and where to return
COOKIE_MAX_AGE: Final = dt.timedelta(hours=12)
OAUTH_MAX_AGE: Final = dt.timedelta(minutes=10)  # a code itself lives 5 minutes
CSRF_MAX_AGE: Final = dt.timedelta(hours=12)
OAUTH_TIMEOUT: Final = 5.0
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)


def init_app(app: Flask, settings: Settings) -> None:
    """Register the page and sign the links messages carry with this deployment's key and address."""
    customer.configure_links(settings.public_base_url, settings.secret_key, oauth=settings.wechat_oauth_enabled)
    app.register_blueprint(bp)


class CustomerOAuth(WeChatOAuth):
    """wechatpy's OAuth client with its two base URLs from configuration and a timeout on every call
    (WECHAT.md: the class attributes are hard-coded hosts and no call has a timeout)."""

    def __init__(self, settings: Settings, redirect_uri: str, state: str) -> None:
        super().__init__(settings.wechat_appid, settings.wechat_secret, redirect_uri, scope="snsapi_base",
                         state=state)
        self.API_BASE_URL = f"{settings.wechat_api_base_url}/"
        self.OAUTH_BASE_URL = f"{settings.wechat_oauth_base_url}/connect/"

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", OAUTH_TIMEOUT)
        return super()._request(method, url_or_endpoint, **kwargs)


# -- small signed values ----------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return runtime().clock()


def _signer(salt: str) -> URLSafeSerializer:
    key = current_app.secret_key
    assert isinstance(key, str | bytes), "SECRET_KEY is always set (bot.config)"
    return URLSafeSerializer(key, salt=salt)


def _sign(salt: str, payload: dict[str, Any]) -> str:
    return str(_signer(salt).dumps({**payload, "at": int(_now().timestamp())}))


def _unsign(salt: str, value: str | None, max_age: dt.timedelta) -> dict[str, Any] | None:
    """The payload of a value signed here, if untampered and younger than ``max_age`` (app clock)."""
    if not value:
        return None
    try:
        payload = _signer(salt).loads(value)
    except BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("at"), int):
        return None
    if _now().timestamp() - payload["at"] > max_age.total_seconds():
        return None
    return payload


# -- who is looking -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """Who opened the page: a follower (openid) by web authorisation, or the holder of a signed link."""

    basis: str  # what the CSRF token is bound to (a digest: never the link token or openid itself)
    token: str | None = None  # the signed link, carried into the form's action
    openid: str | None = None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _page(template: str, status: int, **context: Any) -> ResponseReturnValue:
    settings = runtime().settings
    return render_template(f"customer/{template}", company=settings.policy.company, **context), status


def _problem(kind: str, status: int, number: str | None = None) -> ResponseReturnValue:
    can_sign_in = runtime().settings.wechat_oauth_enabled and number is not None
    return _page("error.html", status, kind=kind, number=number, can_sign_in=can_sign_in)


def _identify(number: str) -> Viewer | ResponseReturnValue:
    """The viewer of case ``number``, or the response that replaces the page (error, or off to WeChat)."""
    token = request.values.get("t")
    if token:
        check = customer.check_case_token(token, number, secret=runtime().settings.secret_key, now=_now())
        if check is customer.LinkCheck.EXPIRED:
            return _problem("expired", 410, number)
        if check is not customer.LinkCheck.OK:
            return _problem("tampered", 400, number)
        return Viewer(basis=f"link:{_digest(token)}", token=token)
    signed_in = _unsign("tousu.customer-session", request.cookies.get(COOKIE), COOKIE_MAX_AGE)
    if signed_in is not None and isinstance(signed_in.get("o"), str):
        openid = signed_in["o"]
        return Viewer(basis=f"wechat:{_digest(openid)}", openid=openid)
    if runtime().settings.wechat_oauth_enabled and request.method == "GET":
        return _authorize(number)
    return _problem("who", 401)


def _authorize(number: str) -> ResponseReturnValue:
    """Off to WeChat's authorize page (snsapi_base: silent), with a state bound to this browser."""
    settings = runtime().settings
    state = secrets.token_hex(16)
    oauth = CustomerOAuth(settings, settings.public_base_url + url_for(".oauth_callback"), state)
    response = redirect(oauth.authorize_url)
    response.set_cookie(OAUTH_COOKIE, _sign("tousu.customer-oauth", {"s": state, "n": number}),
                        max_age=int(OAUTH_MAX_AGE.total_seconds()), path="/c", httponly=True, samesite="Lax",
                        secure=request.is_secure)
    return response


def _csrf_token(number: str, viewer: Viewer) -> str:
    return _sign("tousu.customer-csrf", {"n": number, "b": viewer.basis})


def _csrf_ok(number: str, viewer: Viewer) -> bool:
    payload = _unsign("tousu.customer-csrf", request.form.get("csrf_token"), CSRF_MAX_AGE)
    return (payload is not None and payload.get("n") == number
            and hmac.compare_digest(str(payload.get("b", "")), viewer.basis))


def _self_url(number: str, viewer: Viewer, **args: str) -> str:
    query = {**({"t": viewer.token} if viewer.token else {}), **args}
    return url_for(".case", number=number) + (f"?{urlencode(query)}" if query else "")


# -- the pages --------------------------------------------------------------------------------------------


@bp.get("/<number>")
def case(number: str) -> ResponseReturnValue:
    viewer = _identify(number)
    if not isinstance(viewer, Viewer):
        return viewer
    rt = runtime()
    with rt.db.read_sessions() as s:
        complaint = (customer.case_for_follower(s, number, viewer.openid) if viewer.openid is not None
                     else customer.case_by_number(s, number))
        if complaint is None:
            return _problem("not_found", 404)
        view = customer.customer_view(s, complaint, now=_now(),
                                      category_label=rt.settings.policy.category_label(complaint.category))
    return _page("case.html", 200, view=view, csrf=_csrf_token(number, viewer), token=viewer.token,
                 done=request.args.get("done"), local_time=local_time, problem=request.args.get("problem"))


@bp.post("/<number>/survey")
def answer(number: str) -> ResponseReturnValue:
    viewer = _identify(number)
    if not isinstance(viewer, Viewer):
        return viewer
    if not _csrf_ok(number, viewer):
        return _problem("csrf", 400, number)
    stars_text = request.form.get("stars", "")
    stars = int(stars_text) if stars_text in {"1", "2", "3", "4", "5"} else None
    comment = (request.form.get("comment") or "").strip()[:1000] or None
    rt = runtime()
    ctx = rt.context()
    with rt.db.transaction() as s:
        complaint = (customer.case_for_follower(s, number, viewer.openid) if viewer.openid is not None
                     else customer.case_by_number(s, number))
        if complaint is None:
            return _problem("not_found", 404)
        latest = customer.latest_survey(s, complaint)
        if latest is None or latest.status in (SurveyStatus.CANCELLED, SurveyStatus.EXPIRED):
            return redirect(_self_url(number, viewer, problem="closed"))
        if latest.status is SurveyStatus.SENT and stars is None:
            return redirect(_self_url(number, viewer, problem="stars"))
        result = survey.answer_survey(s, latest, ctx=ctx, stars=stars, comment=comment, channel="page")
    return redirect(_self_url(number, viewer, done="answered" if result.first else "comment"))


@bp.get("/oauth/callback")
def oauth_callback() -> ResponseReturnValue:
    """WeChat's way back: the state must be this browser's, the code good for one openid."""
    pending = _unsign("tousu.customer-oauth", request.cookies.get(OAUTH_COOKIE), OAUTH_MAX_AGE)
    state = request.args.get("state", "")
    if pending is None or not hmac.compare_digest(str(pending.get("s", "")), state) or not state:
        return _problem("state", 400)
    number = str(pending.get("n", ""))
    code = request.args.get("code", "")
    settings = runtime().settings
    if not code or len(code) > 512:
        return _problem("no_code", 400, number)
    if not settings.wechat_oauth_enabled:
        return _problem("who", 401)
    try:
        result = CustomerOAuth(settings, "", "").fetch_access_token(code)
    except WeChatOAuthException as exc:
        log.warning("wechat oauth code exchange refused: errcode %s", exc.errcode)
        return _problem("invalid_code" if exc.errcode in (40029, 40163) else "unavailable",
                        400 if exc.errcode in (40029, 40163) else 502, number)
    except (requests.RequestException, ValueError) as exc:
        log.warning("wechat oauth code exchange failed: %s", type(exc).__name__)
        return _problem("unavailable", 502, number)
    openid = result.get("openid") if isinstance(result, dict) else None
    if not isinstance(openid, str) or not openid:
        return _problem("unavailable", 502, number)
    response = redirect(url_for(".case", number=number))
    response.set_cookie(COOKIE, _sign("tousu.customer-session", {"o": openid}),
                        max_age=int(COOKIE_MAX_AGE.total_seconds()), path="/c", httponly=True, samesite="Lax",
                        secure=request.is_secure)
    response.delete_cookie(OAUTH_COOKIE, path="/c")
    return response


@bp.after_request
def headers(response: Response) -> Response:
    """The console's strict headers, and no referrer: the address may carry a link token."""
    h = response.headers
    h["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "customer.static":
        h["Cache-Control"] = "no-store"
    return response


__all__ = ["COOKIE", "CustomerOAuth", "bp", "init_app"]
