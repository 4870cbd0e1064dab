"""Signing in from a WeCom card (企业微信网页授权), against the fake WeCom server over real HTTP: the
authorize redirect, the state that binds the trip to one browser and expires, the code exchange, who may
sign in, where they land, and the dev-mode shortcut of the simulator (refused everywhere else)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from bot import create_app
from handlers import accounts
from handlers.audit import LOGIN_WECOM
from handlers.wecom_signin import NO_PASSWORD
from storage.models import AuditEvent, StaffAccount
from tests.bot.console.support import START, give_accounts, in_transaction, scope_cases, sign_in
from tests.fakes.fake_wechat import (
    AUTHORIZE,
    FAKE_AGENT_ID,
    GETUSERINFO,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)

PUBLIC = "http://localhost"  # the test client's host, as PUBLIC_BASE_URL


@pytest.fixture
def app_config(app_config: dict[str, Any], fake_wechat: FakeWeChat) -> dict[str, Any]:
    return app_config | {
        "WECOM_CORP_ID": fake_wechat.corp_id, "WECOM_SECRET": fake_wechat.corp_secret,
        "WECOM_AGENT_ID": str(FAKE_AGENT_ID), "WECOM_API_BASE_URL": fake_wechat.url,
        "WECOM_OAUTH_BASE_URL": fake_wechat.url, "PUBLIC_BASE_URL": PUBLIC,
    }


@pytest.fixture
def cases(db, world) -> dict[str, str]:
    return scope_cases(db, world)


def to_wecom(client, next_path: str) -> str:
    """Tap the card: the console sends the browser to WeCom's authorize page; returns that URL."""
    response = client.get("/console/wecom/login", query_string={"next": next_path})
    assert response.status_code == 302
    return response.headers["Location"]


def back_from_wecom(authorize_url: str) -> str:
    """WeCom's page (the fake) sends the browser back with a code; returns the callback's path and query."""
    answer = requests.get(authorize_url.split("#")[0], allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(f"{PUBLIC}/console/wecom/callback?")
    return location.removeprefix(PUBLIC)


def test_a_card_link_lands_on_the_case_signed_in(client, db, cases, fake_wechat: FakeWeChat) -> None:
    case = f"/console/cases/{cases['A']}"
    fake_wechat.oauth_user = "zhao.lei"  # responsible person of case A; no console account yet
    authorize = to_wecom(client, case)

    parts = urlsplit(authorize)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == fake_wechat.url + AUTHORIZE
    assert parts.fragment == "wechat_redirect"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["appid"] == fake_wechat.corp_id and query["agentid"] == str(FAKE_AGENT_ID)
    assert query["response_type"] == "code" and query["scope"] == "snsapi_base"
    assert query["redirect_uri"] == f"{PUBLIC}/console/wecom/callback"
    assert query["state"].isalnum() and len(query["state"]) <= 128  # WeCom's rule for state

    landed = client.get(back_from_wecom(authorize))
    assert landed.status_code == 302 and landed.headers["Location"] == case
    page = client.get(case)
    assert page.status_code == 200 and "赵磊" in page.text and "案件A" in page.text

    exchange = fake_wechat.calls_to(GETUSERINFO)
    assert len(exchange) == 1 and exchange[0].access_token and exchange[0].access_token.startswith("wecom-token-")
    with db.read_sessions() as s:
        events = {e.action: e for e in s.scalars(sa.select(AuditEvent))}
        assert events[LOGIN_WECOM].actor_label == "zhao.lei" and events[LOGIN_WECOM].ip == "127.0.0.1"
        assert events["account.created"].details["via"] == "wecom"
        account = s.scalars(sa.select(StaffAccount)).one()
        assert account.login == "zhao.lei" and account.password_hash == NO_PASSWORD


def create_app_client(client):
    """Another browser on the same app (its own cookies)."""
    return client.application.test_client()


def test_the_wecom_only_account_has_no_password_to_guess(client, db, cases, fake_wechat: FakeWeChat) -> None:
    client.get(back_from_wecom(to_wecom(client, "/console/")))
    other = create_app_client(client)
    assert sign_in(other, "zhao.lei", NO_PASSWORD).status_code == 401


def test_a_second_sign_in_reuses_the_account_and_the_token(client, db, cases, fake_wechat: FakeWeChat) -> None:
    for _ in range(2):
        fresh = create_app_client(client)
        assert fresh.get(back_from_wecom(to_wecom(fresh, "/console/"))).status_code == 302
    with db.read_sessions() as s:
        assert len(s.scalars(sa.select(StaffAccount)).all()) == 1
        assert len(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == LOGIN_WECOM)).all()) == 2
    assert len(fake_wechat.calls_to("/cgi-bin/gettoken")) == 1  # one token for the app, reused


def test_an_existing_password_account_signs_in_through_wecom_too(client, db, world, cases,
                                                                  fake_wechat: FakeWeChat) -> None:
    give_accounts(db, world, "li.na")
    fake_wechat.oauth_user = "li.na"
    assert client.get(back_from_wecom(to_wecom(client, "/console/"))).status_code == 302
    assert "李娜" in client.get("/console/").text
    with db.read_sessions() as s:
        assert len(s.scalars(sa.select(StaffAccount)).all()) == 1


def test_state_is_single_use(client, cases) -> None:
    callback = back_from_wecom(to_wecom(client, "/console/"))
    assert client.get(callback).status_code == 302
    fresh = create_app_client(client)
    replay = fresh.get(callback)
    assert replay.status_code == 400 and "登录链接已失效" in replay.text


def test_state_is_bound_to_the_browser_that_asked(client, cases) -> None:
    callback = back_from_wecom(to_wecom(client, "/console/"))
    attacker = create_app_client(client)
    to_wecom(attacker, "/console/")  # the other browser has a sign-in under way of its own
    answer = attacker.get(callback)
    assert answer.status_code == 400 and "登录链接已失效" in answer.text
    assert client.get("/console/").status_code == 302  # the victim's browser is not signed in either


def test_a_tampered_state_is_refused(client, cases) -> None:
    callback = back_from_wecom(to_wecom(client, "/console/"))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    forged = state[:-1] + ("0" if state[-1] != "0" else "1")
    answer = client.get(callback.replace(state, forged))
    assert answer.status_code == 400


def test_a_state_older_than_ten_minutes_is_refused(client, clock, cases) -> None:
    callback = back_from_wecom(to_wecom(client, "/console/"))
    clock.advance(minutes=11)
    assert client.get(callback).status_code == 400


def test_an_invalid_code_is_a_clear_40029(client, cases, fake_wechat: FakeWeChat) -> None:
    authorize = to_wecom(client, "/console/")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    answer = client.get("/console/wecom/callback", query_string={"code": "stale-code", "state": state})
    assert answer.status_code == 400
    assert "授权码无效或已过期" in answer.text and "40029" in answer.text


def test_no_code_means_not_signed_in(client, cases) -> None:
    state = parse_qs(urlsplit(to_wecom(client, "/console/")).query)["state"][0]
    assert client.get("/console/wecom/callback", query_string={"state": state}).status_code == 400


def test_a_non_member_is_refused(client, db, cases, fake_wechat: FakeWeChat) -> None:
    fake_wechat.oauth_user = None  # getuserinfo answers an openid only
    answer = client.get(back_from_wecom(to_wecom(client, "/console/")))
    assert answer.status_code == 403 and "不是本企业的成员" in answer.text
    assert client.get("/console/").status_code == 302
    with db.read_sessions() as s:
        event = s.scalars(sa.select(AuditEvent)).one()
        assert event.action == "login.failed" and event.details == {"reason": "wecom_not_member"}


def test_a_member_missing_from_the_org_chart_is_refused(client, db, cases, fake_wechat: FakeWeChat) -> None:
    fake_wechat.oauth_user = "new.hire"
    answer = client.get(back_from_wecom(to_wecom(client, "/console/")))
    assert answer.status_code == 403 and "组织架构中没有您" in answer.text
    with db.read_sessions() as s:
        event = s.scalars(sa.select(AuditEvent)).one()
        assert event.actor_label == "new.hire" and event.details == {"reason": "wecom_unknown_user"}


def test_an_inactive_person_is_refused(client, db, world, cases, fake_wechat: FakeWeChat) -> None:
    with in_transaction(db, world) as w:
        w["zhao.lei"].active = False
    answer = client.get(back_from_wecom(to_wecom(client, "/console/")))
    assert answer.status_code == 403 and "已停用" in answer.text
    assert client.get("/console/").status_code == 302


def test_a_disabled_account_is_refused(client, db, world, cases, fake_wechat: FakeWeChat) -> None:
    give_accounts(db, world, "zhao.lei")
    with db.transaction() as s:
        account = accounts.account_by_login(s, "zhao.lei")
        assert account is not None
        accounts.set_disabled(s, account, True, now=START)
    answer = client.get(back_from_wecom(to_wecom(client, "/console/")))
    assert answer.status_code == 403
    with db.read_sessions() as s:
        assert s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login.disabled")).one()


@pytest.mark.parametrize("target", [
    "https://evil.example/console/", "//evil.example/console/", "/\\evil.example", "javascript:alert(1)",
    "/wechat", "",
])
def test_next_is_a_console_path_or_the_dashboard(client, cases, target: str) -> None:
    landed = client.get(back_from_wecom(to_wecom(client, target)))
    assert landed.status_code == 302 and landed.headers["Location"] == "/console/"


def test_the_case_outside_ones_scope_is_still_a_404_after_signing_in(client, cases, fake_wechat) -> None:
    fake_wechat.oauth_user = "sun.li"  # 物流部: sees case D only
    landed = client.get(back_from_wecom(to_wecom(client, f"/console/cases/{cases['A']}")))
    assert landed.headers["Location"] == f"/console/cases/{cases['A']}"
    assert client.get(landed.headers["Location"]).status_code == 404
    assert client.get(f"/console/cases/{cases['D']}").status_code == 200


def test_someone_already_signed_in_goes_straight_to_the_case(client, db, world, cases, fake_wechat) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    answer = client.get("/console/wecom/login", query_string={"next": f"/console/cases/{cases['A']}"})
    assert answer.status_code == 302 and answer.headers["Location"] == f"/console/cases/{cases['A']}"
    assert fake_wechat.calls_to(AUTHORIZE) == []


def test_an_idle_sign_in_asks_wecom_again(client, db, world, clock, cases) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    clock.advance(minutes=31)
    answer = client.get("/console/wecom/login", query_string={"next": "/console/"})
    assert answer.headers["Location"].split("?")[0].endswith(AUTHORIZE)


def test_wecom_unavailable_is_a_clear_error(client, cases, fake_wechat: FakeWeChat) -> None:
    callback = back_from_wecom(to_wecom(client, "/console/"))
    fake_wechat.fail_next(GETUSERINFO, errcode=-1)
    answer = client.get(callback)
    assert answer.status_code == 502 and "暂时无法连接企业微信" in answer.text


# -- dev mode: the simulator plays the authorize step ------------------------------------------------------


@pytest.fixture
def dev_client(db, app_config) -> Any:
    """Dev mode as after `make run`: no WeCom secret, so no WeCom to ask."""
    config = {k: v for k, v in app_config.items() if k not in ("WECOM_SECRET",)}
    return create_app(config, database=db).test_client()


def test_dev_mode_signs_in_as_the_cards_recipient_directly(dev_client, db, cases) -> None:
    case = f"/console/cases/{cases['A']}"
    landed = dev_client.get("/dev/simulator/wecom/signin", query_string={"userid": "zhao.lei", "next": case})
    assert landed.status_code == 302 and landed.headers["Location"] == case
    assert "赵磊" in dev_client.get(case).text
    with db.read_sessions() as s:
        assert s.scalars(sa.select(AuditEvent).where(AuditEvent.action == LOGIN_WECOM)).one().actor_label == "zhao.lei"


def test_dev_sign_in_keeps_the_org_chart_rules(dev_client, db, world, cases) -> None:
    assert dev_client.get("/dev/simulator/wecom/signin", query_string={"userid": "nobody"}).status_code == 403
    with in_transaction(db, world) as w:
        w["zhao.lei"].active = False
    assert dev_client.get("/dev/simulator/wecom/signin", query_string={"userid": "zhao.lei"}).status_code == 403
    external = dev_client.get("/dev/simulator/wecom/signin",
                              query_string={"userid": "sun.li", "next": "https://evil.example/"})
    assert external.headers["Location"] == "/console/"


def test_without_wecom_the_card_link_explains_itself_in_dev_mode(dev_client, cases) -> None:
    answer = dev_client.get("/console/wecom/login", query_string={"next": "/console/"})
    assert answer.status_code == 503 and "模拟器" in answer.text


def test_the_dev_sign_in_is_refused_when_wecom_is_configured(client, cases) -> None:
    answer = client.get("/dev/simulator/wecom/signin", query_string={"userid": "zhao.lei", "next": "/console/"})
    assert answer.status_code == 404
    assert client.get("/console/").status_code == 302


def test_the_dev_sign_in_is_refused_outside_dev_mode(db, app_config, cases) -> None:
    prod = app_config | {"TOUSU_DEV": False, "WECHAT_SECRET": "s3cret", "PUBLIC_BASE_URL": "https://t.example.com"}
    client = create_app(prod, database=db).test_client()
    answer = client.get("/dev/simulator/wecom/signin", query_string={"userid": "zhao.lei", "next": "/console/"})
    assert answer.status_code == 404
    assert client.get("/console/").status_code == 302
