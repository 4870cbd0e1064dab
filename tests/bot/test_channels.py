"""The WeChat/WeCom clients and senders against the fake server, over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import requests
from hypothesis import given
from hypothesis import strategies as st
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from bot.channels import MAX_TEXT_BYTES, Outgoing, fit_text
from bot.channels.errors import (
    ChannelError,
    ErrorKind,
    backoff,
    channel_error,
    classify_errcode,
    next_quota_reset,
)
from bot.channels.sink import DevSink, build_channels
from bot.channels.wechat import OfficialAccountClient, OfficialAccountSender, official_account_storage
from bot.channels.wecom import WeComClient, WeComSender
from storage.db import Database
from storage.models import OutboxChannel
from tests.fakes.fake_wechat import (
    CUSTOM_SEND,
    FAKE_AGENT_ID,
    GETTOKEN,
    MENU_CREATE,
    TEMPLATE_SEND,
    TOKEN,
    WECOM_SEND,
    FakeWeChat,
    fake_settings,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)

REDIS_URL = "redis://127.0.0.1:6379/0"
OPENID = "oCUSTOMER000000000000000001"


def oa_client(fake: FakeWeChat, storage: SessionStorage | None = None, timeout: float = 2.0) -> OfficialAccountClient:
    return OfficialAccountClient(fake.appid, fake.secret, base_url=fake.url, storage=storage, timeout=timeout)


def wecom_client(fake: FakeWeChat, timeout: float = 2.0) -> WeComClient:
    return WeComClient(fake.corp_id, fake.corp_secret, FAKE_AGENT_ID, base_url=fake.url, timeout=timeout)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A private key prefix in the local Redis; the test is skipped only when Redis is not running."""
    conn = redis.Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at " + REDIS_URL)
    prefix = f"tousu-test:{uuid.uuid4().hex}"
    yield prefix
    for key in conn.scan_iter(f"{prefix}:*"):
        conn.delete(key)


# -- the Official Account client -----------------------------------------------------------------------


def test_token_is_fetched_from_the_configured_base_url_and_reused(fake_wechat: FakeWeChat) -> None:
    client = oa_client(fake_wechat)
    configured = f"{fake_wechat.url}/cgi-bin/"
    assert configured == client.API_BASE_URL
    assert WeChatClient.API_BASE_URL == "https://api.weixin.qq.com/cgi-bin/"  # wechatpy's class is untouched

    client.send_text(OPENID, "第一条")
    client.send_text(OPENID, "第二条")

    tokens = fake_wechat.calls_to(TOKEN)
    assert len(tokens) == 1
    assert tokens[0].query == {"grant_type": "client_credential", "appid": fake_wechat.appid,
                               "secret": fake_wechat.secret}
    sends = fake_wechat.calls_to(CUSTOM_SEND)
    assert [c.body for c in sends] == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "第一条"}},
        {"touser": OPENID, "msgtype": "text", "text": {"content": "第二条"}},
    ]
    assert {c.access_token for c in sends} == {"oa-token-1"}


def test_token_is_shared_through_redis_between_two_clients(fake_wechat: FakeWeChat, redis_prefix: str) -> None:
    first = oa_client(fake_wechat, RedisStorage(redis.Redis.from_url(REDIS_URL), prefix=redis_prefix))
    second = oa_client(fake_wechat, RedisStorage(redis.Redis.from_url(REDIS_URL), prefix=redis_prefix))

    first.send_text(OPENID, "来自进程一")
    second.send_text(OPENID, "来自进程二")

    assert len(fake_wechat.calls_to(TOKEN)) == 1
    assert {c.access_token for c in fake_wechat.calls_to(CUSTOM_SEND)} == {"oa-token-1"}
    ttl = redis.Redis.from_url(REDIS_URL).ttl(f"{redis_prefix}:{fake_wechat.appid}_access_token")
    assert 6000 < ttl <= 7200 - 300  # refreshed before WeChat expires it


def test_a_token_rejected_in_one_process_is_refreshed_once_for_all(fake_wechat: FakeWeChat,
                                                                    redis_prefix: str) -> None:
    first = oa_client(fake_wechat, RedisStorage(redis.Redis.from_url(REDIS_URL), prefix=redis_prefix))
    second = oa_client(fake_wechat, RedisStorage(redis.Redis.from_url(REDIS_URL), prefix=redis_prefix))
    first.send_text(OPENID, "一")
    fake_wechat.expire_tokens()

    second.send_text(OPENID, "二")  # 40001, refresh, retry
    first.send_text(OPENID, "三")  # picks up the refreshed token: no fetch of its own

    assert len(fake_wechat.calls_to(TOKEN)) == 2
    assert [c.access_token for c in fake_wechat.calls_to(CUSTOM_SEND)] == [
        "oa-token-1", "oa-token-1", "oa-token-2", "oa-token-2"]


def test_refresh_keeps_a_token_another_process_already_replaced(fake_wechat: FakeWeChat) -> None:
    storage = MemoryStorage()
    client = oa_client(fake_wechat, storage)
    current = client.access_token
    assert client.refresh_access_token(stale="an-older-token") == current
    assert len(fake_wechat.calls_to(TOKEN)) == 1
    assert client.refresh_access_token(stale=current) != current
    assert len(fake_wechat.calls_to(TOKEN)) == 2


def test_token_storage_is_redis_when_configured() -> None:
    assert isinstance(official_account_storage(REDIS_URL, "wxapp"), RedisStorage)
    assert isinstance(official_account_storage(None, "wxapp"), MemoryStorage)


def test_expired_token_is_refreshed_once_and_the_call_retried(fake_wechat: FakeWeChat) -> None:
    client = oa_client(fake_wechat)
    client.send_text(OPENID, "一")
    fake_wechat.expire_tokens()

    client.send_text(OPENID, "二")

    assert [c.path for c in fake_wechat.calls] == [TOKEN, CUSTOM_SEND, CUSTOM_SEND, TOKEN, CUSTOM_SEND]
    assert len(fake_wechat.deliveries) == 2


def test_token_refresh_is_bounded(fake_wechat: FakeWeChat) -> None:
    client = oa_client(fake_wechat)
    fake_wechat.fail_next(CUSTOM_SEND, 40001, times=5)

    with pytest.raises(WeChatClientException) as caught:
        client.send_text(OPENID, "一")

    assert caught.value.errcode == 40001
    assert len(fake_wechat.calls_to(CUSTOM_SEND)) == 2
    assert len(fake_wechat.calls_to(TOKEN)) == 2


def test_token_fetch_has_a_timeout(fake_wechat: FakeWeChat) -> None:
    fake_wechat.delay(2.0, path=TOKEN, times=1)
    client = oa_client(fake_wechat, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        client.send_text(OPENID, "一")
    assert time.monotonic() - started < 1.5
    assert fake_wechat.calls_to(CUSTOM_SEND) == []


def test_api_calls_have_a_timeout(fake_wechat: FakeWeChat) -> None:
    client = oa_client(fake_wechat, timeout=0.3)
    client.access_token  # noqa: B018 (fetch the token first, undelayed)
    fake_wechat.delay(2.0, path=CUSTOM_SEND, times=1)
    with pytest.raises(requests.Timeout):
        client.send_text(OPENID, "一")


def test_template_message_carries_client_msg_id_and_url(fake_wechat: FakeWeChat) -> None:
    client = oa_client(fake_wechat)
    data = {"thing1": {"value": "投诉已受理"}, "character_string2": {"value": "TS202503100001"}}
    result = client.send_template(OPENID, "TPL-1", data, url="https://example.com/c/1", client_msg_id="tousu-1")
    assert result["errcode"] == 0
    assert fake_wechat.calls_to(TEMPLATE_SEND)[0].body == {
        "touser": OPENID, "template_id": "TPL-1", "data": data, "url": "https://example.com/c/1",
        "client_msg_id": "tousu-1",
    }


def test_create_menu(fake_wechat: FakeWeChat) -> None:
    menu = {"button": [{"type": "click", "name": "我要投诉", "key": "COMPLAIN"}]}
    assert oa_client(fake_wechat).create_menu(menu)["errcode"] == 0
    assert fake_wechat.calls_to(MENU_CREATE)[0].body == menu


def test_wechat_errors_come_back_as_wechatpy_exceptions_with_the_code(fake_wechat: FakeWeChat) -> None:
    fake_wechat.fail_next(CUSTOM_SEND, 45047, "out of response count limit")
    with pytest.raises(WeChatClientException) as caught:
        oa_client(fake_wechat).send_text(OPENID, "一")
    assert caught.value.errcode == 45047


# -- the WeCom client ----------------------------------------------------------------------------------


def test_wecom_token_and_text_message(fake_wechat: FakeWeChat) -> None:
    client = wecom_client(fake_wechat)
    configured = f"{fake_wechat.url}/cgi-bin/"
    assert configured == client.API_BASE_URL
    client.send_text(["zhangsan", "lisi"], "新投诉待处理")

    token_call = fake_wechat.calls_to(GETTOKEN)[0]
    assert token_call.query == {"corpid": fake_wechat.corp_id, "corpsecret": fake_wechat.corp_secret}
    assert fake_wechat.calls_to(WECOM_SEND)[0].body == {
        "touser": "zhangsan|lisi", "agentid": FAKE_AGENT_ID, "msgtype": "text", "text": {"content": "新投诉待处理"}}
    assert fake_wechat.corp_secret[:10] not in client.access_token_key


def test_wecom_textcard(fake_wechat: FakeWeChat) -> None:
    wecom_client(fake_wechat).send_textcard(["zhangsan"], "投诉 TS1", "请在 2 个工作日内处理", "https://e.x/1")
    body = fake_wechat.calls_to(WECOM_SEND)[0].body
    assert body["msgtype"] == "textcard"
    assert body["textcard"] == {"title": "投诉 TS1", "description": "请在 2 个工作日内处理", "url": "https://e.x/1",
                                "btntxt": "查看详情"}


def test_wecom_expired_token_is_refreshed(fake_wechat: FakeWeChat) -> None:
    client = wecom_client(fake_wechat)
    client.send_text(["zhangsan"], "一")
    fake_wechat.expired_token_errcode = 42001
    fake_wechat.expire_tokens()
    client.send_text(["zhangsan"], "二")
    assert len(fake_wechat.calls_to(GETTOKEN)) == 2
    assert len(fake_wechat.deliveries) == 2


# -- senders -------------------------------------------------------------------------------------------


def outgoing(channel: OutboxChannel, recipient: str, payload: dict[str, object], id: int = 7) -> Outgoing:
    return Outgoing(id=id, channel=channel, recipient=recipient, payload=payload)


def test_custom_message_falls_back_to_its_template_outside_the_window(fake_wechat: FakeWeChat) -> None:
    sender = OfficialAccountSender(oa_client(fake_wechat))
    fake_wechat.fail_next(CUSTOM_SEND, 45015, "response out of time limit or subscription is canceled")
    template = {"template_id": "TPL-1", "data": {"thing1": {"value": "已受理"}}, "url": "https://e.x/c/7"}

    receipt = sender.send(outgoing(OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "已受理", "template": template}))

    assert receipt.note is not None and receipt.note.startswith("45015")
    call = fake_wechat.calls_to(TEMPLATE_SEND)[0]
    assert call.body["client_msg_id"] == "tousu-7"
    assert call.body["url"] == "https://e.x/c/7"


def test_outside_the_window_without_template_is_permanent(fake_wechat: FakeWeChat) -> None:
    sender = OfficialAccountSender(oa_client(fake_wechat))
    fake_wechat.fail_next(CUSTOM_SEND, 45015)
    with pytest.raises(ChannelError) as caught:
        sender.send(outgoing(OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "已受理"}))
    assert caught.value.kind is ErrorKind.PERMANENT
    assert str(caught.value).startswith("45015")
    assert fake_wechat.calls_to(TEMPLATE_SEND) == []


def test_sender_turns_timeouts_into_retryable_errors(fake_wechat: FakeWeChat) -> None:
    sender = OfficialAccountSender(oa_client(fake_wechat, timeout=0.3))
    fake_wechat.delay(2.0, times=1)
    with pytest.raises(ChannelError) as caught:
        sender.send(outgoing(OutboxChannel.WECHAT_CUSTOM, OPENID, {"text": "你好"}))
    assert caught.value.kind is ErrorKind.RETRY
    assert "timeout" in str(caught.value)


def test_malformed_payload_is_permanent_and_calls_nothing(fake_wechat: FakeWeChat) -> None:
    sender = OfficialAccountSender(oa_client(fake_wechat))
    with pytest.raises(ChannelError) as caught:
        sender.send(outgoing(OutboxChannel.WECHAT_TEMPLATE, OPENID, {"data": {}}))
    assert caught.value.kind is ErrorKind.PERMANENT
    assert fake_wechat.calls == []


def test_wecom_partly_invalid_recipients_is_sent_with_a_note(fake_wechat: FakeWeChat) -> None:
    fake_wechat.invalid_wecom_users = {"left-the-company"}
    receipt = WeComSender(wecom_client(fake_wechat)).send(
        outgoing(OutboxChannel.WECOM_APP, "zhangsan|left-the-company", {"text": "新投诉"}))
    assert receipt.note == "invaliduser: left-the-company"


def test_wecom_all_invalid_is_permanent(fake_wechat: FakeWeChat) -> None:
    fake_wechat.invalid_wecom_users = {"ghost"}
    with pytest.raises(ChannelError) as caught:
        WeComSender(wecom_client(fake_wechat)).send(outgoing(OutboxChannel.WECOM_APP, "ghost", {"text": "新投诉"}))
    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.errcode == 81013


def test_wecom_title_without_url_becomes_a_text(fake_wechat: FakeWeChat) -> None:
    WeComSender(wecom_client(fake_wechat)).send(
        outgoing(OutboxChannel.WECOM_APP, "zhangsan", {"text": "请处理", "title": "超时提醒"}))
    assert fake_wechat.calls_to(WECOM_SEND)[0].body["text"] == {"content": "超时提醒\n请处理"}


# -- build_channels ------------------------------------------------------------------------------------


def test_build_channels_without_credentials_is_all_sink(fake_wechat: FakeWeChat, db: Database) -> None:
    settings = fake_settings(fake_wechat, WECHAT_SECRET=None, WECOM_SECRET=None)
    channels = build_channels(settings, db)
    assert all(isinstance(sender, DevSink) for sender in channels.values())
    # webhooks have a sender only with [webhooks] (no row is queued without it): tests/bot/api/test_webhooks.py
    assert set(channels) == set(OutboxChannel) - {OutboxChannel.WEBHOOK}


def test_build_channels_with_credentials_makes_no_call(fake_wechat: FakeWeChat, db: Database) -> None:
    channels = build_channels(fake_settings(fake_wechat), db)
    assert isinstance(channels[OutboxChannel.WECHAT_CUSTOM], OfficialAccountSender)
    assert channels[OutboxChannel.WECHAT_TEMPLATE] is channels[OutboxChannel.WECHAT_CUSTOM]
    assert isinstance(channels[OutboxChannel.WECOM_APP], WeComSender)
    assert fake_wechat.calls == []


def test_build_channels_sinks_wecom_alone_when_it_is_not_configured(fake_wechat: FakeWeChat, db: Database) -> None:
    channels = build_channels(fake_settings(fake_wechat, WECOM_SECRET=None), db)
    assert isinstance(channels[OutboxChannel.WECHAT_CUSTOM], OfficialAccountSender)
    assert isinstance(channels[OutboxChannel.WECOM_APP], DevSink)


# -- the error policy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("errcode", "kind"), [
    (-1, ErrorKind.RETRY),
    (40001, ErrorKind.STALE_CREDENTIAL),
    (40014, ErrorKind.STALE_CREDENTIAL),
    (42001, ErrorKind.STALE_CREDENTIAL),
    (45009, ErrorKind.DAILY_QUOTA),
    (45015, ErrorKind.OUTSIDE_WINDOW),
    *[(code, ErrorKind.PERMANENT) for code in (45047, 43004, 43101, 40003, 40037, 47003, 81013)],
    (99999, ErrorKind.RETRY),  # unknown: retried, bounded
])
def test_classify_errcode(errcode: int, kind: ErrorKind) -> None:
    assert classify_errcode(errcode) is kind


def test_channel_error_leaves_bugs_alone() -> None:
    assert channel_error(KeyError("text")) is None
    assert channel_error(requests.ConnectionError("refused")).kind is ErrorKind.RETRY  # type: ignore[union-attr]


@given(st.integers(min_value=1, max_value=40))
def test_backoff_grows_is_capped_and_jittered(attempt: int) -> None:
    step = min(dt.timedelta(hours=1), dt.timedelta(seconds=30) * 2 ** (attempt - 1))
    assert step / 2 <= backoff(attempt) <= step


@pytest.mark.parametrize(("now", "reset"), [
    (dt.datetime(2025, 3, 10, 4, 0, tzinfo=dt.UTC), dt.datetime(2025, 3, 10, 16, 0, tzinfo=dt.UTC)),
    (dt.datetime(2025, 3, 10, 15, 59, tzinfo=dt.UTC), dt.datetime(2025, 3, 10, 16, 0, tzinfo=dt.UTC)),
    (dt.datetime(2025, 3, 10, 16, 0, tzinfo=dt.UTC), dt.datetime(2025, 3, 11, 16, 0, tzinfo=dt.UTC)),
    (dt.datetime(2025, 12, 31, 17, 0, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, 16, 0, tzinfo=dt.UTC)),
])
def test_daily_quota_resets_at_shanghai_midnight(now: dt.datetime, reset: dt.datetime) -> None:
    assert next_quota_reset(now) == reset


@given(st.text(alphabet=st.sampled_from("投诉a1。😀\n"), max_size=1200))
def test_fit_text_stays_within_the_byte_limit(text: str) -> None:
    fitted, cut = fit_text(text)
    assert len(fitted.encode("utf-8")) <= MAX_TEXT_BYTES
    assert cut == (len(text.encode("utf-8")) > MAX_TEXT_BYTES)
    if not cut:
        assert fitted == text
    else:
        assert text.startswith(fitted[:-1])
