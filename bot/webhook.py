"""The callback endpoints WeChat and WeCom post to: verify, decrypt, dedupe, dispatch, reply.

Kept thin on purpose: security checks here, the unit of work in bot/inbound.py, the answers in handlers/.
Both callbacks run through one helper (:func:`_callback`, :func:`_verified_fields`); what differs between them
is an :class:`Endpoint`. Nothing a sender controls reaches a stack trace: every malformed input ends in a 4xx
with a short body, and a database outage asks WeChat to deliver again (see :func:`_database_unavailable`).
"""

from __future__ import annotations

import binascii
import datetime as dt
import logging
import secrets
import struct
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Blueprint, Response, current_app, request
from sqlalchemy import exc as sa_exc
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.enterprise.replies import TextReply as WeComTextReply
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException

from bot.inbound import MalformedMessage, QueueExtra, Router, deliver, log_delivery, to_incoming
from bot.runtime import Runtime, runtime
from bot.security import read_body, require_fresh, require_signature
from handlers.messages import IncomingMessage
from handlers.privacy import mask_openid, mask_phones_in
from handlers.render import render_message
from handlers.router import route, route_staff
from storage.models import InboundChannel
from storage.outbox import queue_customer_text, queue_staff_text

log = logging.getLogger("tousu.webhook")
bp = Blueprint("webhook", __name__)

# What a malformed body raises inside xmltodict/expat after the signature held (an <!ENTITY: ValueError).
_BAD_XML = (ValueError, TypeError, ExpatError, UnicodeDecodeError)
# What a ciphertext that is not WeChat's raises inside wechatpy's decryption (random base64 included).
_BAD_CIPHERTEXT = (ValueError, KeyError, TypeError, IndexError, struct.error, binascii.Error, UnicodeDecodeError,
                   InvalidAppIdException, InvalidCorpIdException)
# The database cannot be reached or refused the transaction for now: a later delivery may succeed.
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
#: WeChat delivers a message once and retries three times at most: the fourth delivery is the last one.
LAST_DELIVERY = 4
#: WeChat retries a delivery it had no answer to within 5 s (its documented rule; what it does with a 5xx is
#: not documented), so a delivery that should be retried is answered only after this many seconds.
RETRY_HOLD_SECONDS = 5.5


@dataclass(frozen=True)
class Endpoint:
    """What differs between /wechat and /wecom; everything else is written once below."""

    name: str  # in log lines
    channel: InboundChannel
    token: str
    crypto: Any  # wechatpy's WeChatCrypto for the channel, or None without an EncodingAESKey
    always_encrypted: bool  # WeCom: ciphertext only, signed by msg_signature alone
    router: Router
    queue_extra: QueueExtra
    reply_xml: Callable[[IncomingMessage, str], str]


def _plain(text: str) -> Response:
    return Response(text, mimetype="text/plain")


def _xml_fields(body: str | bytes) -> dict[str, Any]:
    """The children of ``<xml>``; anything else is a 400."""
    try:
        parsed = xmltodict.parse(body)
    except _BAD_XML as exc:
        raise BadRequest("malformed XML") from exc
    xml = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(xml, dict):
        raise BadRequest("malformed XML")
    return xml


def _verified_fields(endpoint: Endpoint, max_skew_seconds: int) -> tuple[dict[str, Any], bool]:
    """Size cap, timestamp window, signature(s), decryption, parsing: the fields of a message WeChat signed.

    Returns the fields and whether the request was encrypted (the reply must then be too).
    """
    args = request.args
    body = read_body(request)
    timestamp = require_fresh(args.get("timestamp"), max_skew_seconds)
    nonce = args.get("nonce", "")
    if not endpoint.always_encrypted:
        require_signature(args.get("signature"), endpoint.token, timestamp, nonce)
        if args.get("encrypt_type", "raw").lower() != "aes":
            return _xml_fields(body), False
    if endpoint.crypto is None:
        raise BadRequest("encrypted message but no EncodingAESKey configured")
    outer = _xml_fields(body)
    encrypt = outer.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise BadRequest("missing Encrypt")
    msg_signature = args.get("msg_signature")
    require_signature(msg_signature, endpoint.token, timestamp, nonce, encrypt)
    try:  # wechatpy takes the envelope already parsed (it would parse the body again)
        xml = endpoint.crypto.decrypt_message(outer, msg_signature, timestamp, nonce)
    except InvalidSignatureException as exc:
        raise Forbidden("invalid signature") from exc
    except _BAD_CIPHERTEXT as exc:
        raise BadRequest("cannot decrypt") from exc
    return _xml_fields(xml), True


def _callback(endpoint: Endpoint) -> Response:
    started = time.perf_counter()
    rt = runtime()
    message: IncomingMessage | None = None
    try:
        fields, encrypted = _verified_fields(endpoint, rt.settings.wechat_max_skew_seconds)
        try:
            message = to_incoming(fields)
        except MalformedMessage as exc:
            raise BadRequest(str(exc)) from exc
        if not message.sender:
            if message.kind != "event":
                raise BadRequest("no sender")
            # An event about the account rather than a person (WeCom's 微信客服 kf_msg_or_event): tousu does
            # not use it, and anything but success would make the platform retry it.
            log_delivery(endpoint.name, message, "ignored", "event_without_sender", started)
            return _plain("success")
        outcome = deliver(rt.db, endpoint.channel, message, rt.context(), endpoint.router, endpoint.queue_extra)
    except HTTPException as exc:
        log_delivery(endpoint.name, message, f"rejected:{exc.code}", "-", started, detail=exc.description)
        raise
    except DATABASE_UNAVAILABLE as exc:
        if message is None:
            raise
        return _database_unavailable(endpoint, rt, message, encrypted, exc, started)
    except Exception as exc:
        # Never swallowed: logged with who (masked) and which message, the customer gets a fixed apology,
        # and tests (PROPAGATE_EXCEPTIONS) see the exception itself.
        log.error("%s handler failed openid=%s msg_id=%s\n%s", endpoint.name,
                  mask_openid(message.sender if message else None), message.msg_id if message else None,
                  _masked_trace(exc, message))
        log_delivery(endpoint.name, message, "error", "-", started)
        if current_app.testing or current_app.config.get("PROPAGATE_EXCEPTIONS") or message is None:
            raise
        return _reply(endpoint, message, render_message("apology"), encrypted)
    log_delivery(endpoint.name, message, outcome.status, outcome.handler, started)
    if not outcome.reply:
        return _plain("success")
    return _reply(endpoint, message, outcome.reply, encrypted)


def _database_unavailable(endpoint: Endpoint, rt: Runtime, message: IncomingMessage, encrypted: bool,
                          exc: Exception, started: float) -> Response:
    """Let WeChat's own retries ride out a short outage; apologise on the last delivery of a long one.

    Nothing of the failed delivery was stored (its transaction rolled back), so a retry runs it afresh and
    dedupe keeps it to one effect. Not a bug of ours: one log line, no stack trace.
    """
    delivery = rt.failed_deliveries.record(f"{endpoint.channel.value}:{message.dedupe_key}")
    last = delivery >= LAST_DELIVERY
    log_delivery(endpoint.name, message, "db_unavailable", "apology" if last else "retry", started,
                 detail=f"{type(exc).__name__}, failed delivery {delivery}")
    if not last:
        # Hold the answer past WeChat's 5-second window: it then retries, as documented, whatever it makes of
        # a 503. The worker would only fail other messages meanwhile: the database is down.
        hold = float(current_app.config.get("CALLBACK_RETRY_HOLD_SECONDS", RETRY_HOLD_SECONDS))
        time.sleep(max(0.0, hold - (time.perf_counter() - started)))
        return Response("database unavailable, deliver again", status=503, mimetype="text/plain")
    return _reply(endpoint, message, render_message("apology"), encrypted)


def _masked_trace(exc: BaseException, message: IncomingMessage | None) -> str:
    """The stack trace of a crash, without the sender's openid or any phone number (a DB error quotes values)."""
    trace = "".join(traceback.format_exception(exc)).rstrip()
    if message is not None and message.sender:
        trace = trace.replace(message.sender, mask_openid(message.sender))
    return mask_phones_in(trace)


def _reply(endpoint: Endpoint, message: IncomingMessage, text: str, encrypted: bool) -> Response:
    xml = endpoint.reply_xml(message, text)
    if encrypted:
        xml = endpoint.crypto.encrypt_message(xml, secrets.token_hex(5), str(int(time.time())))
    return Response(xml, mimetype="application/xml")


# -- Official Account (公众号) -------------------------------------------------------------------

def _wechat_reply(message: IncomingMessage, text: str) -> str:
    reply: str = TextReply(source=message.raw.get("ToUserName", ""), target=message.sender, content=text).render()
    return reply


def _queue_customer_extra(session: Any, openid: str, text: str, key: str, now: dt.datetime) -> object:
    return queue_customer_text(session, openid, text, now=now, dedupe_key=key)


def _wechat_endpoint(rt: Runtime) -> Endpoint:
    return Endpoint("wechat", InboundChannel.WECHAT, rt.settings.wechat_token, rt.wechat_crypto, False, route,
                    _queue_customer_extra, _wechat_reply)


@bp.get("/wechat")
def wechat_url_check() -> Response:
    """The URL check when the server address is saved in the Official Account console."""
    settings = runtime().settings
    args = request.args
    timestamp = require_fresh(args.get("timestamp"), settings.wechat_max_skew_seconds)
    require_signature(args.get("signature"), settings.wechat_token, timestamp, args.get("nonce", ""))
    return _plain(args.get("echostr", ""))


@bp.post("/wechat")
def wechat_callback() -> Response:
    return _callback(_wechat_endpoint(runtime()))


# -- WeCom app (企业微信应用) ---------------------------------------------------------------------

def _wecom_reply(message: IncomingMessage, text: str) -> str:
    reply: str = WeComTextReply(source=message.raw.get("ToUserName", ""), target=message.sender, content=text,
                                agent=message.raw.get("AgentID")).render()
    return reply


def _queue_staff_extra(session: Any, userid: str, text: str, key: str, now: dt.datetime) -> object:
    return queue_staff_text(session, [userid], text, now=now, dedupe_key=key)


def _wecom_endpoint(rt: Runtime) -> Endpoint:
    if rt.wecom_crypto is None:
        raise Forbidden("WeCom callbacks are not configured")
    return Endpoint("wecom", InboundChannel.WECOM, rt.settings.wecom_token or "", rt.wecom_crypto, True,
                    route_staff, _queue_staff_extra, _wecom_reply)


@bp.get("/wecom")
def wecom_url_check() -> Response:
    """WeCom's URL check is encrypted: verify msg_signature, decrypt echostr, answer the plaintext."""
    endpoint = _wecom_endpoint(runtime())
    args = request.args
    timestamp = require_fresh(args.get("timestamp"), runtime().settings.wechat_max_skew_seconds)
    echostr = args.get("echostr", "")
    require_signature(args.get("msg_signature"), endpoint.token, timestamp, args.get("nonce", ""), echostr)
    try:
        plain = endpoint.crypto.check_signature(args["msg_signature"], timestamp, args.get("nonce", ""), echostr)
    except InvalidSignatureException as exc:
        raise Forbidden("invalid signature") from exc
    except _BAD_CIPHERTEXT as exc:
        raise BadRequest("cannot decrypt echostr") from exc
    return _plain(plain.decode() if isinstance(plain, bytes) else str(plain))


@bp.post("/wecom")
def wecom_callback() -> Response:
    started = time.perf_counter()
    try:
        endpoint = _wecom_endpoint(runtime())
    except HTTPException as exc:
        log_delivery("wecom", None, f"rejected:{exc.code}", "-", started, detail=exc.description)
        raise
    return _callback(endpoint)
