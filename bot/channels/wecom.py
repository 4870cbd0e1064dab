"""The WeCom (企业微信) app API client and the sender for staff notifications.

Same token handling as the Official Account client (:class:`bot.channels.wechat.SharedTokenClient`):
configurable base URL including ``gettoken``, timeouts everywhere, one shared token per app in Redis.
"""

from __future__ import annotations

import html
from typing import Any

from wechatpy.enterprise import WeChatClient as WeComBaseClient
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from bot.channels import Outgoing, Receipt, fit_text
from bot.channels.errors import ChannelError, ErrorKind, channel_error
from bot.channels.wechat import DEFAULT_TIMEOUT, SharedTokenClient, absolute_url, secret_tag, token_storage
from bot.config import Settings

WECOM_API = "https://qyapi.weixin.qq.com"
# WeCom's limits for a text card (it cuts longer parts itself, possibly mid-character).
CARD_TITLE_BYTES = 128
CARD_DESCRIPTION_BYTES = 512
CARD_BUTTON = "查看详情"  # btntxt: at most 4 characters


class WeComClient(SharedTokenClient, WeComBaseClient):
    """企业微信 app client: app messages (message/send) to members of the company."""

    def __init__(self, corp_id: str, secret: str, agent_id: int, *, base_url: str = WECOM_API,
                 storage: SessionStorage | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__(corp_id, secret, session=storage or MemoryStorage(), timeout=timeout, auto_retry=False)
        self.agent_id = int(agent_id)
        self._configure(base_url, "gettoken")

    @property
    def access_token_key(self) -> str:
        # A token belongs to one app (corp + secret); wechatpy's key embeds secret[:10], ours a hash of it.
        return f"{self.corp_id}_{secret_tag(self.secret)}_access_token"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(self.token_url, {"corpid": self.corp_id, "corpsecret": self.secret})

    def send_text(self, userids: list[str], text: str) -> dict[str, Any]:
        """A text app message; the answer's ``invaliduser`` lists ids that got nothing (errcode still 0)."""
        return self._send(userids, {"msgtype": "text", "text": {"content": text}})

    def send_textcard(self, userids: list[str], title: str, description: str, url: str,
                      button: str = CARD_BUTTON) -> dict[str, Any]:
        """A text card: title (≤128 bytes), description (≤512 bytes; ``<br>`` and ``<div class="gray|normal|
        highlight">`` allowed), the link a tap opens, and the button's text. :func:`card_description`
        makes a description of a plain text."""
        card = {"title": title, "description": description, "url": url, "btntxt": button}
        return self._send(userids, {"msgtype": "textcard", "textcard": card})

    def get_user_info(self, code: str) -> dict[str, Any]:
        """企业微信网页授权: the person behind an OAuth ``code`` (``auth/getuserinfo``): ``userid`` for a
        member of the company, ``openid`` (no userid) for anyone else. 40029: the code is invalid, used or
        older than 5 minutes (raised as ``WeChatClientException`` with that errcode)."""
        return self._json(self.get("auth/getuserinfo", params={"code": code}))

    def _send(self, userids: list[str], message: dict[str, Any]) -> dict[str, Any]:
        body = {"touser": "|".join(userids), "agentid": self.agent_id, **message}
        return self._json(self.post("message/send", data=body))


def fit_bytes(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, cut on a character boundary with an ellipsis."""
    if len(text.encode("utf-8")) <= limit:
        return text
    budget = limit - len("…".encode())
    return text.encode("utf-8")[:budget].decode("utf-8", errors="ignore") + "…"


def card_description(text: str, limit: int = CARD_DESCRIPTION_BYTES) -> str:
    """A plain staff text as a card description: escaped, one ``<br>`` per line break, within ``limit``
    bytes. Whole lines are kept while they fit; the first that does not is cut with an ellipsis."""
    lines = [html.escape(line, quote=False) for line in text.strip().splitlines()]
    out = ""
    for line in lines:
        candidate = f"{out}<br>{line}" if out else line
        if len(candidate.encode("utf-8")) <= limit:
            out = candidate
            continue
        room = limit - len(out.encode("utf-8")) - (len(b"<br>") if out else 0)
        if room > len("…".encode()) + 3:
            # Cut the escaped line without splitting an entity (&lt; …): drop a trailing partial one.
            cut = fit_bytes(line, room)
            amp = cut.rfind("&")
            if amp != -1 and ";" not in cut[amp:]:
                cut = cut[:amp] + "…"
            out = f"{out}<br>{cut}" if out else cut
        break
    return out


def wecom_storage(redis_url: str | None, corp_id: str, agent_id: int) -> SessionStorage:
    return token_storage(redis_url, f"tousu:wecom:{corp_id}:{agent_id}")


def wecom_client(settings: Settings, *, timeout: float = DEFAULT_TIMEOUT) -> WeComClient | None:
    """The configured WeCom app client; None unless corp id, secret and agent id are all set."""
    corp_id, secret, agent_id = settings.wecom_corp_id, settings.wecom_secret, settings.wecom_agent_id
    if not settings.wecom_enabled or not corp_id or not secret or agent_id is None:
        return None
    return WeComClient(corp_id, secret, agent_id, base_url=settings.wecom_api_base_url,
                       storage=wecom_storage(settings.redis_url, corp_id, agent_id), timeout=timeout)


class WeComSender:
    """Sends staff notifications (WECOM_APP rows: recipient ``"id1|id2"``, payload text[, title, url]).

    A row with a title and a url is a text card (the url, usually a path queued by handlers, is made
    absolute on ``public_base_url``); otherwise a text message.
    """

    def __init__(self, client: WeComClient, public_base_url: str = "") -> None:
        self.client = client
        self.public_base_url = public_base_url

    def send(self, message: Outgoing) -> Receipt:
        userids = [u for u in message.recipient.split("|") if u]
        if not userids:
            raise ChannelError(ErrorKind.PERMANENT, "no WeCom recipient")
        text = message.payload.get("text")
        if not text:
            raise ChannelError(ErrorKind.PERMANENT, "malformed outbox payload: no 'text'")
        title, url = message.payload.get("title"), message.payload.get("url")
        cut = False
        try:
            if title and url:
                result = self.client.send_textcard(userids, fit_bytes(title, CARD_TITLE_BYTES),
                                                   card_description(text),
                                                   absolute_url(self.public_base_url, url))
            else:
                text, cut = fit_text(f"{title}\n{text}" if title else text)
                result = self.client.send_text(userids, text)
        except Exception as exc:
            error = channel_error(exc)
            if error is None:
                raise
            raise error from exc
        notes = []
        # WeCom answers 0 when only some recipients are bad (not in the app's visible range, left the
        # company): the others got the message, so it is sent; the bad ids are kept for a person to fix.
        for field in ("invaliduser", "invalidparty", "invalidtag", "unlicenseduser"):
            if result.get(field):
                notes.append(f"{field}: {result[field]}")
        if cut:
            notes.append("text cut to 2048 bytes")
        return Receipt(note="; ".join(notes) or None)


__all__ = [
    "CARD_BUTTON",
    "CARD_DESCRIPTION_BYTES",
    "CARD_TITLE_BYTES",
    "WECOM_API",
    "WeComClient",
    "WeComSender",
    "absolute_url",
    "card_description",
    "fit_bytes",
    "wecom_client",
    "wecom_storage",
]
