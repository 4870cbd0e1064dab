"""The app's long-lived parts (settings, database, crypto, the outage counter), kept on the Flask app, built once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from flask import current_app
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.config import Settings
from handlers.context import HandlerContext
from storage.db import Database

log = logging.getLogger("tousu.runtime")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FailedDeliveries:
    """How often one delivery has failed for want of a database, counted outside the database.

    WeChat redelivers a message it got no answer to (5 s apart, three times at most), so during an outage
    each delivery of one message counts here; the count decides when to stop asking for a retry. With
    ``REDIS_URL`` every worker process shares the count; without it (or while Redis is down too) each
    process counts alone, which at worst apologises one delivery later.
    """

    def __init__(self, redis_url: str | None, window_seconds: int = 120) -> None:
        self.window = window_seconds
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5) if redis_url else None
        )
        self._lock = threading.Lock()
        self._local: dict[str, tuple[int, float]] = {}

    def record(self, key: str) -> int:
        """Count one more failed delivery of ``key``; returns how many there have been within the window."""
        if self._redis is not None:
            name = f"tousu:failed-delivery:{key}"
            try:
                pipe = self._redis.pipeline()
                pipe.incr(name)
                pipe.expire(name, self.window)
                count, _ = pipe.execute()
                return int(count)
            except redis.RedisError as exc:
                log.warning("redis unavailable (%s): counting failed deliveries in this process", type(exc).__name__)
        return self._record_locally(key)

    def _record_locally(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            for stale in [k for k, (_, first) in self._local.items() if now - first > self.window]:
                del self._local[stale]
            count, first = self._local.get(key, (0, now))
            self._local[key] = (count + 1, first)
            return count + 1


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Callable[[], dt.datetime] = _utcnow
    wechat_crypto: WeChatCrypto | None = field(init=False)
    wecom_crypto: WeComCrypto | None = field(init=False)
    failed_deliveries: FailedDeliveries = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.wechat_crypto = (
            WeChatCrypto(s.wechat_token, s.wechat_aes_key, s.wechat_appid) if s.wechat_aes_key else None
        )
        self.wecom_crypto = (
            WeComCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
            if s.wecom_token and s.wecom_aes_key and s.wecom_corp_id else None
        )
        self.failed_deliveries = FailedDeliveries(s.redis_url)

    def context(self) -> HandlerContext:
        return HandlerContext(now=self.clock(), policy=self.settings.policy)


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["tousu"]
    return rt
