"""The callback endpoints WeChat and WeCom post to: verify, decrypt, dedupe, dispatch, reply.

Kept thin on purpose: security checks here, the unit of work in bot/inbound.py, the answers in handlers/.
Nothing an attacker sends reaches a stack trace: every malformed input ends in a 4xx with a short body.
"""

from __future__ import annotations

import binascii
import datetime as dt
import logging
import secrets
import time
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from flask import Blueprint, Response, current_app, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise import parse_message as parse_wecom_message
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.enterprise.replies import TextReply as WeComTextReply
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException

from bot.inbound import deliver, log_delivery, to_incoming
from bot.runtime import runtime
from bot.security import read_body, require_fresh, require_signature
from handlers.messages import IncomingMessage
from handlers.render import render_message
from handlers.router import route, route_staff
from storage.models import InboundChannel
from storage.outbox import queue_customer_text, queue_staff_text

log = logging.getLogger("tousu.webhook")
bp = Blueprint("webhook", __name__)

# What a malformed body or ciphertext raises inside xmltodict/expat/wechatpy after the signature held.
_BAD_INPUT = (ValueError, KeyError, TypeError, ExpatError, binascii.Error, UnicodeDecodeError, AttributeError)


def _outer_xml(body: bytes) -> dict[str, Any]:
    try:
        parsed = xmltodict.parse(body)
    except _BAD_INPUT as exc:
        raise BadRequest("malformed XML") from exc
    xml = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(xml, dict):
        raise BadRequest("malformed XML")
    return xml


def _plain(text: str) -> Response:
    return Response(text, mimetype="text/plain")


# -- Official Account (公众号) -------------------------------------------------------------------

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
    started = time.perf_counter()
    rt = runtime()
    settings = rt.settings
    args = request.args
    message: IncomingMessage | None = None
    try:
        body = read_body(request)
        timestamp = require_fresh(args.get("timestamp"), settings.wechat_max_skew_seconds)
        nonce = args.get("nonce", "")
        require_signature(args.get("signature"), settings.wechat_token, timestamp, nonce)
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        if encrypted:
            if rt.wechat_crypto is None:
                raise BadRequest("encrypted message but no WECHAT_AES_KEY configured")
            outer = _outer_xml(body)
            encrypt = outer.get("Encrypt")
            if not isinstance(encrypt, str) or not encrypt:
                raise BadRequest("missing Encrypt")
            msg_signature = args.get("msg_signature")
            require_signature(msg_signature, settings.wechat_token, timestamp, nonce, encrypt)
            try:  # wechatpy takes the envelope already parsed (it would parse the body again)
                xml: str | bytes = rt.wechat_crypto.decrypt_message(outer, msg_signature, timestamp, nonce)
            except InvalidSignatureException as exc:
                raise Forbidden("invalid signature") from exc
            except (InvalidAppIdException, *_BAD_INPUT) as exc:
                raise BadRequest("cannot decrypt") from exc
        else:
            xml = body
        try:
            parsed = parse_message(xml)
        except _BAD_INPUT as exc:
            raise BadRequest("malformed message") from exc
        message = to_incoming(parsed)
        if not message.sender:
            raise BadRequest("no sender")
        outcome = deliver(rt.db, InboundChannel.WECHAT, message, rt.context(), route, _queue_customer_extra)
    except HTTPException as exc:
        log_delivery("wechat", message, f"rejected:{exc.code}", "-", started)
        raise
    except Exception:
        # Never swallowed: logged with who and which message, the customer gets a fixed apology,
        # and tests (PROPAGATE_EXCEPTIONS) see the exception itself.
        log.exception("handler failed openid=%s msg_id=%s", message and message.sender, message and message.msg_id)
        log_delivery("wechat", message, "error", "-", started)
        if current_app.testing or current_app.config.get("PROPAGATE_EXCEPTIONS") or message is None:
            raise
        return _wechat_reply(rt, message, render_message("apology"), encrypted, parsed)
    log_delivery("wechat", message, outcome.status, outcome.handler, started)
    if not outcome.reply:
        return _plain("success")
    return _wechat_reply(rt, message, outcome.reply, encrypted, parsed)


def _queue_customer_extra(session: Any, openid: str, text: str, key: str, now: dt.datetime) -> object:
    return queue_customer_text(session, openid, text, now=now, dedupe_key=key)


def _wechat_reply(rt: Any, message: IncomingMessage, text: str, encrypted: bool, parsed: Any) -> Response:
    reply = TextReply(source=parsed.target, target=message.sender, content=text).render()
    if encrypted:
        crypto: WeChatCrypto = rt.wechat_crypto
        reply = crypto.encrypt_message(reply, secrets.token_hex(5), str(int(time.time())))
    return Response(reply, mimetype="application/xml")


# -- WeCom app (企业微信应用) ---------------------------------------------------------------------

def _wecom_crypto() -> WeComCrypto:
    crypto = runtime().wecom_crypto
    if crypto is None:
        raise Forbidden("WeCom callbacks are not configured")
    return crypto


@bp.get("/wecom")
def wecom_url_check() -> Response:
    """WeCom's URL check is encrypted: verify msg_signature, decrypt echostr, answer the plaintext."""
    settings = runtime().settings
    args = request.args
    crypto = _wecom_crypto()
    timestamp = require_fresh(args.get("timestamp"), settings.wechat_max_skew_seconds)
    echostr = args.get("echostr", "")
    require_signature(args.get("msg_signature"), settings.wecom_token or "", timestamp, args.get("nonce", ""), echostr)
    try:
        plain = crypto.check_signature(args["msg_signature"], timestamp, args.get("nonce", ""), echostr)
    except InvalidSignatureException as exc:
        raise Forbidden("invalid signature") from exc
    except (InvalidCorpIdException, *_BAD_INPUT) as exc:
        raise BadRequest("cannot decrypt echostr") from exc
    return _plain(plain.decode() if isinstance(plain, bytes) else str(plain))


@bp.post("/wecom")
def wecom_callback() -> Response:
    started = time.perf_counter()
    rt = runtime()
    settings = rt.settings
    args = request.args
    message: IncomingMessage | None = None
    try:
        crypto = _wecom_crypto()
        body = read_body(request)
        timestamp = require_fresh(args.get("timestamp"), settings.wechat_max_skew_seconds)
        nonce = args.get("nonce", "")
        outer = _outer_xml(body)
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise BadRequest("missing Encrypt")
        msg_signature = args.get("msg_signature")
        require_signature(msg_signature, settings.wecom_token or "", timestamp, nonce, encrypt)
        try:
            xml = crypto.decrypt_message(outer, msg_signature, timestamp, nonce)
            parsed = parse_wecom_message(xml)
        except InvalidSignatureException as exc:
            raise Forbidden("invalid signature") from exc
        except (InvalidCorpIdException, *_BAD_INPUT) as exc:
            raise BadRequest("cannot decrypt") from exc
        message = to_incoming(parsed)
        if not message.sender:
            raise BadRequest("no sender")
        outcome = deliver(rt.db, InboundChannel.WECOM, message, rt.context(), route_staff, _queue_staff_extra)
    except HTTPException as exc:
        log_delivery("wecom", message, f"rejected:{exc.code}", "-", started)
        raise
    except Exception:
        log.exception("staff handler failed userid=%s msg_id=%s", message and message.sender,
                      message and message.msg_id)
        log_delivery("wecom", message, "error", "-", started)
        if current_app.testing or current_app.config.get("PROPAGATE_EXCEPTIONS") or message is None:
            raise
        return _wecom_reply(crypto, parsed, message, render_message("apology"))
    log_delivery("wecom", message, outcome.status, outcome.handler, started)
    if not outcome.reply:
        return _plain("success")
    return _wecom_reply(crypto, parsed, message, outcome.reply)


def _queue_staff_extra(session: Any, userid: str, text: str, key: str, now: dt.datetime) -> object:
    return queue_staff_text(session, [userid], text, now=now, dedupe_key=key)


def _wecom_reply(crypto: WeComCrypto, parsed: Any, message: IncomingMessage, text: str) -> Response:
    xml = WeComTextReply(source=parsed.target, target=message.sender, content=text,
                         agent=getattr(parsed, "agent", None)).render()
    return Response(crypto.encrypt_message(xml, secrets.token_hex(5), str(int(time.time()))),
                    mimetype="application/xml")
