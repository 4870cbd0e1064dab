"""The outbound error policy: what each WeChat/WeCom failure means for the message that hit it.

Senders turn every failure into a :class:`ChannelError` whose :class:`ErrorKind` the dispatcher acts on:

===================  ===========================================  ==========================================
kind                 when                                         the dispatcher
===================  ===========================================  ==========================================
``RETRY``            ``-1`` (busy), timeouts, connection errors,  back off (exponential, jittered) and try
                     HTTP 5xx, unknown codes                      again, up to ``MAX_ATTEMPTS`` calls
``STALE_CREDENTIAL`` ``40001``/``40014``/``42001`` still failing  same as ``RETRY`` (the client already
                     after the client's one refresh-and-retry     refreshed once; a loop here would hammer)
``DAILY_QUOTA``      ``45009``                                    waits for the next Asia/Shanghai midnight
``OUTSIDE_WINDOW``   ``45015`` (no 客服消息 after 48 h)             the sender falls back to the template
                                                                  message; without one: failed
``PERMANENT``        ``45047``, ``43004``, ``43101``, ``40003``,  failed, with the code in ``last_error``
                     ``40037``, ``47003``, WeCom ``81013``
===================  ===========================================  ==========================================

Unknown codes are retried (bounded) rather than failed: WeChat adds codes, and a few wasted calls cost less
than a complaint reply that never arrives. Codes are from developers.weixin.qq.com and
developer.work.weixin.qq.com (全局返回码).
"""

from __future__ import annotations

import datetime as dt
import enum
import random

import requests
from redis.exceptions import LockError, RedisError
from wechatpy.exceptions import WeChatClientException

from storage.base import SHANGHAI

BUSY = -1  # 系统繁忙
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})  # invalid credential / invalid token / token expired
DAILY_QUOTA = 45009  # 接口调用超过限制 (daily quota, resets at midnight Beijing time)
OUTSIDE_WINDOW = 45015  # 回复时间超过限制: the 48 h customer-service window has closed
PERMANENT_ERRCODES = frozenset({
    45047,  # 客服消息 over the per-window quota
    43004,  # the user does not follow the account
    43101,  # the user refused the subscription notice
    40003,  # invalid openid
    40037,  # invalid template_id
    47003,  # template data does not match the template
    81013,  # WeCom: every recipient is invalid
})

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)


class ErrorKind(enum.Enum):
    RETRY = "retry"
    STALE_CREDENTIAL = "stale_credential"
    DAILY_QUOTA = "daily_quota"
    OUTSIDE_WINDOW = "outside_window"
    PERMANENT = "permanent"

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.RETRY, ErrorKind.STALE_CREDENTIAL)


class ChannelError(Exception):
    """A send that did not (or may not) have gone through, classified for the dispatcher.

    ``str(err)`` is what lands in the outbox row's ``last_error``: it always starts with the errcode when
    the platform gave one, so an operator can search for it.
    """

    def __init__(self, kind: ErrorKind, detail: str, *, errcode: int | None = None) -> None:
        self.kind = kind
        self.errcode = errcode
        self.detail = detail
        super().__init__(f"{errcode}: {detail}" if errcode is not None else detail)


def classify_errcode(errcode: int) -> ErrorKind:
    """The policy for one platform error code (WeChat and WeCom share the global codes)."""
    if errcode == BUSY:
        return ErrorKind.RETRY
    if errcode in TOKEN_ERRCODES:
        return ErrorKind.STALE_CREDENTIAL
    if errcode == DAILY_QUOTA:
        return ErrorKind.DAILY_QUOTA
    if errcode == OUTSIDE_WINDOW:
        return ErrorKind.OUTSIDE_WINDOW
    if errcode in PERMANENT_ERRCODES:
        return ErrorKind.PERMANENT
    return ErrorKind.RETRY


def channel_error(exc: BaseException) -> ChannelError | None:
    """Translate an exception raised while calling a platform; None when it is not a platform failure.

    Returning None for anything else (a ``KeyError`` from a malformed payload, a bug) lets the dispatcher
    log it with its traceback instead of mistaking it for a network hiccup.
    """
    if isinstance(exc, ChannelError):
        return exc
    if isinstance(exc, WeChatClientException):
        if exc.errcode is None:  # no platform code: an HTTP error status, or a body that made no sense
            status = getattr(exc.response, "status_code", None)
            return ChannelError(ErrorKind.RETRY, str(exc.errmsg or f"HTTP {status} from the platform"))
        errcode = int(exc.errcode)
        return ChannelError(classify_errcode(errcode), str(exc.errmsg), errcode=errcode)
    if isinstance(exc, requests.ConnectTimeout):
        return ChannelError(ErrorKind.RETRY, "connect timeout (nothing was sent)")
    if isinstance(exc, requests.Timeout):
        # A read timeout may mean the message *was* delivered; the policy retries anyway (a duplicate
        # reply beats a lost one, and template messages carry client_msg_id). The note says so.
        return ChannelError(ErrorKind.RETRY, f"read timeout ({type(exc).__name__}; may have been delivered)")
    if isinstance(exc, requests.RequestException):
        return ChannelError(ErrorKind.RETRY, f"network error ({type(exc).__name__}: {exc})"[:300])
    if isinstance(exc, LockError | RedisError):
        return ChannelError(ErrorKind.RETRY, f"token storage unavailable ({type(exc).__name__}: {exc})"[:300])
    return None


def backoff(attempt: int, *, base: dt.timedelta = BACKOFF_BASE, cap: dt.timedelta = BACKOFF_CAP,
            rng: random.Random | None = None) -> dt.timedelta:
    """Delay before try ``attempt + 1``: doubling from ``base``, capped, with "equal jitter".

    Half the delay is fixed (so retries really back off) and half random (so rows that failed together,
    e.g. during a WeChat outage, do not all come back in the same second).
    """
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    half = step / 2
    return half + half * (rng or random).random()


def next_quota_reset(now: dt.datetime) -> dt.datetime:
    """The next midnight in Asia/Shanghai (when WeChat's daily quotas reset), as an aware UTC datetime."""
    local = now.astimezone(SHANGHAI)
    tomorrow = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0, 0), tzinfo=SHANGHAI)
    return tomorrow.astimezone(dt.UTC)


__all__ = [
    "BUSY",
    "DAILY_QUOTA",
    "MAX_ATTEMPTS",
    "OUTSIDE_WINDOW",
    "PERMANENT_ERRCODES",
    "SHANGHAI",
    "TOKEN_ERRCODES",
    "ChannelError",
    "ErrorKind",
    "backoff",
    "channel_error",
    "classify_errcode",
    "next_quota_reset",
]
