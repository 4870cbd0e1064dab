"""The floor baseline: the least any correct /wechat endpoint must do, and nothing more.

A bare Flask app with the same token, EncodingAESKey and AppID as tousu in dev mode. Per request it checks
the timestamp window and the URL signature, verifies ``msg_signature`` and decrypts with wechatpy's
``WeChatCrypto``, parses with ``wechatpy.parse_message`` and returns a canned, encrypted text reply.
No database, no routing, no templates, no logging: tousu's figures are divided by this one's.

The *durable* floor (``create_durable_app()``) does the same plus the one transaction per message the
issues require of any correct implementation (bench/floor_store.py: claim the MsgId, lock and save the
follower's row, record the reply, commit), on ``FLOOR_DATABASE_URL``. Dividing tousu by it shows what
tousu's own code costs beyond what durability costs.

The *SQLAlchemy* durable floor (``create_sqlalchemy_app()``) runs that transaction's statements through
tousu's own storage layer (bench/floor_store.py ``SqlAlchemyStore``): what the required database layer costs.

Served by `make bench` as ``gunicorn -w 2 'bench.floor_app:app'``,
``gunicorn -w 2 'bench.floor_app:create_durable_app()'`` and
``gunicorn -w 2 'bench.floor_app:create_sqlalchemy_app()'``.
"""

from __future__ import annotations

import binascii
import os
import secrets
import time
from xml.parsers.expat import ExpatError

from flask import Flask, Response, abort, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from bench.floor_store import SqlAlchemyStore, Store, store_for
from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN

# About as long as tousu's help text, so both sides encrypt and send a similar reply.
CANNED_REPLY = (
    "您好，这里是投诉受理。\n· 回复“投诉”开始登记投诉\n"
    "· 回复“查询”或投诉编号查看进度\n· 回复“人工”请工作人员与您电话联系"
)
MAX_SKEW_SECONDS = 300
_BAD_INPUT = (ValueError, KeyError, TypeError, ExpatError, binascii.Error, UnicodeDecodeError, AttributeError)


def create_floor_app(token: str = DEV_WECHAT_TOKEN, aes_key: str = DEV_AES_KEY, appid: str = DEV_APPID,
                     store: Store | None = None) -> Flask:
    app = Flask(__name__)
    crypto = WeChatCrypto(token, aes_key, appid)

    @app.post("/wechat")
    def wechat() -> Response:
        args = request.args
        timestamp = args.get("timestamp", "")
        nonce = args.get("nonce", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
            abort(403)
        try:
            check_signature(token, args.get("signature", ""), timestamp, nonce)
            xml = crypto.decrypt_message(request.get_data(), args.get("msg_signature", ""), timestamp, nonce)
            message = parse_message(xml)
        except InvalidSignatureException:
            abort(403)
        except (InvalidAppIdException, *_BAD_INPUT):
            abort(400)
        content: str | None = CANNED_REPLY
        if store is not None:
            content = store.deliver(message.source, message.id, message.type, CANNED_REPLY)
            if content is None:
                return Response("success", mimetype="text/plain")
        reply = TextReply(source=message.target, target=message.source, content=content).render()
        body = crypto.encrypt_message(reply, secrets.token_hex(5), str(int(time.time())))
        return Response(body, mimetype="application/xml")

    return app


def create_durable_app() -> Flask:
    """The floor plus the per-message transaction on ``FLOOR_DATABASE_URL`` (a migrated tousu database)."""
    return create_floor_app(store=store_for(os.environ["FLOOR_DATABASE_URL"]))


def create_sqlalchemy_app() -> Flask:
    """The durable floor's transaction through tousu's storage layer (SQLAlchemy), on ``FLOOR_DATABASE_URL``."""
    return create_floor_app(store=SqlAlchemyStore(os.environ["FLOOR_DATABASE_URL"]))


app = create_floor_app()
