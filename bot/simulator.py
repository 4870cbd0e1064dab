"""The dev simulator (/dev/simulator): chat as a WeChat follower without a WeChat account.

The page sends what you type here; this module signs and encrypts it exactly as WeChat's servers do
(bot/wechat_sim.py) and posts it over HTTP to this server's real /wechat endpoint, then decrypts the
reply the way WeChat would. It also shows what landed for that user in the outbox and the dev sink
(messages the scheduler would have sent through the APIs), and what staff received through WeCom.
Registered only when TOUSU_DEV=1; otherwise /dev/* is a 404.

A staff card's link opens the case as WeCom would: signed in as the person who tapped it. Without WeCom
credentials there is no WeCom OAuth to ask, so the staff pane offers one link per recipient ("以 赵磊 身份
打开") that signs in as that person directly (:func:`wecom_signin`, dev mode only). With credentials the
card's own link goes through the real OAuth flow.

A customer's message links to their case page (<a href> in the text, as WeChat shows it): the page shows
it as a link, pointed at the server the simulator runs on (:func:`here`), so `make run` on any port, or a
test's server, opens the case page the message names.

The staff pane also plays the WeCom app's chat (企业微信指令): pick a person of the org chart, type a command
(待办, 查 26110001, 进度 26110001 已联系客户 …); :func:`wecom_send` signs and encrypts it exactly as WeCom's
servers do (`WeComSide`), posts it to the real /wecom endpoint, and answers the decrypted passive reply with
the rest of a long answer (the pieces queued to that person as WeCom app messages).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

from bot.console.wecom_auth import sign_in_userid
from bot.runtime import runtime
from bot.wechat_sim import Mode, WeChatSide, WeComSide, next_msg_id
from storage.inbound import find_inbound
from storage.models import (
    DevSinkMessage,
    InboundChannel,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    Staff,
    is_local_userid,
)

#: Scripts and style sheets of tousu's pages, served from files so that no page needs inline code.
STATIC_DIR = Path(__file__).resolve().parent / "static"

bp = Blueprint("simulator", __name__, url_prefix="/dev/simulator", static_folder=STATIC_DIR)

MENU = [("COMPLAIN", "我要投诉"), ("STATUS", "进度查询"), ("FAQ", "常见问题")]


def wechat_side() -> WeChatSide:
    s = runtime().settings
    return WeChatSide(s.wechat_token, s.wechat_aes_key, s.wechat_appid)


def build_xml(side: WeChatSide, openid: str, data: dict[str, Any]) -> str:
    """The XML WeChat would push for one simulated action."""
    kind = str(data.get("kind") or "text")
    if kind == "text":
        content = str(data.get("content") or "")
        if not content.strip():
            raise BadRequest("empty text")
        return side.text(openid, content)
    if kind == "image":
        return side.image(openid, media_id=f"sim-media-{secrets.token_hex(6)}")
    if kind == "voice":
        recognition = content_of(data) or None
        return side.voice(openid, media_id=f"sim-voice-{secrets.token_hex(6)}", recognition=recognition)
    if kind == "location":
        return side.location(openid, 34.6197, 112.4540, content_of(data) or "河南省洛阳市涧西区")
    if kind in ("subscribe", "unsubscribe"):
        return side.event(openid, kind)
    if kind == "click":
        return side.event(openid, "CLICK", key=content_of(data) or "COMPLAIN")
    raise BadRequest(f"unknown kind {kind!r}")


def content_of(data: dict[str, Any]) -> str:
    return str(data.get("content") or "")


@bp.get("")
def page() -> ResponseReturnValue:
    return render_template("simulator.html", menu=MENU, company={"name": runtime().settings.policy.company.name},
                           staff=org_chart_people())


def org_chart_people() -> list[dict[str, str]]:
    """The active people of the org chart (those WeCom knows), to type WeCom commands as."""
    with runtime().db.read_sessions() as s:
        people = s.execute(sa.select(Staff.wecom_userid, Staff.name).where(Staff.active.is_(True))
                           .order_by(Staff.department_id, Staff.id)).all()
    return [{"userid": userid, "name": name} for userid, name in people if not is_local_userid(userid)]


def wecom_side() -> WeComSide:
    s = runtime().settings
    if not (s.wecom_token and s.wecom_aes_key and s.wecom_corp_id):
        abort(404)
    return WeComSide(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id, agent_id=s.wecom_agent_id or 1000002)


@bp.post("/wecom/send")
def wecom_send() -> ResponseReturnValue:
    """One WeCom app message from ``userid``, as WeCom's servers would push it to /wecom; the answer's pieces."""
    data = request.get_json(silent=True) or {}
    userid = str(data.get("userid") or "").strip()
    content = content_of(data)
    if not userid or len(userid) > 64:
        raise BadRequest("userid required")
    if not content.strip():
        raise BadRequest("empty text")
    side = wecom_side()
    msg_id = next_msg_id()
    signed = side.sign(side.text(userid, content, msg_id=msg_id))
    response = requests.post(request.host_url.rstrip("/") + "/wecom", params=signed.params, data=signed.body,
                             headers={"Content-Type": "text/xml"}, timeout=10)
    reply = side.open_reply(response.content) if response.ok else {}
    pieces = [reply["Content"]] if reply.get("Content") else []
    with runtime().db.read_sessions() as s:
        inbound = find_inbound(s, InboundChannel.WECOM, f"msg:{msg_id}")
        if inbound is not None:
            pieces += [m.payload.get("text") or "" for m in s.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"reply:{inbound.id}:%"))
                .order_by(OutboxMessage.id))]
    return jsonify(
        status=response.status_code,
        replies=pieces,
        raw_status=response.text if not response.ok else None,
        request={"url": "/wecom?" + urlencode(signed.params), "params": signed.params, "body": signed.body.decode()},
    )


@bp.post("/send")
def send() -> ResponseReturnValue:
    data = request.get_json(silent=True) or {}
    openid = str(data.get("openid") or "").strip()
    if not openid or len(openid) > 64:
        raise BadRequest("openid required")
    modes: dict[str, Mode] = {"plain": "plain", "compat": "compat", "safe": "safe"}
    default = "safe" if runtime().settings.wechat_aes_key else "plain"
    mode = modes.get(str(data.get("mode") or default))
    if mode is None:
        raise BadRequest("mode must be plain, compat or safe")
    side = wechat_side()
    xml = build_xml(side, openid, data)
    signed = side.sign(xml, mode, openid=openid)
    response = requests.post(request.host_url.rstrip("/") + "/wechat", params=signed.params, data=signed.body,
                             headers={"Content-Type": "text/xml"}, timeout=10)
    reply = side.open_reply(response.content) if response.ok else {}
    return jsonify(
        status=response.status_code,
        reply=here(reply.get("Content")),
        raw_status=response.text if not response.ok else None,
        request={"url": "/wechat?" + urlencode(signed.params), "params": signed.params, "body": signed.body.decode()},
    )


@bp.get("/feed")
def feed() -> ResponseReturnValue:
    """What this user and staff would have received beyond the passive replies."""
    openid = request.args.get("openid", "")
    db = runtime().db
    with db.read_sessions() as s:
        sink = s.scalars(sa.select(DevSinkMessage).order_by(DevSinkMessage.id.desc()).limit(100)).all()
        queued = s.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            .order_by(OutboxMessage.id.desc()).limit(100)
        ).all()

    def sent(m: DevSinkMessage) -> dict[str, Any]:
        return row(f"sink-{m.id}", m.channel, m.recipient, m.payload, m.created_at, "已发送(开发收件箱)", True)

    def pending(m: OutboxMessage) -> dict[str, Any]:
        return row(f"outbox-{m.id}", m.channel, m.recipient, m.payload, m.created_at, "待发送", False)

    customer = [sent(m) for m in sink if m.recipient == openid] + [pending(m) for m in queued if m.recipient == openid]
    for r in customer:
        r["text"] = here(r["text"])
    staff = [sent(m) for m in sink if m.channel == OutboxChannel.WECOM_APP]
    staff += [pending(m) for m in queued if m.channel == OutboxChannel.WECOM_APP]
    add_open_links(staff)
    return jsonify(customer=customer, staff=staff)


def add_open_links(rows: list[dict[str, Any]]) -> None:
    """Each staff card's way in: one dev sign-in link per recipient, or (with WeCom configured) the card's
    own link, which goes through WeCom OAuth like a real tap."""
    settings = runtime().settings
    cards = [r for r in rows if r.get("url")]
    userids = {u for r in cards for u in r["to"].split("|") if u}
    with runtime().db.read_sessions() as s:
        names = dict(s.execute(sa.select(Staff.wecom_userid, Staff.name).where(Staff.wecom_userid.in_(userids))).all())
    for r in cards:
        if settings.wecom_enabled:
            r["links"] = [{"label": "", "href": r["url"]}]
            continue
        target = parse_qs(urlsplit(r["url"]).query).get("next", [""])[0]
        r["links"] = [
            {"label": names.get(u, u), "href": url_for("simulator.wecom_signin", userid=u, next=target)}
            for u in r["to"].split("|") if u
        ]


def here(text: str | None) -> str | None:
    """``text`` with its links to the public address (PUBLIC_BASE_URL) pointed at this server instead."""
    public = runtime().settings.public_base_url.rstrip("/")
    return text.replace(f'href="{public}/', f'href="{request.host_url}') if text else text


@bp.get("/wecom/signin")
def wecom_signin() -> ResponseReturnValue:
    """Play WeCom's authorize step in dev mode: sign in as ``userid`` (a person of the org chart, who
    must be active, exactly as after WeCom OAuth) and go to ``next``. Refused (404) outside dev mode,
    and when WeCom is configured (then the real OAuth flow is the way in)."""
    settings = runtime().settings
    if not settings.dev or settings.wecom_enabled:
        abort(404)
    return sign_in_userid(request.args.get("userid", ""), request.args.get("next", ""))


def row(key: str, channel: OutboxChannel, recipient: str, payload: dict[str, Any], at: Any, state: str,
        delivered: bool) -> dict[str, Any]:
    """One message of the feed; ``key`` names it for the page (which shows each delivered one once)."""
    return {"key": key, "channel": channel.value, "to": recipient, "text": payload.get("text"),
            "title": payload.get("title"), "url": payload.get("url"), "at": at.isoformat(), "state": state,
            "delivered": delivered}
