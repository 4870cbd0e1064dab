"""Playing WeChat's part: build signed (and encrypted) callback requests exactly as the platform does.

Used by the simulator page, `tousu simulate`, the tests and the benchmark, so all four exercise the real
/wechat and /wecom endpoints with the same bytes WeChat would send.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

Mode = Literal["plain", "compat", "safe"]
_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's scheme)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(fields: dict[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        text = str(value) if isinstance(value, int | float) else _cdata(str(value))
        parts.append(f"<{key}>{text}</{key}>")
    return "<xml>" + "".join(parts) + "</xml>"


def next_msg_id() -> int:
    return next(_msg_ids)


@dataclass
class SignedRequest:
    params: dict[str, str]
    body: bytes


class WeChatSide:
    """The Official Account platform's side of the callback protocol (公众号消息推送)."""

    def __init__(self, token: str, aes_key: str | None, appid: str, account: str = "gh_tousu_dev") -> None:
        self.token = token
        self.appid = appid
        self.account = account
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    # -- messages a follower sends -------------------------------------------------------------
    def text(self, openid: str, content: str, msg_id: int | None = None, create_time: int | None = None) -> str:
        return self._msg(openid, "text", create_time, Content=content, MsgId=msg_id or next_msg_id())

    def image(self, openid: str, media_id: str, pic_url: str = "http://mmbiz.example/pic.jpg") -> str:
        return self._msg(openid, "image", None, PicUrl=pic_url, MediaId=media_id, MsgId=next_msg_id())

    def voice(self, openid: str, media_id: str, recognition: str | None = None) -> str:
        extra = {"Recognition": recognition} if recognition is not None else {}
        return self._msg(openid, "voice", None, MediaId=media_id, Format="amr", MsgId=next_msg_id(), **extra)

    def file(self, openid: str, title: str, size: int = 102400) -> str:
        """A file from the chat's "文件" button: WeChat sends its name and key, no MediaId."""
        key = secrets.token_hex(16)
        return self._msg(openid, "file", None, Title=title, Description=title, FileKey=key, FileMd5=key,
                         FileTotalLen=size, MsgId=next_msg_id())

    def location(self, openid: str, lat: float, lon: float, label: str) -> str:
        return self._msg(
            openid, "location", None, Location_X=lat, Location_Y=lon, Scale=15, Label=label, MsgId=next_msg_id()
        )

    def event(self, openid: str, event: str, key: str | None = None, create_time: int | None = None) -> str:
        extra = {"EventKey": key} if key is not None else {}
        return self._msg(openid, "event", create_time, Event=event, **extra)

    def _msg(self, openid: str, msg_type: str, create_time: int | None, **fields: Any) -> str:
        base = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": create_time or int(time.time()),
            "MsgType": msg_type,
        }
        return message_xml(base | fields)

    # -- the signed request --------------------------------------------------------------------
    def sign(self, xml: str, mode: Mode = "safe", *, timestamp: int | None = None, nonce: str | None = None,
             openid: str | None = None) -> SignedRequest:
        ts = str(timestamp or int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        params = {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if openid:
            params["openid"] = openid
        if mode == "plain":
            return SignedRequest(params, xml.encode())
        if self.crypto is None:
            raise ValueError("encrypted modes need an EncodingAESKey")
        encrypted = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, ts))["xml"]["Encrypt"]
        params |= {"encrypt_type": "aes", "msg_signature": sha1_signature(self.token, ts, nonce, encrypted)}
        if mode == "safe":
            body = f"<xml><ToUserName>{_cdata(self.account)}</ToUserName><Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
        else:  # compatible mode: plaintext fields and the ciphertext side by side
            body = xml.replace("</xml>", f"<Encrypt>{_cdata(encrypted)}</Encrypt></xml>")
        return SignedRequest(params, body.encode())

    def url_check(self, echostr: str = "echo-123") -> dict[str, str]:
        ts, nonce = str(int(time.time())), secrets.token_hex(5)
        return {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce,
                "echostr": echostr}

    def open_reply(self, body: bytes | str) -> dict[str, Any]:
        """Read our reply as WeChat would: decrypt when encrypted, checking its signature."""
        text = body.decode() if isinstance(body, bytes) else body
        if text in ("", "success"):
            return {}
        outer = xmltodict.parse(text)["xml"]
        if "Encrypt" in outer:
            assert self.crypto is not None
            text = self.crypto.decrypt_message(text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
            return dict(xmltodict.parse(text)["xml"])
        return dict(outer)


class WeComSide:
    """WeCom's side of an app's callback (企业微信应用回调): always encrypted, echostr encrypted too."""

    def __init__(self, token: str, aes_key: str, corp_id: str, agent_id: int = 1000002) -> None:
        self.token = token
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.crypto = WeComCrypto(token, aes_key, corp_id)

    def text(self, userid: str, content: str, msg_id: int | None = None) -> str:
        return message_xml({
            "ToUserName": self.corp_id, "FromUserName": userid, "CreateTime": int(time.time()),
            "MsgType": "text", "Content": content, "MsgId": msg_id or next_msg_id(), "AgentID": self.agent_id,
        })

    def event(self, userid: str | None, event: str, **fields: Any) -> str:
        """An app event; WeCom's 微信客服 events (kf_msg_or_event) carry no FromUserName, hence ``None``."""
        sender = {"FromUserName": userid} if userid is not None else {}
        return message_xml({"ToUserName": self.corp_id, **sender, "CreateTime": int(time.time()), "MsgType": "event",
                            "Event": event, "AgentID": self.agent_id, **fields})

    def sign(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> SignedRequest:
        ts = str(timestamp or int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        encrypted = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, ts))["xml"]["Encrypt"]
        params = {"msg_signature": sha1_signature(self.token, ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
        body = (f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName><AgentID>{_cdata(str(self.agent_id))}"
                f"</AgentID><Encrypt>{_cdata(encrypted)}</Encrypt></xml>")
        return SignedRequest(params, body.encode())

    def url_check(self, echostr_plain: str = "wecom-echo-42") -> dict[str, str]:
        ts, nonce = str(int(time.time())), secrets.token_hex(5)
        encrypted = xmltodict.parse(self.crypto.encrypt_message(echostr_plain, nonce, ts))["xml"]["Encrypt"]
        return {"msg_signature": sha1_signature(self.token, ts, nonce, encrypted), "timestamp": ts, "nonce": nonce,
                "echostr": encrypted}

    def open_reply(self, body: bytes | str) -> dict[str, Any]:
        text = body.decode() if isinstance(body, bytes) else body
        if text in ("", "success"):
            return {}
        outer = xmltodict.parse(text)["xml"]
        plain = self.crypto.decrypt_message(text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        return dict(xmltodict.parse(plain)["xml"])


__all__ = ["SignedRequest", "WeChatSide", "WeComSide", "escape", "message_xml", "sha1_signature"]
