"""The app's long-lived parts (settings, database, crypto), kept on the Flask app, built once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.config import Settings
from handlers.context import HandlerContext
from storage.db import Database


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = _utcnow
    wechat_crypto: WeChatCrypto | None = field(init=False)
    wecom_crypto: WeComCrypto | None = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.wechat_crypto = (
            WeChatCrypto(s.wechat_token, s.wechat_aes_key, s.wechat_appid) if s.wechat_aes_key else None
        )
        self.wecom_crypto = (
            WeComCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
            if s.wecom_token and s.wecom_aes_key and s.wecom_corp_id else None
        )

    def context(self) -> HandlerContext:
        return HandlerContext(now=self.clock(), policy=self.settings.policy)


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["tousu"]
    return rt
