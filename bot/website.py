"""The website's complaint page (网站投诉栏), ``/w/complaint``: a visitor files a complaint without WeChat.

Seed 004 四.5–6 asks for a complaint and rating column on the company's website, connected to the business
system. This page is that column, public and phone-first, and the same intake as the chat underneath:

* the fields are the policy's ``[form]`` (steps, option lists, conditions), read by the shared page reader
  `handlers.intake.entry.read_entry` with the chat's parsers, so a refused answer shows the chat's own hint
  under its field, with everything typed kept. Conditional steps (the product-quality fields) carry their
  condition as ``data-when``; ``website.js`` hides them until it holds, and the server reads a step only when
  its condition holds for the answers before it, so the page works without script too (every field shown);
* photos (the form's evidence step) are checked by their bytes and size (`handlers.intake.website.check_photo`)
  and stored where WeChat evidence goes (``TOUSU_ATTACHMENT_DIR``);
* registration is `handlers.intake.website.register_website` → the shared ``register_complaint``: channel 网站,
  received when the form reached us; numbering, routing, deadlines and staff notices are the chat's;
* the end page shows the number and the customer's case page link (signed: the visitor has no openid), where
  the progress and, once the result is fed back, the satisfaction survey (the rating column) are.

Abuse guard, without a CAPTCHA: per-address and per-phone rate limits (``[website] rate_per_ip`` /
``rate_per_phone``, counted in the console's Flask-Limiter storage: Redis when ``REDIS_URL`` is set), a honeypot
field (filled → the bot is shown a thank-you page and nothing is filed), a form token signed for the visitor's
network (cookie-free, so the page also works inside an ``<iframe>`` on the company's site) and an Origin check.
Headers are the customer page's (own files only; no referrer from the end page, whose address carries the link
token);
``[website] embed_origins`` names the sites that may frame it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import TemplateNotFound
from limits import parse_many
from werkzeug.exceptions import RequestEntityTooLarge

from bot.console.extensions import limiter, retry_after
from bot.runtime import runtime
from handlers import customer
from handlers.intake.entry import FormEntry, read_entry
from handlers.intake.form import Form, Step, option_labels
from handlers.intake.submit import IncompleteDraft
from handlers.intake.website import (
    ENTRIES,
    Photo,
    PhotoProblem,
    PhotoRefused,
    WebsiteSettings,
    check_photo,
    register_website,
    store_photos,
)
from handlers.render import render_message
from handlers.workflow.notify import local_time

log = logging.getLogger("tousu.website")

bp = Blueprint("website", __name__, url_prefix="/w", static_folder="static", static_url_path="/static")

HONEYPOT: Final = "homepage"  # a field people never see; bots fill anything called like a URL
TOKEN_SALT: Final = "tousu.website-form"  # noqa: S105 (a signing salt, not a secret)
TOKEN_MAX_AGE: Final = dt.timedelta(hours=12)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _settings() -> WebsiteSettings:
    return runtime().settings.policy.website


def _form() -> Form:
    return runtime().settings.policy.form


@bp.before_request
def _open() -> None:
    """404 when the page is switched off; uploads up to every photo at its limit (the app allows 1 MB)."""
    if request.endpoint == "website.static":
        return
    settings = _settings()
    if not settings.enabled:
        abort(404)
    request.max_content_length = settings.request_max_bytes


# -- the form token ---------------------------------------------------------------------------------------


def _address_digest() -> str:
    """The visitor's network (IPv4 /24, IPv6 /64), digested: a phone whose carrier moves it to another address
    of its pool, or an IPv6 privacy address that rotates, keeps a valid token; another site's server does not."""
    address = request.remote_addr or "-"
    try:
        ip = ipaddress.ip_address(address)
        network = str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 64}", strict=False))
    except ValueError:
        network = address
    return hashlib.sha256(network.encode()).hexdigest()[:24]


def _signer() -> URLSafeSerializer:
    key = current_app.secret_key
    assert isinstance(key, str | bytes), "SECRET_KEY is always set (bot.config)"
    return URLSafeSerializer(key, salt=TOKEN_SALT)


def _form_token() -> str:
    """A token for this visitor's network, issued now: a page fetched elsewhere (a site posting through
    visitors' browsers) does not carry one that fits."""
    return str(_signer().dumps({"a": _address_digest(), "at": int(runtime().clock().timestamp())}))


def _token_ok() -> bool:
    try:
        payload = _signer().loads(request.form.get("form_token", ""))
    except BadSignature:
        return False
    if not isinstance(payload, dict) or not isinstance(payload.get("at"), int):
        return False
    if runtime().clock().timestamp() - payload["at"] > TOKEN_MAX_AGE.total_seconds():
        return False
    return hmac.compare_digest(str(payload.get("a", "")), _address_digest())


def _same_origin() -> bool:
    """A browser's Origin, when it sends one, must be this site (the address we serve or PUBLIC_BASE_URL)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    own = {request.host_url.rstrip("/"), _origin_of(runtime().settings.public_base_url)}
    return origin.rstrip("/") in own


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- rate limits ------------------------------------------------------------------------------------------


def _over(rate: str, scope: str, key: str) -> float | None:
    """Count one more against ``rate`` for ``key`` (the console's limiter storage): None while within it, else
    when the exceeded window takes another (its reset time, for the 429's ``Retry-After``).

    When the counters cannot be reached (Redis down) the complaint is let through, with a warning: filing a
    complaint matters more than the guard, and the honeypot and the form token still stand."""
    try:
        strategy = limiter.limiter
        over = [item for item in parse_many(rate) if not strategy.hit(item, "website", scope, key)]
        resets = [strategy.get_window_stats(item, "website", scope, key).reset_time for item in over]
    except Exception as exc:  # whatever the storage raises: redis, connection, timeout
        log.warning("website rate limit %s not counted (%s): let through", scope, type(exc).__name__)
        return None
    return max(resets, default=None)


def _phone_key(e164: str) -> str:
    """The counter's key for a phone number: a keyed digest, so the store never holds the number."""
    key = current_app.secret_key
    secret = key.encode() if isinstance(key, str) else bytes(key or b"")
    return hmac.new(secret, e164.encode(), hashlib.sha256).hexdigest()[:32]


# -- the page -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One step as the page shows it: the step, its question (the chat's), when it applies, what was typed."""

    step: Step
    prompt: str | None
    condition: list[tuple[str, list[str]]]  # (earlier step's label, the answers that make this one apply)
    value: Any
    error: str | None


def _prompt(step: Step) -> str | None:
    """The hint under a field: the step's own question (a literal ``prompt`` from tousu.toml, else the chat's
    template), unless ``templates/messages/intake/web/<key>`` words it for a page (the chat's "send your
    location" or "reply 跳过" mean nothing here)."""
    if step.parser == "choice":
        return None  # the options are shown; the chat's "请选择…：" adds nothing
    if step.prompt:
        return step.prompt
    ctx = runtime().context()
    if step.template is None:
        try:
            return render_message(f"intake/web/{step.key}", ctx=ctx) or None
        except TemplateNotFound:
            pass
    # One field per step on a page: the chat's grouped wording (`together`: name and phone in one question) is not it.
    return render_message(step.template_name, ctx=ctx, answers={}, together=False) or None


def _condition(form: Form, step: Step) -> list[tuple[str, list[str]]]:
    parts = []
    for key, codes in step.when.items():
        earlier = form.step(key)
        labels = option_labels(earlier.options)
        parts.append((earlier.label, [labels.get(code, code) for code in codes]))
    return parts


def _fields(raw: dict[str, Any], entry: FormEntry | None) -> list[Field]:
    form = _form()
    errors = entry.errors if entry is not None else {}
    return [
        Field(step, _prompt(step), _condition(form, step), raw.get(step.key), errors.get(step.key))
        for step in form.steps if step.parser != "evidence"
    ]


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for step in _form().steps:
        if step.parser == "choice":
            raw[step.key] = [v[:64] for v in request.form.getlist(step.key)][:20]
        elif step.parser != "evidence":
            raw[step.key] = request.form.get(step.key, "")[:5000]
    return raw


def _evidence_step() -> Step | None:
    return next((s for s in _form().steps if s.parser == "evidence"), None)


def _entry_param() -> str:
    """Where the visitor came from (``?from=`` of the link, then the form's hidden copy); "" if unknown."""
    value = request.args.get("from", "")
    if not value and request.method == "POST":
        try:
            value = request.form.get("from", "")
        except RequestEntityTooLarge:  # the 413 page: the form cannot be read
            value = ""
    return value if value in ENTRIES else ""


def _page(status: int, *, raw: dict[str, Any] | None = None, entry: FormEntry | None = None,
          problem: str | None = None, photo_problem: tuple[str, str | None] | None = None,
          headers: dict[str, str] | None = None) -> ResponseReturnValue:
    settings = _settings()
    evidence = _evidence_step()
    return render_template(
        "website/complaint.html",
        company=runtime().settings.policy.company, fields=_fields(raw or {}, entry), token=_form_token(),
        honeypot=HONEYPOT, entry_from=_entry_param(), problem=problem, photo_problem=photo_problem,
        evidence=evidence if settings.max_photos > 0 else None, settings=settings,
    ), status, headers or {}


@bp.get("/complaint")
def complaint() -> ResponseReturnValue:
    return _page(200)


@bp.post("/complaint")
def submit() -> ResponseReturnValue:
    settings = _settings()
    try:
        raw = _raw()
        uploads = request.files.getlist("photos")
    except RequestEntityTooLarge:
        return _page(413, problem="request_too_large")
    reset = _over(settings.rate_per_ip, "ip", request.remote_addr or "-")
    if reset is not None:
        return _page(429, raw=raw, problem="too_often", headers=retry_after(reset))
    if request.form.get(HONEYPOT, "").strip():
        log.info("website form: honeypot filled; nothing filed")
        return _thanks(None)
    if not _same_origin() or not _token_ok():
        return _page(400, raw=raw, problem="stale")
    rt = runtime()
    ctx = rt.context()
    entry = read_entry(_form(), raw, today=ctx.today)
    evidence = _evidence_step()
    if evidence is None or settings.max_photos == 0:
        uploads = []  # no photo field on the page: whatever a crafted request sends is not kept
    photos, photo_problem = _photos(uploads, settings)
    if photo_problem is None and evidence is not None and evidence.required and not photos:
        photo_problem = ("required", None)
    if not entry.ok or photo_problem is not None:
        return _page(422, raw=raw, entry=entry, problem="check", photo_problem=photo_problem)
    phone = (entry.answers.get("phone") or {}).get("e164")
    reset = _over(settings.rate_per_phone, "phone", _phone_key(phone)) if phone else None
    if reset is not None:
        return _page(429, raw=raw, problem="too_often_phone", headers=retry_after(reset))
    root = Path(current_app.config["TOUSU_ATTACHMENT_DIR"])
    written: list[Path] = []
    try:
        with rt.db.transaction() as s:
            rows = store_photos(s, photos, root, ctx.now, written=written)
            filed = register_website(s, ctx, answers=entry.answers, attachments=rows, entry=_entry_param() or None)
            number = filed.number
    except IncompleteDraft as exc:  # read_entry asks every required step; a form changed mid-request
        _remove(written)
        entry.errors.update({key: render_message("intake/entry/required", step=_form().step(key)) for key in exc.keys})
        return _page(422, raw=raw, entry=entry, problem="check")
    except BaseException:
        _remove(written)
        raise
    log.info("website complaint %s filed (%d photo(s))", number, len(photos))
    token = customer.sign_case(number, secret=rt.settings.secret_key, now=ctx.now)
    return redirect(url_for(".done", number=number, t=token), code=303)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _photos(uploads: list[Any], settings: WebsiteSettings) -> tuple[list[Photo], tuple[str, str | None] | None]:
    """The uploaded photos, checked; or the first problem (and the file it is about)."""
    chosen = [u for u in uploads if u is not None and (u.filename or "")]
    if not chosen:
        return [], None
    if len(chosen) > settings.max_photos:
        return [], (PhotoProblem.TOO_MANY.value, None)
    photos: list[Photo] = []
    for upload in chosen:
        name = (upload.filename or "")[-60:]
        data = upload.stream.read(settings.photo_max_bytes + 1)
        try:
            photos.append(check_photo(data, upload.mimetype, settings))
        except PhotoRefused as exc:
            return [], (exc.problem.value, name)
    return photos, None


def _thanks(number: str | None, token: str | None = None) -> ResponseReturnValue:
    """The end page; without a number (the honeypot) it thanks and shows nothing that could be checked."""
    rt = runtime()
    case_link = customer_link = received = None
    if number is not None and token is not None:
        with rt.db.read_sessions() as s:
            filed = customer.case_by_number(s, number)
            if filed is None:
                abort(404)
            received = local_time(filed.received_at)
        customer_link = url_for("customer.case", number=number, t=token)
        case_link = customer.case_url(number, now=rt.clock())
    return render_template("website/done.html", company=rt.settings.policy.company, number=number,
                           customer_link=customer_link, case_link=case_link, received=received,
                           link_days=customer.LINK_MAX_AGE.days), 200


@bp.get("/complaint/done/<number>")
def done(number: str) -> ResponseReturnValue:
    """The end page: the number and the case page's link (the token is that link's own)."""
    token = request.args.get("t", "")
    rt = runtime()
    check = customer.check_case_token(token, number, secret=rt.settings.secret_key, now=rt.clock())
    if check is not customer.LinkCheck.OK:
        return render_template("website/done.html", company=rt.settings.policy.company, number=None,
                               invalid=True), 404
    return _thanks(number, token)


@bp.errorhandler(404)
def not_found(exc: Exception) -> ResponseReturnValue:
    """The page switched off (``[website] enabled = false``), or an end page that is not there: in Chinese."""
    closed = request.endpoint == "website.complaint" or request.endpoint == "website.submit"
    return render_template("website/done.html", company=runtime().settings.policy.company, number=None,
                           invalid=not closed, closed=closed), 404


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    return _page(413, problem="request_too_large")


@bp.after_request
def headers(response: Response) -> Response:
    """The customer page's strict headers; framing only by the sites ``[website] embed_origins`` names."""
    origins = _settings().embed_origins
    ancestors = " ".join(origins) if origins else "'none'"
    h = response.headers
    h["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-ancestors {ancestors}; form-action 'self'; base-uri 'self'; object-src 'none'"
    )
    if not origins:
        h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    # The end page's address carries the case link's token: never sent on. The form page must keep its origin
    # on its own POST (a browser under no-referrer sends "Origin: null", which the Origin check refuses).
    h["Referrer-Policy"] = "no-referrer" if request.endpoint == "website.done" else "same-origin"
    if request.endpoint != "website.static":
        h["Cache-Control"] = "no-store"
    return response


__all__ = ["HONEYPOT", "bp", "init_app"]
