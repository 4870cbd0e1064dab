"""The website's complaint page (/w/complaint): the chat's form, parsers and hints on a page; photos checked by
their bytes; the abuse guard (per-address and per-phone limits, honeypot, form token); registered by the shared
register_complaint with channel 网站 and the real received time; the number and the case page link at the end."""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.intake.form import build_form
from handlers.text import parse_as
from storage.models import Attachment, Complaint, Deadline, OutboxMessage, Source, TimelineEvent
from tests.bot.console.support import START, Clock
from tests.bot.website_support import QUALITY, SERVICE, form_token, png
from tests.handlers.test_workflow_support import World, make_world

URL = "/w/complaint"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def website() -> dict[str, Any]:
    """[website] for these tests: small limits, so the tests meet them."""
    return {"rate_per_ip": "8 per hour", "rate_per_phone": "2 per day", "max_photos": 2, "photo_max_mb": 1}


@pytest.fixture
def app_config(app_config: dict[str, Any], clock: Clock, tmp_path: Path, website: dict[str, Any]) -> dict[str, Any]:
    company = copy.deepcopy(app_config["COMPANY"])
    company["website"] = website
    return {**app_config, "COMPANY": company, "CLOCK": clock, "TOUSU_ATTACHMENT_DIR": str(tmp_path / "evidence")}


@pytest.fixture
def world(db: Any, app_config: dict[str, Any]) -> Iterator[World]:
    with db.transaction() as s:
        w = make_world(s, app_config["COMPANY"], now=START)
    yield w


def _post(client: Any, answers: dict[str, Any], *, photos: list[tuple[bytes, str, str]] | None = None,
          token: str | None = None, **extra: Any) -> Any:
    page = client.get(URL)
    assert page.status_code == 200
    data: dict[str, Any] = {"form_token": token if token is not None else form_token(page.text), **answers, **extra}
    if photos:
        data["photos"] = [(io.BytesIO(body), name, kind) for body, name, kind in photos]
    return client.post(URL, data=data, content_type="multipart/form-data")


def _complaints(db: Any) -> list[Complaint]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(Complaint).order_by(Complaint.id)))


def test_the_page_shows_the_forms_steps_options_and_conditions(client: Any, app: Any) -> None:
    page = client.get(URL)
    assert page.status_code == 200
    html = page.text
    form = app.extensions["tousu"].settings.policy.form
    for step in form.steps:
        if step.parser != "evidence":
            assert f'name="{step.key}"' in html, step.key
    for option in form.step("category").options:
        assert f'value="{option.code}"' in html and option.label in html
    # the quality steps carry the form's own condition, for the page's script
    assert re.search(r'data-key="product_name"\s+data-when=\'\{"category": \["product_quality"\]\}\'', html)
    assert 'data-when' not in html.split('data-key="description"')[1].split(">")[0]
    assert 'type="file"' in html and 'name="homepage"' in html  # photos; the honeypot
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_a_visitor_files_a_quality_complaint_with_a_photo(client: Any, db: Any, world: World, clock: Clock,
                                                          tmp_path: Path) -> None:
    photo = png()
    page = client.get(URL + "?from=qr")
    assert '<input type="hidden" name="from" value="qr">' in page.text  # the QR code's link says where it was
    response = _post(client, QUALITY, photos=[(photo, "IMG_0001.png", "image/png")], **{"from": "qr"})
    assert response.status_code == 303, response.text
    [c] = _complaints(db)
    assert response.headers["Location"].startswith(f"/w/complaint/done/{c.number}?t=")
    assert c.source is Source.WEBSITE and c.openid is None
    assert c.received_at == START and c.registered_at == START  # when the form reached us
    assert (c.phone, c.batch, c.quantity_unit, c.demands) == (
        "+8613800138000", "B2602-01", "吨", ["replace", "apology"])
    assert c.purchase_date.isoformat() == "2026-01-15"
    with db.read_sessions() as s:
        [a] = s.scalars(sa.select(Attachment).where(Attachment.complaint_id == c.id))
        assert a.kind.value == "image" and a.meta["content_type"] == "image/png" and a.meta["size"] == len(photo)
        assert (tmp_path / "evidence" / a.meta["path"]).read_bytes() == photo
        assert a.download_status.value == "stored"
        event = s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id)).first()
        assert event is not None and event.action == "registered" and event.actor_kind.value == "customer"
        assert event.details["source"] == "website" and event.details["entry"] == "qr"
        assert event.details["attachments"] == 1
        # routed, deadlines opened and the lead office told, exactly as the chat's registration does
        assert c.lead_office_id == world.departments["quality_office"].id
        assert s.scalar(sa.select(sa.func.count()).select_from(Deadline).where(Deadline.complaint_id == c.id))
        notices = list(s.scalars(sa.select(OutboxMessage).where(OutboxMessage.complaint_id == c.id)))
        assert notices and all(m.channel.value == "wecom_app" for m in notices)
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    assert c.number in done.text and "投诉已提交" in done.text
    link = re.search(r'id="case-link" href="([^"]+)"', done.text)
    assert link is not None and link.group(1).startswith(f"/c/{c.number}?t=")
    assert f"http://127.0.0.1:5000/c/{c.number}?t=" in done.text  # the full address to keep
    case = client.get(link.group(1).replace("&amp;", "&"))
    assert case.status_code == 200 and c.number in case.text  # the visitor has no openid: the signed link opens it


def test_a_service_complaint_skips_the_quality_steps_even_when_sent(client: Any, db: Any, world: World) -> None:
    response = _post(client, {**SERVICE, "product_name": "不该记录的产品", "quantity": "乱填"})
    assert response.status_code == 303
    [c] = _complaints(db)
    assert c.category == "service_attitude" and c.product_name is None and c.quantity is None
    assert c.lead_office_id == world.departments[_lead(world, "service_attitude")].id


def _lead(world: World, category: str) -> str:
    routes = world.config["routing"]["categories"]
    return str(routes.get(category, {}).get("lead_office") or world.config["routing"]["default_lead_office"])


def test_a_wrong_answer_shows_the_chats_hint_and_keeps_what_was_typed(client: Any, db: Any, world: World) -> None:
    response = _post(client, {**QUALITY, "phone": "12345", "purchase_date": "2027-05-01", "quantity": "很多"})
    assert response.status_code == 422
    html = response.text
    today = START.date()
    for key, text in (("phone", "12345"), ("purchase_date", "2027-05-01"), ("quantity", "很多")):
        step = build_form(quality_categories=["product_quality"]).step(key)
        hint = parse_as(step.parser, text, today=today, step=step).hint
        assert hint and _escaped(hint) in html, key  # the chat's refusal, word for word
        assert f'name="{key}" value="{text}"' in html  # the answer stays for correcting
    assert 'value="洛阳某某机械厂"' in html and "铝板表面有划痕，影响使用</textarea>" in html
    assert 'value="replace" checked' in html
    assert "请检查下面标出的内容" in html
    assert _complaints(db) == []


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")


def test_required_steps_and_junk_input(client: Any, db: Any, world: World) -> None:
    response = _post(client, {"category": "no-such-code", "phone": "\x00" * 10, "description": "短",
                              "demands": ["replace", "x" * 300]})
    assert response.status_code == 422
    assert "投诉类型只能从列表中选择" in response.text
    response = _post(client, {"phone": "1" * 6000, "description": "<script>alert(1)</script>"})
    assert response.status_code == 422
    assert "请选择投诉类型" in response.text and "请填写单位/姓名" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert _complaints(db) == []


def test_a_step_conditioned_on_another_choice_is_read_only_when_it_applies(
        client: Any, db: Any, world: World, app: Any) -> None:
    """Conditions are the form's, whatever step they name (not only the category)."""
    app.extensions["tousu"].settings = _with_form(app, {"steps": [
        {"key": "repair_photo_date", "label": "补拍日期", "parser": "date", "after": "problem_type",
         "prompt": "哪天补拍的照片？",
         "when": {"problem_type": ["surface"]}},
    ]})
    missing = _post(client, QUALITY | {"repair_photo_date": ""})
    assert missing.status_code == 422 and "请填写补拍日期" in missing.text
    other = _post(client, QUALITY | {"problem_type": "dimension", "repair_photo_date": "乱写"})
    assert other.status_code == 303  # the step does not apply to a size problem: its text is ignored


def _with_form(app: Any, form: dict[str, Any]) -> Any:
    """The app's settings with ``[form]`` replaced (as a company's tousu.toml would set it)."""
    from dataclasses import replace

    settings = app.extensions["tousu"].settings
    policy = settings.policy
    form_ = build_form(form, quality_categories=policy.quality_categories)
    return replace(settings, policy=replace(policy, form=form_))


def test_the_option_lists_are_the_companys_own(client: Any, db: Any, world: World, app: Any) -> None:
    """[form.options] replaces a list: the page offers it and accepts only its codes, as the chat does."""
    app.extensions["tousu"].settings = _with_form(app, {"options": {"demand": [
        {"code": "refund", "label": "退款"}, {"code": "visit", "label": "上门处理"}]}})
    page = client.get(URL).text
    assert 'value="visit"' in page and "上门处理" in page and 'value="replace"' not in page
    refused = _post(client, {**SERVICE, "demands": ["replace"]})
    assert refused.status_code == 422 and "您的诉求只能从列表中选择" in refused.text
    assert _post(client, {**SERVICE, "demands": ["visit", "refund"]}).status_code == 303
    [c] = _complaints(db)
    assert c.demands == ["visit", "refund"]


@pytest.mark.parametrize(("body", "name", "kind"), [
    (b"MZ\x90\x00" + b"\x00" * 100, "photo.jpg", "image/jpeg"),  # an .exe calling itself a photo
    (b"%PDF-1.7 fake", "scan.png", "image/png"),
    (png(), "IMG.png", "application/x-msdownload"),  # a real PNG declared as something else
])
def test_an_upload_that_is_not_a_photo_is_refused_with_a_message(client: Any, db: Any, world: World,
                                                                 body: bytes, name: str, kind: str) -> None:
    response = _post(client, SERVICE, photos=[(body, name, kind)])
    assert response.status_code == 422
    assert f"“{name}”不是可识别的照片" in response.text
    assert 'value="张三"' in response.text  # the typed answers stay
    assert _complaints(db) == []


def test_an_oversize_photo_and_too_many_photos_are_refused(client: Any, db: Any, world: World) -> None:
    big = png() + b"\x00" * (1024 * 1024)
    response = _post(client, SERVICE, photos=[(big, "big.png", "image/png")])
    assert response.status_code == 422 and "照片“big.png”超过 1 MB" in response.text
    response = _post(client, SERVICE, photos=[(png(), f"{n}.png", "image/png") for n in range(3)])
    assert response.status_code == 422 and "最多上传 2 张照片" in response.text
    assert _complaints(db) == []


def test_a_request_over_the_total_limit_gets_a_clear_413(client: Any, db: Any, world: World) -> None:
    huge = png() + b"\x00" * (4 * 1024 * 1024)  # 2 photos × 1 MB + 1 MB of fields is the most accepted
    response = _post(client, SERVICE, photos=[(huge, "huge.png", "image/png")])
    assert response.status_code == 413
    assert "上传的照片总大小超过限制" in response.text
    assert _complaints(db) == []


def test_a_filled_honeypot_pretends_success_and_files_nothing(client: Any, db: Any, world: World) -> None:
    response = _post(client, QUALITY, homepage="http://spam.example")
    assert response.status_code == 200
    assert "投诉已提交" in response.text and 'id="case-number"' not in response.text
    assert _complaints(db) == []


def test_a_missing_or_foreign_form_token_files_nothing_and_keeps_the_input(client: Any, db: Any,
                                                                          world: World) -> None:
    response = _post(client, SERVICE, token="forged")
    assert response.status_code == 400 and "页面已过期" in response.text and 'value="张三"' in response.text
    page = client.get(URL, environ_base={"REMOTE_ADDR": "10.9.9.9"})  # a token fetched from another network
    response = client.post(URL, data={"form_token": form_token(page.text), **SERVICE})
    assert response.status_code == 400
    response = client.post(URL, data={"form_token": form_token(client.get(URL).text), **SERVICE},
                           headers={"Origin": "https://evil.example"})  # posted from another site's page
    assert response.status_code == 400
    assert _complaints(db) == []
    assert _post(client, SERVICE).status_code == 303  # the same form from our own page goes through
    # a phone moved to another address of its carrier's pool (same /24) mid-form keeps its token
    page = client.get(URL, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    moved = client.post(URL, data={"form_token": form_token(page.text), **SERVICE, "phone": "13800138000"},
                        environ_base={"REMOTE_ADDR": "203.0.113.200"})
    assert moved.status_code == 303


def test_the_rate_limit_per_address(client: Any, db: Any, world: World) -> None:
    statuses = [_post(client, {**SERVICE, "phone": f"1390013900{n}"}).status_code for n in range(9)]
    assert statuses == [303] * 8 + [429]
    blocked = _post(client, {**SERVICE, "phone": "13700137000"})
    assert blocked.status_code == 429 and "提交次数过多" in blocked.text and 'value="张三"' in blocked.text
    # the seconds until the hour's window takes another submission (RFC 9110 Retry-After); none on a success
    assert 1 <= int(blocked.headers["Retry-After"]) <= 3600
    other = client.get(URL, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    response = client.post(URL, data={"form_token": form_token(other.text), **SERVICE},
                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 303  # another address is not blocked
    assert "Retry-After" not in response.headers
    assert len(_complaints(db)) == 9


def test_the_rate_limit_per_phone(client: Any, db: Any, world: World) -> None:
    assert _post(client, SERVICE).status_code == 303
    assert _post(client, {**SERVICE, "phone": "139 0013 9000"}).status_code == 303  # the same number, typed otherwise
    third = _post(client, {**SERVICE, "phone": "+86 13900139000"})
    assert third.status_code == 429 and "该联系电话今天已提交多次投诉" in third.text
    assert 1 <= int(third.headers["Retry-After"]) <= 24 * 3600  # the day's window
    assert _post(client, {**SERVICE, "phone": "13800138000"}).status_code == 303
    assert len(_complaints(db)) == 3


def test_a_complaint_goes_through_when_the_rate_counters_cannot_be_reached(
    client: Any, db: Any, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis down: filing matters more than the guard, so the form is let through with one warning."""
    from bot.console.extensions import limiter

    def unreachable(*_args: Any, **_kwargs: Any) -> bool:
        raise ConnectionError("redis: connection refused")

    monkeypatch.setattr(type(limiter.limiter), "hit", unreachable)
    statuses = [_post(client, {**SERVICE, "phone": f"1390013900{n}"}).status_code for n in range(10)]
    assert statuses == [303] * 10  # over the 8 per hour, yet nothing is refused
    assert len(_complaints(db)) == 10
    assert "website rate limit ip not counted (ConnectionError): let through" in caplog.text


def test_the_end_page_needs_the_cases_own_link(client: Any, db: Any, world: World, clock: Clock) -> None:
    response = _post(client, SERVICE)
    [c] = _complaints(db)
    assert client.get(f"/w/complaint/done/{c.number}").status_code == 404
    forged = client.get(f"/w/complaint/done/{c.number}?t=forged")
    assert forged.status_code == 404 and "链接无效或已过期" in forged.text and c.number not in forged.text
    location = response.headers["Location"]
    token = location.split("?t=")[1]
    assert client.get(f"/w/complaint/done/{int(c.number) + 1}?t={token}").status_code == 404  # another case
    clock.advance(days=31)
    assert client.get(location).status_code == 404  # the link's 30 days are over


def test_the_page_can_be_switched_off_and_framed_only_by_named_sites(
        client: Any, app: Any, website: dict[str, Any]) -> None:
    from dataclasses import replace

    rt = app.extensions["tousu"]
    policy = rt.settings.policy
    rt.settings = replace(rt.settings, policy=replace(policy, website=replace(
        policy.website, embed_origins=("https://www.example.com",))))
    page = client.get(URL)
    assert "frame-ancestors https://www.example.com" in page.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in page.headers
    rt.settings = replace(rt.settings, policy=replace(policy, website=replace(policy.website, enabled=False)))
    closed = client.get(URL)
    assert closed.status_code == 404 and "在线投诉暂未开放" in closed.text
    assert client.post(URL, data=SERVICE).status_code == 404


def test_a_website_case_is_rated_on_the_case_page_its_link_opens(client: Any, db: Any, world: World,
                                                                 clock: Clock) -> None:
    """The rating column (seed 004 四.5): a website visitor has no WeChat, yet holds the case page's link, so the
    survey opens for their case as for a follower's, and the stars are given on that page."""
    from handlers import customer, survey
    from storage.models import Survey, SurveyStatus
    from tests.bot.console.support import in_transaction
    from tests.handlers.test_survey import FED_BACK, resolved

    with in_transaction(db, world) as w:
        case = resolved(w, category="delivery", openid=None, source=Source.WEBSITE, description="送货晚了三天",
                        channel="phone")
        phoned = resolved(w, category="delivery", openid=None, source=Source.PHONE, description="电话投诉送货慢",
                          channel="phone")
        assert survey.send_survey(w.session, phoned, ctx=w.at(FED_BACK + dt.timedelta(hours=3))) is None
        sent = survey.send_survey(w.session, case, ctx=w.at(FED_BACK + dt.timedelta(hours=3)))
        assert sent is not None and sent.status is SurveyStatus.SENT
        number = case.number
    clock.now = FED_BACK + dt.timedelta(hours=4)
    link = customer.case_url(number, now=clock.now).removeprefix("http://127.0.0.1:5000")
    page = client.get(link)
    assert page.status_code == 200 and "满意度评价" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answered = client.post(f"/c/{number}/survey?{link.split('?')[1]}",
                           data={"csrf_token": csrf.group(1), "stars": "5", "comment": "很快"})
    assert answered.status_code == 302 and "done=answered" in answered.headers["Location"]
    with db.read_sessions() as s:
        row = s.scalar(sa.select(Survey).where(Survey.complaint_id == case.id))
        assert row is not None and row.status is SurveyStatus.ANSWERED and row.stars == 5


REDIS_URL = "redis://127.0.0.1:6379/3"


def _redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    for key in client.scan_iter("*LIMITER/website/*"):
        client.delete(key)
    return client


def test_two_workers_share_the_per_phone_count_through_redis(db: Any, world: World, app_config: dict[str, Any]) -> None:
    """gunicorn runs several workers: with REDIS_URL the limits are the deployment's, not each worker's."""
    from bot import create_app

    store = _redis_or_skip()
    workers = [create_app(app_config | {"REDIS_URL": REDIS_URL}, database=db).test_client() for _ in range(2)]
    try:
        assert _post(workers[0], SERVICE).status_code == 303
        assert _post(workers[1], SERVICE).status_code == 303
        assert _post(workers[0], SERVICE).status_code == 429  # 2 per day, counted across both
        assert len(_complaints(db)) == 2
    finally:
        for key in store.scan_iter("*LIMITER/website/*"):
            store.delete(key)


def test_a_failed_registration_leaves_no_photo_file_behind(client: Any, db: Any, world: World, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.website

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(bot.website, "register_website", broken)
    with pytest.raises(RuntimeError):
        _post(client, SERVICE, photos=[(png(), "a.png", "image/png")])
    assert [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == []
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_without_a_photo_field_uploads_are_not_kept(client: Any, db: Any, world: World, app: Any) -> None:
    from dataclasses import replace

    rt = app.extensions["tousu"]
    rt.settings = replace(rt.settings, policy=replace(rt.settings.policy, website=replace(
        rt.settings.policy.website, max_photos=0)))
    assert 'type="file"' not in client.get(URL).text
    assert _post(client, SERVICE, photos=[(png(), "a.png", "image/png")]).status_code == 303
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_a_rate_limit_store_outage_does_not_stop_a_complaint(client: Any, db: Any, world: World, app: Any,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    import redis

    from bot.console.extensions import limiter

    def down(*args: Any, **kwargs: Any) -> bool:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(limiter.limiter, "hit", down)
    assert _post(client, SERVICE).status_code == 303
    assert len(_complaints(db)) == 1
    assert "website rate limit ip not counted (ConnectionError): let through" in caplog.text
