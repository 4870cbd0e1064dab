"""What every console page shares: security headers, no inline script or style, local assets only, the
dashboard's four lists, and the WeChat/WeCom callbacks left without cookies, CSRF or console headers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.models import AuditEvent, Complaint, ComplaintStatus, Deadline, DeadlineStatus
from templates import TEMPLATE_DIR
from tests.bot.console.support import PASSWORD, csrf_token, give_accounts, in_transaction, scope_cases, sign_in
from tests.handlers.test_workflow_support import make_complaint

REQUIRED_CSP = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                "frame-ancestors 'none'", "form-action 'self'")


def assert_console_headers(response, *, https: bool = False) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert all(part in csp for part in REQUIRED_CSP) and "unsafe-inline" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert ("Strict-Transport-Security" in headers) == https


def test_every_console_page_carries_the_security_headers(client, db, world) -> None:
    numbers = scope_cases(db, world)
    give_accounts(db, world, "li.na")
    anonymous = [client.get("/console/login"), client.get("/console/"), client.get("/"),
                 client.get("/console/static/console.css"), client.get("/console/no-such-page")]
    sign_in(client, "li.na")
    signed_in = [client.get("/console/"), client.get(f"/console/cases/{numbers['A']}"),
                 client.get(f"/console/cases/{numbers['B']}"),  # outside the scope: the 404 page
                 client.post("/console/logout")]  # refused without a token: the CSRF page
    assert [r.status_code for r in anonymous] == [200, 302, 302, 200, 404]
    assert [r.status_code for r in signed_in] == [200, 200, 404, 400]
    for response in anonymous + signed_in:
        assert_console_headers(response)
    assert signed_in[0].headers["Cache-Control"] == "no-store"  # personal data is never cached


def test_hsts_only_over_https_as_the_proxy_reports_it(db, app_config) -> None:
    from bot import create_app

    app = create_app({**app_config, "TRUSTED_PROXIES": "1"}, database=db)
    client = app.test_client()
    assert_console_headers(client.get("/console/login"))
    assert_console_headers(client.get("/console/login", headers={"X-Forwarded-Proto": "https"}), https=True)
    direct = create_app(app_config, database=db).test_client()  # no proxy trusted: the header is ignored
    assert_console_headers(direct.get("/console/login", headers={"X-Forwarded-Proto": "https"}))
    assert_console_headers(direct.get("/console/login", base_url="https://localhost"), https=True)


def test_behind_a_trusted_proxy_the_audit_has_the_clients_address(db, app_config, world) -> None:
    from bot import create_app

    give_accounts(db, world, "li.na")
    client = create_app({**app_config, "TRUSTED_PROXIES": "1"}, database=db).test_client()
    page = client.get("/console/login", headers={"X-Forwarded-For": "203.0.113.9"})
    assert page.status_code == 200
    client.post("/console/login", headers={"X-Forwarded-For": "203.0.113.9"},
                data={"login": "li.na", "password": PASSWORD, "csrf_token": csrf_token(page.text)})
    with db.read_sessions() as s:
        ip = s.scalar(sa.select(AuditEvent.ip).where(AuditEvent.action == "login.succeeded"))
    assert ip == "203.0.113.9"


PAGES = Path(TEMPLATE_DIR) / "pages" / "console"


@pytest.mark.parametrize("template", sorted(p.name for p in PAGES.glob("*.html")))
def test_templates_have_no_inline_script_style_or_remote_asset(template: str) -> None:
    source = (PAGES / template).read_text(encoding="utf-8")
    assert "<script" not in source and "<style" not in source
    assert not re.search(r"\sstyle=", source) and not re.search(r"\son[a-z]+=", source)
    assert not re.search(r"(src|href)=\"(https?:)?//", source)


def test_rendered_pages_load_only_local_assets(client, db, world) -> None:
    numbers = scope_cases(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    for url in ("/console/", f"/console/cases/{numbers['A']}"):
        html = client.get(url).text
        assert "<script" not in html and " style=" not in html
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert ref.startswith(("/", "#")), ref


def test_callbacks_get_no_cookie_no_csrf_and_no_console_headers(client, wechat, wecom, world) -> None:
    signed = wechat.sign(wechat.text("oUserConsole001", "你好"))
    response = client.post("/wechat", query_string=signed.params, data=signed.body, content_type="text/xml")
    assert response.status_code == 200  # a POST without any CSRF token
    assert "Set-Cookie" not in response.headers and "Content-Security-Policy" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")  # the session was never even read
    signed = wecom.sign(wecom.text("zhang.wei", "帮助"))
    response = client.post("/wecom", query_string=signed.params, data=signed.body)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_dashboard_lists(client, db, world, clock) -> None:
    """li.na (品质保障处 head): her tasks, due soon, overdue and new lists, each from her scope only."""
    numbers = scope_cases(db, world)
    with in_transaction(db, world) as w:
        mine = make_complaint(w, number="26029001", description="李娜负责的案件")
        mine.lead_office_id = w.dept("quality_office").id
        mine.handling_department_id = w.dept("quality_office").id
        mine.responsible_staff_id = w["li.na"].id
        mine.status = ComplaintStatus.INVESTIGATING
        w.session.flush()
        for deadline in _deadlines(w, mine.number):
            deadline.due_at = clock.now + dt.timedelta(hours=30)  # beyond the 24 h of "due soon" …
        _deadlines(w, mine.number)[0].due_at = clock.now + dt.timedelta(hours=3)  # … but one
        for letter in "ABCDE":
            for deadline in _deadlines(w, numbers[letter]):
                deadline.due_at = clock.now + dt.timedelta(days=10)
        _deadlines(w, numbers["D"])[0].status = DeadlineStatus.BREACHED
        _deadlines(w, numbers["B"])[0].status = DeadlineStatus.BREACHED  # outside li.na's scope
        _deadlines(w, numbers["A"])[0].due_at = clock.now - dt.timedelta(minutes=5)  # open, not yet swept
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    html = client.get("/console/").text
    sections = dict(re.findall(r'<section id="(\w+)" class="card">(.*?)</section>', html, re.S))
    assert set(sections) == {"tasks", "due_soon", "overdue", "new"}
    listed = {name: set(re.findall(r"2602\d{4}", body)) for name, body in sections.items()}
    assert listed["tasks"] == {"26029001"}  # responsible; A and D are with their handling departments
    assert listed["due_soon"] == {"26029001"}
    assert listed["overdue"] == {numbers["D"], numbers["A"]}
    assert listed["new"] == {numbers["C"]}
    for hidden in (numbers["B"], numbers["E"]):
        assert hidden not in html


def _deadlines(w, number: str) -> list[Deadline]:
    query = (sa.select(Deadline).join(Complaint, Complaint.id == Deadline.complaint_id)
             .where(Complaint.number == number).order_by(Deadline.id))
    return list(w.session.scalars(query))
