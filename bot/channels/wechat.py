"""The Official Account (公众号) API client and the sender for customer messages.

wechatpy 1.8.18 does the request building and error decoding; :class:`SharedTokenClient` fixes what it
gets wrong for a multi-process service (WECHAT.md, "wechatpy 1.8.18 traps"):

* the base URL is a class attribute and the token URL is hard-coded: both come from configuration here,
  per instance, so tests and the simulator can point a client at a local fake;
* ``auto_retry=True`` retries token errors recursively without bound: we pass ``auto_retry=False`` and
  refresh once, retry once;
* the token fetch ignores ``timeout``: every call here has one (5 s by default);
* each process fetching its own token invalidates the others' after 5 minutes: the token lives in Redis
  (one per app, shared by every process) and is fetched under a Redis lock, so only one process fetches.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urljoin

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.client.base import BaseWeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from bot.channels import Outgoing, Receipt, fit_text, logger
from bot.channels.errors import OUTSIDE_WINDOW, TOKEN_ERRCODES, ChannelError, ErrorKind, channel_error
from bot.config import Settings
from storage.models import OutboxChannel

DEFAULT_TIMEOUT = 5.0
MEDIA_READ_TIMEOUT = 30.0  # seconds between two chunks of a media download (a 10 MB video on a slow link)
MEDIA_CHUNK = 64 * 1024
MEDIA_ANSWER_BYTES = 64 * 1024  # a JSON answer from media/get is a few hundred bytes
OFFICIAL_ACCOUNT_API = "https://api.weixin.qq.com"
# Store tokens a little shorter than their 7200 s: the next caller fetches a fresh one before WeChat expires
# the old (WeChat keeps the old one valid for 5 minutes after a new fetch, so nobody sees a gap).
TOKEN_TTL_MARGIN = 300


def token_storage(redis_url: str | None, prefix: str) -> SessionStorage:
    """Redis when configured (every process shares one token per app), else this process's memory."""
    if redis_url:
        return RedisStorage(redis.Redis.from_url(redis_url), prefix=prefix)
    return MemoryStorage()


class SharedTokenClient(BaseWeChatClient):
    """Token handling shared by the Official Account and WeCom clients (mixed in before wechatpy's class).

    Subclasses call :meth:`_configure` from ``__init__`` and implement ``fetch_access_token`` with
    :attr:`token_url`.
    """

    token_url: str

    def _configure(self, base_url: str, token_path: str) -> None:
        base = base_url.rstrip("/")
        # An instance attribute shadows wechatpy's class attribute, which BaseWeChatClient._request reads.
        self.API_BASE_URL = f"{base}/cgi-bin/"
        self.token_url = f"{base}/cgi-bin/{token_path}"
        self._token_mutex = threading.Lock()

    # -- the access token -------------------------------------------------------------------------------

    @property
    def access_token(self) -> str:
        """The shared token, fetched (once, under the lock) only when storage has none."""
        token = self.session.get(self.access_token_key)
        if token:
            return str(token)
        return self.refresh_access_token()

    def refresh_access_token(self, stale: str | None = None) -> str:
        """Fetch a new token unless another process already replaced ``stale``; returns the current one.

        The compare step matters with several workers: when a token is rejected, the first worker to get
        the lock fetches a new one and the rest just pick it up, instead of each invalidating the last.
        """
        with self._token_lock():
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return str(current)
            self.fetch_access_token()
            token = self.session.get(self.access_token_key)
        if not token:
            raise WeChatClientException(None, "token endpoint gave no access_token", client=self)
        return str(token)

    @contextlib.contextmanager
    def _token_lock(self) -> Iterator[None]:
        if isinstance(self.session, RedisStorage):
            wait = 3 * float(self.timeout or DEFAULT_TIMEOUT)
            name = self.session.key_name(f"{self.access_token_key}:lock")
            # A LockError after `wait` seconds becomes a retry in the dispatcher; `timeout` frees the lock
            # if its holder dies mid-fetch.
            with self.session.redis.lock(name, timeout=wait + 5, blocking_timeout=wait):
                yield
        else:
            with self._token_mutex:
                yield

    def _fetch_access_token(self, url: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """wechatpy's fetch, with a timeout and a storage TTL shorter than the token's life."""
        res = self._http.get(url=url, params=params, timeout=self.timeout)
        if not res.ok:
            raise WeChatClientException(None, f"HTTP {res.status_code} from the token endpoint",
                                        client=self, request=res.request, response=res)
        try:
            result = res.json()
        except ValueError:
            raise WeChatClientException(None, "token endpoint answered non-JSON", client=self,
                                        request=res.request, response=res) from None
        errcode = int(result.get("errcode") or 0)
        if errcode != 0 or not result.get("access_token"):
            raise WeChatClientException(errcode or None, result.get("errmsg", "no access_token"), client=self,
                                        request=res.request, response=res)
        expires_in = int(result.get("expires_in") or 7200)
        self.session.set(self.access_token_key, result["access_token"], max(60, expires_in - TOKEN_TTL_MARGIN))
        self.expires_at = int(time.time()) + expires_in
        logger.info("fetched a new access token from %s", url)
        return dict(result)

    # -- every API call ---------------------------------------------------------------------------------

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """One call with a timeout; a rejected token is refreshed once and the call retried once."""
        kwargs.setdefault("timeout", self.timeout)
        for attempt in (1, 2):
            token = self.access_token
            params = dict(kwargs.get("params") or {})
            params["access_token"] = token
            try:
                return super()._request(method, url_or_endpoint, **{**kwargs, "params": params})
            except WeChatClientException as exc:
                if attempt == 2 or exc.errcode not in TOKEN_ERRCODES:
                    raise
                logger.info("access token rejected (%s); refreshing once", exc.errcode)
                self.refresh_access_token(stale=token)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _json(result: Any) -> dict[str, Any]:
        """wechatpy hands back the raw response when the body is not JSON; that is a failed call."""
        if not isinstance(result, dict):
            raise WeChatClientException(None, "the platform answered non-JSON", response=result)
        return result


class OfficialAccountClient(SharedTokenClient, WeChatClient):
    """公众号 API client: 客服消息, 模板消息 and the menu, against a configurable base URL."""

    def __init__(self, appid: str, secret: str, *, base_url: str = OFFICIAL_ACCOUNT_API,
                 storage: SessionStorage | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(appid, secret, session=storage or MemoryStorage(), timeout=timeout, auto_retry=False)
        self._configure(base_url, "token")
        self.media_read_timeout = MEDIA_READ_TIMEOUT

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            self.token_url, {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        )

    def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """客服消息 (message/custom/send): only within 48 h of the user's last message (else 45015)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return self._json(self.post("message/custom/send", data=body))

    def send_template(self, openid: str, template_id: str, data: Mapping[str, Any], url: str | None = None,
                      client_msg_id: str | None = None) -> dict[str, Any]:
        """模板消息 (message/template/send); ``client_msg_id`` makes a retry of the same message a no-op."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": dict(data)}
        if url:
            body["url"] = url
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return self._json(self.post("message/template/send", data=body))

    def create_menu(self, menu: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the account's custom menu (menu/create) with ``menu`` ({"button": [...]})."""
        return self._json(self.post("menu/create", data=dict(menu)))

    # -- temporary media (获取临时素材) -------------------------------------------------------------------

    def download_media(self, media_id: str, out: BinaryIO, *, max_bytes: int) -> MediaDownload:
        """Stream the temporary media ``media_id`` (``media/get``) into ``out``; at most ``max_bytes``.

        Not wechatpy's ``media.download``: it reads the whole body into memory (no size limit), decodes
        any body that parses as JSON as an answer (a .txt holding ``123`` came back as the int 123), and
        ``get_url`` hard-codes api.weixin.qq.com. Here the base URL is the configured one, the body is
        streamed, and only a body without ``Content-Disposition`` that *is* a JSON object counts as an
        answer: ``{"errcode": 40007}`` (expired), a token error (refreshed once, retried once, like
        :meth:`_request`), or a video's ``{"video_url": …}``, which is then fetched the same way.

        Raises ``WeChatClientException`` for platform errors and :class:`MediaTooLarge` past the limit.
        """
        for attempt in (1, 2):
            token = self.access_token
            response = self._http.get(f"{self.API_BASE_URL}media/get",
                                      params={"access_token": token, "media_id": media_id},
                                      stream=True, timeout=(self.timeout, self.media_read_timeout))
            with contextlib.closing(response):
                answer, head = self._media_answer(response)
                if answer is None:
                    return _stream_body(response, head, out, max_bytes)
                errcode = int(answer.get("errcode") or 0)
                if errcode in TOKEN_ERRCODES and attempt == 1:
                    logger.info("access token rejected (%s) by media/get; refreshing once", errcode)
                    self.refresh_access_token(stale=token)
                    continue
                if errcode:
                    raise WeChatClientException(errcode, answer.get("errmsg", errcode), client=self,
                                                request=response.request, response=response)
                video_url = answer.get("video_url")
                if isinstance(video_url, str) and video_url.startswith(("http://", "https://")):
                    with contextlib.closing(self._http.get(video_url, stream=True,
                                                           timeout=(self.timeout, self.media_read_timeout))) as video:
                        video_answer, video_head = self._media_answer(video)
                        if video_answer is None:
                            return _stream_body(video, video_head, out, max_bytes)
                raise WeChatClientException(None, "media/get answered JSON without media", client=self,
                                            request=response.request, response=response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _media_answer(self, response: requests.Response) -> tuple[dict[str, Any] | None, bytes]:
        """(the JSON answer, b"") when the platform answered instead of sending media; else (None, the
        bytes already read, which belong to the media)."""
        if not response.ok:
            raise WeChatClientException(None, f"HTTP {response.status_code} from media/get", client=self,
                                        request=response.request, response=response)
        declared = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if response.headers.get("Content-Disposition") or declared not in ("application/json", "text/plain", ""):
            return None, b""
        head = b""
        for chunk in response.iter_content(chunk_size=MEDIA_CHUNK):
            head += chunk
            if len(head) > MEDIA_ANSWER_BYTES:
                return None, head  # too long for an answer: it is a text file
        try:
            answer = json.loads(head.decode("utf-8"))
        except ValueError:
            return None, head
        return (answer, b"") if isinstance(answer, dict) else (None, head)


class MediaTooLarge(Exception):
    """The media is larger than the caller's limit; nothing past the limit was read."""

    def __init__(self, size: int, limit: int) -> None:
        self.size, self.limit = size, limit
        super().__init__(f"{size} bytes or more, over the {limit} byte limit")


@dataclass(frozen=True)
class MediaDownload:
    """What ``media/get`` sent: its declared Content-Type (the caller checks the bytes) and its size."""

    content_type: str
    size: int


def _stream_body(response: requests.Response, head: bytes, out: BinaryIO, max_bytes: int) -> MediaDownload:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLarge(int(declared), max_bytes)  # refused before reading a byte
    size = 0
    chunks = iter(response.iter_content(chunk_size=MEDIA_CHUNK))
    for chunk in itertools.chain([head] if head else [], chunks):
        size += len(chunk)
        if size > max_bytes:
            raise MediaTooLarge(size, max_bytes)
        out.write(chunk)
    return MediaDownload(content_type=response.headers.get("Content-Type") or "", size=size)


def absolute_url(base_url: str, url: str) -> str:
    """A link queued as a path (``/c/2602-0001``, ``/console/wecom/login?next=…``) on ``PUBLIC_BASE_URL``;
    a full URL as is."""
    if url.startswith(("http://", "https://")):
        return url
    return urljoin(base_url.rstrip("/") + "/", url.lstrip("/"))


def official_account_storage(redis_url: str | None, appid: str) -> SessionStorage:
    return token_storage(redis_url, f"tousu:wechat:{appid}")


def official_account_client(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> OfficialAccountClient | None:
    """The configured client (also for one-off calls such as ``create_menu``); None without AppSecret."""
    if not settings.outbound_enabled or not settings.wechat_secret:
        return None
    return OfficialAccountClient(
        settings.wechat_appid, settings.wechat_secret, base_url=settings.wechat_api_base_url,
        storage=official_account_storage(settings.redis_url, settings.wechat_appid), timeout=timeout,
    )


def secret_tag(secret: str) -> str:
    """A short, non-reversible tag for a secret, for storage keys (wechatpy puts secret[:10] there)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class OfficialAccountSender:
    """Sends customer messages: 客服消息 rows (falling back to their template on 45015) and 模板消息 rows.

    A template's ``url`` queued as a path (the customer's case page, ``/c/<number>``) is sent on
    ``public_base_url``; its ``client_msg_id``, when queued, names the message (every piece of a long text
    carries the same one, so WeChat shows the template once), else the row's id does.
    """

    def __init__(self, client: OfficialAccountClient, public_base_url: str = "") -> None:
        self.client = client
        self.public_base_url = public_base_url

    def send(self, message: Outgoing) -> Receipt:
        try:
            if message.channel is OutboxChannel.WECHAT_TEMPLATE:
                self._send_template(message, message.payload)
                return Receipt()
            return self._send_custom(message)
        except ChannelError:
            raise
        except Exception as exc:
            error = channel_error(exc)
            if error is None:
                raise
            raise error from exc

    def _send_custom(self, message: Outgoing) -> Receipt:
        text, cut = fit_text(_require(message.payload, "text"))
        try:
            self.client.send_text(message.recipient, text)
        except WeChatClientException as exc:
            if exc.errcode != OUTSIDE_WINDOW:
                raise
            template = message.payload.get("template")
            if not template:
                raise ChannelError(ErrorKind.PERMANENT, f"{exc.errmsg} (outside the 48 h window, no template "
                                   "message to fall back to)", errcode=OUTSIDE_WINDOW) from exc
            try:
                self._send_template(message, template)
            except WeChatClientException as fallback_exc:
                error = channel_error(fallback_exc)
                if error is None:  # pragma: no cover (channel_error knows every WeChatClientException)
                    raise
                raise ChannelError(error.kind, f"{error.detail} (template message sent on {OUTSIDE_WINDOW}, "
                                   "outside the 48 h window)", errcode=error.errcode) from fallback_exc
            return Receipt(note=f"{OUTSIDE_WINDOW}: outside the 48 h window, sent as a template message")
        return Receipt(note="text cut to 2048 bytes" if cut else None)

    def _send_template(self, message: Outgoing, template: Mapping[str, Any]) -> None:
        url = template.get("url")
        self.client.send_template(
            message.recipient,
            _require(template, "template_id"),
            _require(template, "data"),
            url=absolute_url(self.public_base_url, url) if url else None,
            client_msg_id=template.get("client_msg_id") or message.client_msg_id,
        )


def _require(payload: Mapping[str, Any], key: str) -> Any:
    """A payload field the message cannot go without; its absence is a bug upstream, never worth a retry."""
    value = payload.get(key)
    if value in (None, "", {}):
        raise ChannelError(ErrorKind.PERMANENT, f"malformed outbox payload: no {key!r}")
    return value


__all__ = [
    "DEFAULT_TIMEOUT",
    "MediaDownload",
    "MediaTooLarge",
    "OfficialAccountClient",
    "OfficialAccountSender",
    "SharedTokenClient",
    "absolute_url",
    "official_account_client",
    "official_account_storage",
    "secret_tag",
    "token_storage",
]
