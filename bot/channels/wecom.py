"""The WeCom (企业微信) app API client and the sender for staff notifications.

Same token handling as the Official Account client (:class:`bot.channels.wechat.SharedTokenClient`):
configurable base URL including ``gettoken``, timeouts everywhere, one shared token per app in Redis.
"""

from __future__ import annotations

from typing import Any

from wechatpy.enterprise import WeChatClient as WeComBaseClient
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from bot.channels import Outgoing, Receipt, fit_text
from bot.channels.errors import ChannelError, ErrorKind, channel_error
from bot.channels.wechat import DEFAULT_TIMEOUT, SharedTokenClient, secret_tag, token_storage
from bot.config import Settings

WECOM_API = "https://qyapi.weixin.qq.com"


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

    def send_textcard(self, userids: list[str], title: str, description: str, url: str) -> dict[str, Any]:
        """A text card (title, ≤512-byte description, a link to open); WeCom truncates longer parts itself."""
        card = {"title": title, "description": description, "url": url}
        return self._send(userids, {"msgtype": "textcard", "textcard": card})

    def _send(self, userids: list[str], message: dict[str, Any]) -> dict[str, Any]:
        body = {"touser": "|".join(userids), "agentid": self.agent_id, **message}
        return self._json(self.post("message/send", data=body))


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
    """Sends staff notifications (WECOM_APP rows: recipient ``"id1|id2"``, payload text[, title, url])."""

    def __init__(self, client: WeComClient) -> None:
        self.client = client

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
                result = self.client.send_textcard(userids, title, text, url)
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


__all__ = ["WECOM_API", "WeComClient", "WeComSender", "wecom_client", "wecom_storage"]
