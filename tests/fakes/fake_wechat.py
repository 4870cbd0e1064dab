"""A fake WeChat/WeCom API server on loopback: the outside world, played over real HTTP.

Tests point the real clients (``bot.channels``) at :attr:`FakeWeChat.url`, so request building, timeouts,
token handling and error decoding are all exercised; nothing in ``requests`` is mocked.

It implements the endpoints tousu calls (``/cgi-bin/token``, ``/cgi-bin/gettoken``,
``/cgi-bin/message/custom/send``, ``/cgi-bin/message/template/send``, ``/cgi-bin/menu/create``,
``/cgi-bin/media/get`` (temporary media: bytes with their Content-Type, or 40007), WeCom
``/cgi-bin/message/send`` and ``/cgi-bin/auth/getuserinfo``) and the OAuth page (``/connect/oauth2/authorize``,
which redirects back with a single-use code: WeCom's for the corp id, the Official Account's for its appid,
whose code ``/sns/oauth2/access_token`` exchanges for the follower's openid), records every call, and can
be scripted::

    fake.fail_next("/cgi-bin/message/custom/send", errcode=45015)   # next call answers 45015
    fake.delay(1.0, path="/cgi-bin/message/custom/send", times=1)   # next call answers after 1 s
    fake.expire_tokens()                                            # every issued token now gets 40001
    fake.oauth_user = "zhao.lei"          # who the WeCom OAuth page says is signing in (企业微信网页授权)
    fake.oauth_user = None                # … a non-member: getuserinfo answers an openid only
    fake.add_media("MEDIA1", jpeg_bytes, "image/jpeg")   # media/get serves these bytes (40007 if unknown)
    fake.add_media("VIDEO1", mp4_bytes, "video/mp4", video=True)  # media/get answers {"video_url": …}
    fake.stall_media("MEDIA1", 5.0)       # send half the bytes, pause 5 s, send the rest
    fake.oauth_openid = "oOTHER…"         # who the Official Account's OAuth page says is looking (snsapi_base)

Use the ``fake_wechat`` fixture by importing it into a test module::

    from tests.fakes.fake_wechat import fake_wechat_fixture  # noqa: F401 (pytest fixture)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from bot.config import Settings, load_settings

FAKE_APPID = "wxfake00000000001"
FAKE_SECRET = "fake-official-account-secret"
FAKE_CORP_ID = "wwfake00000000001"
FAKE_CORP_SECRET = "fake-wecom-app-secret"
FAKE_AGENT_ID = 1000002

TOKEN = "/cgi-bin/token"
GETTOKEN = "/cgi-bin/gettoken"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
MENU_CREATE = "/cgi-bin/menu/create"
MEDIA_GET = "/cgi-bin/media/get"
VIDEO_DOWNLOAD = "/fake-video/"  # prefix: where a video's video_url points (no token, like WeChat's CDN)
WECOM_SEND = "/cgi-bin/message/send"
GETUSERINFO = "/cgi-bin/auth/getuserinfo"
AUTHORIZE = "/connect/oauth2/authorize"
SNS_TOKEN = "/sns/oauth2/access_token"

_OA_PATHS = {CUSTOM_SEND, TEMPLATE_SEND, MENU_CREATE, MEDIA_GET}
_WECOM_PATHS = {WECOM_SEND, GETUSERINFO}


@dataclass(frozen=True)
class Call:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any  # the decoded JSON body, or None

    @property
    def access_token(self) -> str | None:
        return self.query.get("access_token")


@dataclass(frozen=True)
class RawBody:
    """A non-JSON answer (media bytes), with its headers; ``stall`` pauses mid-body (seconds)."""

    data: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0


@dataclass
class _Scripted:
    status: int
    body: dict[str, Any]


@dataclass
class _Delay:
    seconds: float
    path: str | None
    remaining: int | None  # None: every matching call


@dataclass
class FakeWeChat:
    """The fake server's state; :meth:`start` serves it on 127.0.0.1 at a random port."""

    appid: str = FAKE_APPID
    secret: str = FAKE_SECRET
    corp_id: str = FAKE_CORP_ID
    corp_secret: str = FAKE_CORP_SECRET
    invalid_wecom_users: set[str] = field(default_factory=set)
    expired_token_errcode: int = 40001
    oauth_user: str | None = "zhao.lei"  # the member the OAuth page signs in; None: a non-member
    oauth_openid: str = "oCUSTOMER0000000000000001"  # the follower the Official Account's OAuth page identifies

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._deliveries: list[Call] = []
        self._scripted: dict[str, deque[_Scripted]] = defaultdict(deque)
        self._delays: list[_Delay] = []
        self._oa_tokens: set[str] = set()
        self._wecom_tokens: set[str] = set()
        self._template_msgids: dict[str, int] = {}
        self._oauth_codes: dict[str, str | None] = {}  # unused code → userid (None: a non-member)
        self._media: dict[str, tuple[bytes, str, bool]] = {}  # media_id → (bytes, content type, is video)
        self._media_stalls: dict[str, float] = {}
        self._oa_codes: dict[str, str] = {}  # unused Official Account code → openid
        self._numbers = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> FakeWeChat:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-wechat", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- what happened ----------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    @property
    def deliveries(self) -> list[Call]:
        """Sends that reached someone (accepted, and not a template repeat dropped by client_msg_id)."""
        with self._lock:
            return list(self._deliveries)

    # -- scripting --------------------------------------------------------------------------------------

    def fail_next(self, path: str, errcode: int | None = -1, errmsg: str | None = None, *, times: int = 1,
                  status: int = 200, extra: dict[str, Any] | None = None) -> None:
        """The next ``times`` calls to ``path`` answer this error (``status`` != 200: an HTTP error)."""
        body: dict[str, Any] = {} if errcode is None else {"errcode": errcode, "errmsg": errmsg or f"fake {errcode}"}
        body.update(extra or {})
        with self._lock:
            for _ in range(times):
                self._scripted[path].append(_Scripted(status, body))

    def delay(self, seconds: float, *, path: str | None = None, times: int | None = None) -> None:
        """Answer calls (to ``path``, or all but token fetches) ``seconds`` late; ``delay(0)`` clears."""
        with self._lock:
            if seconds <= 0:
                self._delays.clear()
            else:
                self._delays.append(_Delay(seconds, path, times))

    def add_media(self, media_id: str, data: bytes, content_type: str, *, video: bool = False) -> None:
        """Temporary media media/get will serve (a video as ``{"video_url": …}``, as WeChat does)."""
        with self._lock:
            self._media[media_id] = (data, content_type, video)

    def expire_media(self, media_id: str) -> None:
        """WeChat deleted it (3 days passed): media/get now answers 40007."""
        with self._lock:
            self._media.pop(media_id, None)

    def stall_media(self, media_id: str, seconds: float) -> None:
        """Serve half of ``media_id``'s bytes, then pause ``seconds`` before the rest."""
        with self._lock:
            self._media_stalls[media_id] = seconds

    def expire_tokens(self) -> None:
        """Every token issued so far is now rejected (``expired_token_errcode``, 40001 by default)."""
        with self._lock:
            self._oa_tokens.clear()
            self._wecom_tokens.clear()

    # -- the server side --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str],
               raw: bytes) -> tuple[int, dict[str, Any] | RawBody]:
        if path == AUTHORIZE:
            return self._authorize(query)
        if path.startswith(VIDEO_DOWNLOAD):
            return self._video(path)
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            return 200, {"errcode": 47001, "errmsg": "data format error"}
        call = Call(method, path, query, body)
        with self._lock:
            self._calls.append(call)
            scripted = self._scripted[path].popleft() if self._scripted.get(path) else None
            pause = self._take_delay(path)
        if pause:
            time.sleep(pause)
        if scripted is not None:
            return scripted.status, scripted.body
        with self._lock:
            return 200, self._answer(call)

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """WeCom's 网页授权 page: with the right corp id and scope it sends the browser back to
        ``redirect_uri`` with a new single-use code and the state untouched (answered as 302 + Location)."""
        with self._lock:
            self._calls.append(Call("GET", AUTHORIZE, query, None))
            if query.get("appid") == self.appid:
                return self._authorize_follower(query)
            if query.get("appid") != self.corp_id or query.get("response_type") != "code":
                return 200, {"errcode": 40013, "errmsg": "invalid corpid"}
            if query.get("scope") not in ("snsapi_base", "snsapi_privateinfo") or not query.get("redirect_uri"):
                return 200, {"errcode": 40117, "errmsg": "invalid scope or redirect_uri"}
            code = f"code-{next(self._numbers)}"
            self._oauth_codes[code] = self.oauth_user
        target = query["redirect_uri"]
        joiner = "&" if "?" in target else "?"
        state = f"&state={query['state']}" if "state" in query else ""
        return 302, {"Location": f"{target}{joiner}code={code}{state}"}

    def _authorize_follower(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The Official Account's 网页授权 page (called under the lock): snsapi_base is silent, so it sends the
        browser straight back with a code for :attr:`oauth_openid`."""
        if query.get("response_type") != "code":
            return 200, {"errcode": 40013, "errmsg": "invalid response_type"}
        if query.get("scope") not in ("snsapi_base", "snsapi_userinfo") or not query.get("redirect_uri"):
            return 200, {"errcode": 10003, "errmsg": "redirect_uri or scope invalid"}
        code = f"oacode-{next(self._numbers)}"
        self._oa_codes[code] = self.oauth_openid
        target = query["redirect_uri"]
        joiner = "&" if "?" in target else "?"
        state = f"&state={query['state']}" if "state" in query else ""
        return 302, {"Location": f"{target}{joiner}code={code}{state}"}

    def issue_follower_code(self, openid: str) -> str:
        """An Official Account OAuth code for ``openid`` (for tests that skip the redirect)."""
        with self._lock:
            code = f"oacode-{next(self._numbers)}"
            self._oa_codes[code] = openid
            return code

    def issue_code(self, userid: str | None) -> str:
        """A code as the OAuth page would hand one out (for tests that skip the redirect)."""
        with self._lock:
            code = f"code-{next(self._numbers)}"
            self._oauth_codes[code] = userid
            return code

    def _take_delay(self, path: str) -> float:
        for d in self._delays:
            if (d.path == path or (d.path is None and path not in (TOKEN, GETTOKEN))) and d.remaining != 0:
                if d.remaining is not None:
                    d.remaining -= 1
                return d.seconds
        return 0.0

    def _video(self, path: str) -> tuple[int, dict[str, Any] | RawBody]:
        media_id = path[len(VIDEO_DOWNLOAD):]
        with self._lock:
            self._calls.append(Call("GET", path, {}, None))
            found = self._media.get(media_id)
        if found is None:
            return 404, {"errcode": 404, "errmsg": "not found"}
        return 200, RawBody(found[0], found[1])

    def _media_get(self, media_id: str) -> dict[str, Any] | RawBody:
        """media/get: the bytes with their type and a Content-Disposition, as WeChat sends them."""
        found = self._media.get(media_id)
        if found is None:
            return {"errcode": 40007, "errmsg": "invalid media_id"}
        data, content_type, video = found
        if video:
            return {"video_url": f"{self.url}{VIDEO_DOWNLOAD}{media_id}"}
        return RawBody(data, content_type, {"Content-Disposition": f'attachment; filename="{media_id}.bin"'},
                       stall=self._media_stalls.get(media_id, 0.0))

    def _answer(self, call: Call) -> dict[str, Any] | RawBody:
        path, q, body = call.path, call.query, call.body
        if path == TOKEN:
            if q.get("appid") != self.appid:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if q.get("secret") != self.secret or q.get("grant_type") != "client_credential":
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"oa-token-{next(self._numbers)}"
            self._oa_tokens.add(token)
            return {"access_token": token, "expires_in": 7200}
        if path == GETTOKEN:
            if q.get("corpid") != self.corp_id:
                return {"errcode": 40013, "errmsg": "invalid corpid"}
            if q.get("corpsecret") != self.corp_secret:
                return {"errcode": 40001, "errmsg": "invalid secret"}
            token = f"wecom-token-{next(self._numbers)}"
            self._wecom_tokens.add(token)
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if path == SNS_TOKEN:
            return self._follower_token(q)
        valid = self._oa_tokens if path in _OA_PATHS else self._wecom_tokens if path in _WECOM_PATHS else None
        if valid is None:
            return {"errcode": 48001, "errmsg": f"api unauthorized (the fake has no {path})"}
        if call.access_token not in valid:
            return {"errcode": self.expired_token_errcode, "errmsg": "invalid credential, access_token is invalid"}
        if path == GETUSERINFO:  # a GET: no body
            return self._user_info(q.get("code", ""))
        if path == MEDIA_GET:
            return self._media_get(q.get("media_id", ""))
        if not isinstance(body, dict):
            return {"errcode": 44002, "errmsg": "empty post data"}
        if path == CUSTOM_SEND:
            if not body.get("touser") or body.get("msgtype") != "text" or not body.get("text", {}).get("content"):
                return {"errcode": 40003, "errmsg": "invalid openid or message"}
            self._deliveries.append(call)
            return {"errcode": 0, "errmsg": "ok"}
        if path == TEMPLATE_SEND:
            if not body.get("touser") or not body.get("template_id") or not isinstance(body.get("data"), dict):
                return {"errcode": 47003, "errmsg": "argument invalid! data.xxx.value invalid"}
            client_msg_id = body.get("client_msg_id")
            if client_msg_id and client_msg_id in self._template_msgids:
                return {"errcode": 0, "errmsg": "ok", "msgid": self._template_msgids[client_msg_id]}
            msgid = next(self._numbers)
            if client_msg_id:
                self._template_msgids[client_msg_id] = msgid
            self._deliveries.append(call)
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        if path == MENU_CREATE:
            if not isinstance(body.get("button"), list):
                return {"errcode": 40016, "errmsg": "invalid button size"}
            return {"errcode": 0, "errmsg": "ok"}
        # WeCom message/send
        if body.get("msgtype") == "textcard":
            card = body.get("textcard") or {}
            if not card.get("title") or not card.get("description") or not card.get("url"):
                return {"errcode": 41004, "errmsg": "textcard title, description and url are required"}
            if not str(card["url"]).startswith(("http://", "https://")):
                return {"errcode": 40054, "errmsg": "invalid url"}
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        invalid = [u for u in users if u in self.invalid_wecom_users]
        if not users or len(invalid) == len(users):
            return {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "|".join(invalid)}
        self._deliveries.append(call)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid), "msgid": f"m{next(self._numbers)}"}


    def _follower_token(self, q: dict[str, str]) -> dict[str, Any]:
        """sns/oauth2/access_token: the app's credentials and a code (used once) → the follower's openid."""
        if q.get("appid") != self.appid:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if q.get("secret") != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        if q.get("grant_type") != "authorization_code":
            return {"errcode": 40002, "errmsg": "invalid grant_type"}
        openid = self._oa_codes.pop(q.get("code", ""), None)
        if openid is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        return {"access_token": f"sns-token-{next(self._numbers)}", "expires_in": 7200,
                "refresh_token": f"sns-refresh-{next(self._numbers)}", "openid": openid, "scope": "snsapi_base"}

    def _user_info(self, code: str) -> dict[str, Any]:
        """auth/getuserinfo: a code works once; a member gets ``userid``, anyone else an ``openid``."""
        if code not in self._oauth_codes:
            return {"errcode": 40029, "errmsg": "invalid code"}
        userid = self._oauth_codes.pop(code)
        if userid is None:
            return {"errcode": 0, "errmsg": "ok", "openid": "oNONMEMBER00000000000001",
                    "external_userid": "wmNONMEMBER0001"}
        return {"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "ticket-not-used"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes; with Nagle on, the body waits for the client's delayed
    # ACK of the headers (40 ms on Linux) on every kept-alive call. A real server sends at once.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake: FakeWeChat = self.server.fake  # type: ignore[attr-defined]
        status, body = fake.handle(self.command, parts.path, dict(parse_qsl(parts.query)), raw)
        if isinstance(body, RawBody):
            self._send_raw(body)
            return
        data = b"" if status == 302 else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            if status == 302:
                self.send_header("Location", body["Location"])
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away: exactly what a delay test wants

    def _send_raw(self, body: RawBody) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", body.content_type)
            self.send_header("Content-Length", str(len(body.data)))
            for name, value in body.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if body.stall:
                half = len(body.data) // 2
                self.wfile.write(body.data[:half])
                self.wfile.flush()
                time.sleep(body.stall)
                self.wfile.write(body.data[half:])
            else:
                self.wfile.write(body.data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded calls are the log."""


def fake_settings(fake: FakeWeChat, **env: str | None) -> Settings:
    """Settings whose credentials and API base URLs are the fake's; ``NAME=None`` removes a variable."""
    environ: dict[str, str | None] = {
        "TOUSU_DEV": "1",
        "WECHAT_APPID": fake.appid,
        "WECHAT_SECRET": fake.secret,
        "WECHAT_API_BASE_URL": fake.url,
        "WECOM_CORP_ID": fake.corp_id,
        "WECOM_SECRET": fake.corp_secret,
        "WECOM_AGENT_ID": str(FAKE_AGENT_ID),
        "WECOM_API_BASE_URL": fake.url,
        "WECOM_OAUTH_BASE_URL": fake.url,
    }
    environ.update(env)
    return load_settings(environ={k: v for k, v in environ.items() if v is not None},
                         overrides={"COMPANY": {"company": {"name": "测试公司"}}})


@pytest.fixture(name="fake_wechat")
def fake_wechat_fixture() -> Iterator[FakeWeChat]:
    fake = FakeWeChat().start()
    try:
        yield fake
    finally:
        fake.stop()
