"""No secret in a repr, no full openid or phone number in any log line of the web process."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.channels import Outgoing
from bot.channels.sink import DevSink
from bot.config import load_settings
from bot.wechat_sim import WeChatSide
from storage.models import OutboxChannel

SECRETS = {
    "SECRET_KEY": "sk-0123456789abcdef-SECRET",
    "WECHAT_SECRET": "wechat-app-secret-XYZ987",
    "WECHAT_TOKEN": "tokenSecret42",
    "WECHAT_AES_KEY": "S" * 43,
    "WECOM_SECRET": "wecom-secret-QWE765",
    "WECOM_TOKEN": "wecomTokenSecret7",
    "WECOM_AES_KEY": "W" * 43,
    "REDIS_URL": "redis://:redis-pass-555@127.0.0.1:6379/11",
    "DATABASE_URL": "postgresql+psycopg://tousu:db-pass-666@127.0.0.1/tousu",
}
OPENID = "oPrivacyOpenid00000000000001"
PHONE = "13812345678"


def _hidden(text: str) -> list[str]:
    return [value for value in (*SECRETS.values(), "db-pass-666", "redis-pass-555", OPENID, PHONE) if value in text]


def test_settings_repr_shows_no_secret(company_config):
    settings = load_settings(environ={"WECHAT_APPID": "wx0123456789abcdef", "WECOM_CORP_ID": "ww0123",
                                      "WECOM_AGENT_ID": "1000002", "PUBLIC_BASE_URL": "https://tousu.example.com",
                                      **SECRETS},
                             overrides={"COMPANY": company_config})
    assert settings.wechat_secret == SECRETS["WECHAT_SECRET"]
    for text in (repr(settings), str(settings), f"{settings!r}"):
        assert _hidden(text) == []
        assert "wechat_appid='wx0123456789abcdef'" in text, "what is not secret still helps an operator"


@pytest.fixture
def production(db: Any, app_config: dict[str, Any]) -> tuple[Any, WeChatSide]:
    from bot import create_app

    config = app_config | {k: v for k, v in SECRETS.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    app = create_app(config | {"TESTING": False}, database=db)
    return app.test_client(), WeChatSide(SECRETS["WECHAT_TOKEN"], SECRETS["WECHAT_AES_KEY"], app_config["WECHAT_APPID"])


def post(client: Any, signed: Any) -> Any:
    return client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")


def test_no_openid_phone_or_secret_in_any_log_line(production, caplog, monkeypatch):
    from bot import webhook

    client, wechat = production
    caplog.set_level(logging.DEBUG)
    assert post(client, wechat.sign(wechat.text(OPENID, f"我的电话{PHONE}"))).status_code == 200
    forged = wechat.sign(wechat.text(OPENID, "hi"))
    forged.params["msg_signature"] = "0" * 40
    assert post(client, forged).status_code == 403

    def crash(_session: Any, message: Any, _ctx: Any) -> Any:  # a database error quotes the values it refused
        raise RuntimeError(f"duplicate key (openid)=({message.sender}) phone={PHONE}")

    monkeypatch.setattr(webhook, "route", crash)
    response = post(client, wechat.sign(wechat.text(OPENID, "再试一次")))
    assert "没有处理成功" in wechat.open_reply(response.data)["Content"]
    logged = "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records) + caplog.text
    assert "duplicate key (openid)=(oPri…0001) phone=138****5678" in logged, "the crash is logged, masked"
    assert "Traceback" in logged
    assert _hidden(logged) == []


def test_dev_sink_log_masks_the_recipient(db, caplog):
    caplog.set_level(logging.INFO, logger="tousu")
    DevSink(db).send(Outgoing(id=1, channel=OutboxChannel.WECHAT_CUSTOM, recipient=OPENID, payload={"text": "hi"}))
    assert "oPri…0001" in caplog.text
    assert OPENID not in caplog.text
