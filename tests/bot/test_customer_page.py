"""The customer's case page /c/<number>: a signed link or WeChat web authorisation, never someone else's case."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import sqlalchemy as sa

from handlers import customer, survey
from handlers.workflow import notify
from handlers.workflow import operations as ops
from storage.models import Complaint, ComplaintStatus, OutboxMessage, Source, Survey
from tests.fakes.fake_wechat import (
    AUTHORIZE,
    SNS_TOKEN,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)
from tests.handlers.test_survey import CUSTOMER, FED_BACK, resolved, sent
from tests.handlers.test_workflow_support import local, make_complaint, make_world

NOW = FED_BACK + dt.timedelta(hours=3)
SECRET = "test-secret-key-0123456789"


def _app(db, app_config, clock: list[dt.datetime], **extra: Any):
    from bot import create_app

    return create_app(app_config | {"CLOCK": lambda: clock[0]} | extra, database=db)


@pytest.fixture
def clock() -> list[dt.datetime]:
    return [NOW]


@pytest.fixture
def case(db, company_config) -> dict[str, Any]:
    """A quality complaint fed back and surveyed, with notes the customer must never see."""
    with db.transaction() as s:
        world = make_world(s, company_config)
        c = resolved(world)
        ops.record_contact(s, world["li.na"], c, ctx=world.ctx(), method="phone", note="内部：客户脾气急，注意措辞")
        ops.add_progress_note(s, world["li.na"], c, ctx=world.ctx(), text="内部备注：赵磊负责")
        sent(world, c)
        other = make_complaint(world, openid="oSTRANGER00000000000001")
        return {"number": c.number, "id": c.id, "other": other.number}


def link(number: str, at: dt.datetime = NOW, secret: str = SECRET) -> str:
    return f"/c/{number}?t={customer.sign_case(number, secret=secret, now=at)}"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the survey form carries a CSRF token"
    return found.group(1)


# -- the signed link -------------------------------------------------------------------------------------


def test_a_signed_link_shows_the_case_in_plain_words(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    response = client.get(link(case["number"]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "待您评价" in html and "请您对处理结果评价" in html  # status and next step in plain words
    assert "已为您更换同规格铝板。" in html  # the result fed back
    assert 'name="stars"' in html and "提交评价" in html  # the open survey
    assert "邀请您评价" in html and "答复处理结果" in html and "已交承办部门处理" in html  # history
    for internal in ("客户脾气急", "内部备注", "赵磊", "表面划痕系包装衬纸缺失", "+8613800138000", "王工"):
        assert internal not in html, f"staff-internal {internal!r} is not shown to the customer"
    assert "Set-Cookie" not in response.headers, "no session: the staff console's cookie is never touched"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/c/static/customer.css").status_code == 200


def test_someone_elses_case_is_never_shown(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    token = customer.sign_case(case["number"], secret=SECRET, now=NOW)
    response = client.get(f"/c/{case['other']}?t={token}")  # my link, another number
    assert response.status_code == 400 and "链接无效" in response.get_data(as_text=True)
    assert case["other"] not in response.get_data(as_text=True).replace(f"/c/{case['other']}", "")
    assert client.get(link("26999999")).status_code == 404, "a valid link to no case"


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature altered
    lambda t: "x" + t,
    lambda t: customer.sign_case("26020001", secret="another-deployment-key", now=NOW),  # not our key
])
def test_a_tampered_link_gets_a_clear_page(db, app_config, clock, case, tamper) -> None:
    client = _app(db, app_config, clock).test_client()
    token = tamper(customer.sign_case(case["number"], secret=SECRET, now=NOW))
    response = client.get(f"/c/{case['number']}?t={token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "链接无效" in html and "已为您更换" not in html


def test_an_expired_link_gets_a_clear_page(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    issued = NOW
    clock[0] = issued + customer.LINK_MAX_AGE - dt.timedelta(minutes=1)
    assert client.get(link(case["number"], issued)).status_code == 200
    clock[0] = issued + customer.LINK_MAX_AGE + dt.timedelta(minutes=1)
    response = client.get(link(case["number"], issued))
    html = response.get_data(as_text=True)
    assert response.status_code == 410 and "链接已过期" in html and "已为您更换" not in html


def test_no_credential_gets_a_page_not_the_case(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    for number in (case["number"], "26999999"):  # the same answer whether the case exists or not
        response = client.get(f"/c/{number}")
        assert response.status_code == 401 and "无法确认您的身份" in response.get_data(as_text=True)


def test_customer_case_link_is_signed_unless_wechat_will_identify(db, company_config) -> None:
    with db.transaction() as s:
        world = make_world(s, company_config)
        wechat_case = make_complaint(world)
        phone_case = make_complaint(world, source=Source.PHONE)
        customer.configure_links("https://tousu.example.com", SECRET, oauth=False)
        try:
            url = notify.customer_case_link(wechat_case, now=NOW)
            assert url.startswith(f"https://tousu.example.com/c/{wechat_case.number}?t=")
            token = parse_qs(urlsplit(url).query)["t"][0]
            assert customer.check_case_token(token, wechat_case.number, secret=SECRET, now=NOW) is customer.LinkCheck.OK
            customer.configure_links("https://tousu.example.com", SECRET, oauth=True)
            assert notify.customer_case_link(wechat_case) == f"https://tousu.example.com/c/{wechat_case.number}"
            assert "?t=" in notify.customer_case_link(phone_case), "no WeChat: the link itself identifies"
        finally:
            customer.configure_links("http://127.0.0.1:5000", SECRET, oauth=False)


# -- the survey on the page ------------------------------------------------------------------------------


def test_the_survey_answered_on_the_page_acts_and_a_second_answer_is_a_comment(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    url = link(case["number"])
    csrf = _csrf(client.get(url).get_data(as_text=True))
    response = client.post(f"/c/{case['number']}/survey?{url.split('?')[1]}",
                           data={"csrf_token": csrf, "stars": "5", "comment": "处理很及时"})
    assert response.status_code == 302 and "done=answered" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "感谢您的评价" in page and "已办结" in page and "处理很及时" in page
    with db.read_sessions() as s:
        complaint = s.get(Complaint, case["id"])
        assert complaint is not None and complaint.status is ComplaintStatus.CLOSED
        found = s.scalar(sa.select(Survey).where(Survey.complaint_id == case["id"]))
        assert found is not None and (found.stars, found.channel) == (5, "page")
    again = client.post(f"/c/{case['number']}/survey?{url.split('?')[1]}",
                        data={"csrf_token": csrf, "stars": "1", "comment": "其实不满意"})
    assert "done=comment" in again.headers["Location"]
    with db.read_sessions() as s:
        found = s.scalar(sa.select(Survey).where(Survey.complaint_id == case["id"]))
        assert found is not None and found.stars == 5 and found.later_answers[0]["text"] == "其实不满意"


def test_the_survey_form_needs_its_csrf_token_for_this_case_and_viewer(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    query = link(case["number"]).split("?")[1]
    other_csrf = _csrf(client.get(link(case["number"], NOW - dt.timedelta(days=1))).get_data(as_text=True))
    for data in ({"stars": "1"}, {"stars": "1", "csrf_token": "forged"}, {"stars": "1", "csrf_token": other_csrf}):
        response = client.post(f"/c/{case['number']}/survey?{query}", data=data)
        assert response.status_code == 400 and "页面已失效" in response.get_data(as_text=True)
    with db.read_sessions() as s:
        found = s.scalar(sa.select(Survey).where(Survey.complaint_id == case["id"]))
        assert found is not None and found.stars is None, "nothing was recorded"


def test_stars_are_required_for_the_first_answer(db, app_config, clock, case) -> None:
    client = _app(db, app_config, clock).test_client()
    url = link(case["number"])
    csrf = _csrf(client.get(url).get_data(as_text=True))
    response = client.post(f"/c/{case['number']}/survey?{url.split('?')[1]}", data={"csrf_token": csrf, "stars": "9"})
    assert "problem=stars" in response.headers["Location"]
    assert "请先选择星级" in client.get(response.headers["Location"]).get_data(as_text=True)


# -- WeChat web authorisation (snsapi_base) against the fake server -------------------------------------------


def _oauth_app(db, app_config, clock, fake: FakeWeChat):
    return _app(db, app_config, clock, WECHAT_APPID=fake.appid, WECHAT_SECRET=fake.secret,
                WECHAT_API_BASE_URL=fake.url, WECHAT_OAUTH_BASE_URL=fake.url,
                PUBLIC_BASE_URL="https://tousu.example.com")


def _through_wechat(client, fake: FakeWeChat, number: str):
    """Open /c/<number> as WeChat's browser would: off to the authorize page and back with a code."""
    first = client.get(f"/c/{number}")
    assert first.status_code == 302
    target = first.headers["Location"]
    parts = urlsplit(target)
    assert target.startswith(f"{fake.url}{AUTHORIZE}?") and target.endswith("#wechat_redirect")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["appid"] == fake.appid and query["scope"] == "snsapi_base" and query["response_type"] == "code"
    assert query["redirect_uri"] == "https://tousu.example.com/c/oauth/callback"
    assert re.fullmatch(r"[0-9a-f]{32}", query["state"]), "a state WeChat accepts (a-zA-Z0-9)"
    back = requests.get(f"{fake.url}{AUTHORIZE}?{parts.query}", allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlsplit(back.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_snsapi_base_identifies_the_follower_and_shows_their_case(db, app_config, clock, case, fake_wechat) -> None:
    client = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    fake_wechat.oauth_openid = CUSTOMER
    response = _through_wechat(client, fake_wechat, case["number"])
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/c/{case['number']}")
    exchanged = fake_wechat.calls_to(SNS_TOKEN)
    assert len(exchanged) == 1 and exchanged[0].query["grant_type"] == "authorization_code"
    page = client.get(f"/c/{case['number']}")
    assert page.status_code == 200 and "已为您更换同规格铝板。" in page.get_data(as_text=True)
    csrf = _csrf(page.get_data(as_text=True))
    answer = client.post(f"/c/{case['number']}/survey", data={"csrf_token": csrf, "stars": "4"})
    assert answer.status_code == 302
    with db.read_sessions() as s:
        found = s.scalar(sa.select(Survey).where(Survey.complaint_id == case["id"]))
        assert found is not None and found.stars == 4
    assert client.get(f"/c/{case['other']}").status_code == 404, "another follower's case: 404"


def test_snsapi_base_for_another_follower_is_404(db, app_config, clock, case, fake_wechat) -> None:
    client = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    fake_wechat.oauth_openid = "oSTRANGER00000000000001"
    response = _through_wechat(client, fake_wechat, case["number"])
    assert response.status_code == 302
    page = client.get(f"/c/{case['number']}")
    assert page.status_code == 404 and "已为您更换" not in page.get_data(as_text=True)


def test_a_used_code_a_foreign_state_and_a_missing_cookie_are_refused(db, app_config, clock, case,
                                                                     fake_wechat) -> None:
    client = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    first = client.get(f"/c/{case['number']}")
    state = parse_qs(urlsplit(first.headers["Location"]).query)["state"][0]
    code = fake_wechat.issue_follower_code(CUSTOMER)
    assert client.get(f"/c/oauth/callback?code={code}&state={'0' * 32}").status_code == 400  # not this browser's
    ok = client.get(f"/c/oauth/callback?code={code}&state={state}")
    assert ok.status_code == 302
    other = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    other.get(f"/c/{case['number']}")
    state2 = parse_qs(urlsplit(other.get(f"/c/{case['number']}").headers["Location"]).query)["state"][0]
    reused = other.get(f"/c/oauth/callback?code={code}&state={state2}")
    assert reused.status_code == 400 and "授权已失效" in reused.get_data(as_text=True), "a code works once"
    stranger = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    assert stranger.get(f"/c/oauth/callback?code=x&state={state}").status_code == 400, "no cookie: no state"


def test_an_expired_link_offers_wechat_when_it_is_configured(db, app_config, clock, case, fake_wechat) -> None:
    client = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    clock[0] = NOW + dt.timedelta(days=40)
    response = client.get(link(case["number"], NOW))
    assert response.status_code == 410 and "通过微信验证身份后查看" in response.get_data(as_text=True)


def test_the_wechat_cookie_expires(db, app_config, clock, case, fake_wechat) -> None:
    client = _oauth_app(db, app_config, clock, fake_wechat).test_client()
    _through_wechat(client, fake_wechat, case["number"])
    assert client.get(f"/c/{case['number']}").status_code == 200
    clock[0] = NOW + dt.timedelta(hours=13)
    assert client.get(f"/c/{case['number']}").status_code == 302, "asked again after 12 h"


def test_survey_messages_carry_the_link_the_page_accepts(db, app_config, clock, company_config) -> None:
    app = _app(db, app_config, clock)
    client = app.test_client()
    with db.transaction() as s:
        world = make_world(s, company_config)
        c = resolved(world)
        survey.send_survey(s, c, ctx=world.at(local(2026, 3, 3, 12)))
        number = c.number
    with db.read_sessions() as s:
        query = sa.select(OutboxMessage).where(OutboxMessage.recipient == CUSTOMER)
        texts = [m.payload["text"] for m in s.scalars(query)]
    url = re.search(r'<a href="http://127\.0\.0\.1:5000(/c/\d+\?t=[^"]+)">打开页面评价</a>', texts[-1])
    assert url is not None
    assert client.get(url.group(1)).status_code == 200
    assert number in url.group(1)
