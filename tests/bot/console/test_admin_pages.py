"""Every 管理 page × every console role: the allowed ones work, the others get 403 (a page of an area one may not
use; never its content), and no change goes through a refused form; every form needs its CSRF token.

The rule (handlers/admin.py ACCESS): 常见问题库, 工作日历, 发送失败的消息, 网站投诉入口 — admin and office;
组织架构 — admin, management and office; 账号 (a person's page and its forms) and 安全审计 — admin; 处理时限 —
everyone. A missing entry (FAQ, person, message) is 404 for those allowed, and 403 still for the others, so the
refusal never depends on what exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.workflow.scope import ConsoleRole
from storage.models import AuditEvent, CalendarException, FaqEntry, OutboxChannel, OutboxMessage, OutboxStatus, Staff
from templates import TEMPLATE_DIR
from tests.bot.console.admin_support import ROLE_LOGINS, ROLES, make_people, post_form, signed_in, texts
from tests.bot.console.support import START

ADM, MGT, OFF, HND, VWR = (ConsoleRole.ADMIN, ConsoleRole.MANAGEMENT, ConsoleRole.OFFICE, ConsoleRole.HANDLER,
                 ConsoleRole.VIEWER)
EVERYONE = frozenset(ROLES)

# (page, roles that may open it); {faq}, {staff}, {missing} are filled in by the test.
PAGES: list[tuple[str, frozenset[ConsoleRole]]] = [
    ("/console/admin/", EVERYONE),
    ("/console/admin/faq/", frozenset({ADM, OFF})),
    ("/console/admin/faq/new", frozenset({ADM, OFF})),
    ("/console/admin/faq/{faq}", frozenset({ADM, OFF})),
    ("/console/admin/org/", frozenset({ADM, MGT, OFF})),
    ("/console/admin/org/people/{staff}", frozenset({ADM})),
    ("/console/admin/calendar/", frozenset({ADM, OFF})),
    ("/console/admin/calendar/?year=2026&month=2", frozenset({ADM, OFF})),
    ("/console/admin/presets/", EVERYONE),
    ("/console/admin/outbox/", frozenset({ADM, OFF})),
    ("/console/admin/audit/", frozenset({ADM})),
    ("/console/admin/audit/?action=login.&person=li&since=2026-01-01&until=2026-12-31", frozenset({ADM})),
    ("/console/admin/website/", frozenset({ADM, OFF})),
]
# What each page says when it opens (a 200 must be the page itself, not an error page).
HEADINGS = {"": "管理", "faq": "常见问题库", "org": "组织架构", "calendar": "工作日历", "presets": "处理时限",
            "outbox": "发送失败的消息", "audit": "安全审计", "website": "网站投诉入口"}

# Every form: (url, data, roles that may post it). {faq}, {staff}, {message} are filled in.
FORMS: list[tuple[str, dict[str, Any], frozenset[ConsoleRole]]] = [
    ("/console/admin/faq/new", {"question": "有发票吗？", "keywords": "发票", "answer": "有。"}, frozenset({ADM, OFF})),
    ("/console/admin/faq/{faq}", {"question": "改过的问题？", "keywords": "改过", "answer": "改过。"},
     frozenset({ADM, OFF})),
    ("/console/admin/faq/{faq}/active", {"active": "0"}, frozenset({ADM, OFF})),
    ("/console/admin/org/people/{staff}/password", {"password": "new-password-1", "confirm": "new-password-1"},
     frozenset({ADM})),
    ("/console/admin/org/people/{staff}/disable", {}, frozenset({ADM})),
    ("/console/admin/org/people/{staff}/unlock", {}, frozenset({ADM})),
    ("/console/admin/calendar/set", {"day": "2026-03-02", "kind": "off", "note": "公司年会"}, frozenset({ADM, OFF})),
    ("/console/admin/calendar/unset", {"day": "2026-03-02"}, frozenset({ADM, OFF})),
    ("/console/admin/outbox/{message}/requeue", {"seen": "x"}, frozenset({ADM, OFF})),
]


@pytest.fixture
def people(db, world) -> dict[str, int]:
    """Accounts for every role; a FAQ entry, a failed message of no case; returns the ids the URLs need."""
    make_people(db, world)
    with db.transaction() as s:
        entry = FaqEntry(question="测试问题？", keywords=["测试"], answer="测试答案", active=True, position=1)
        message = OutboxMessage(channel=OutboxChannel.WECOM_APP, recipient="li.na", payload={"text": "提醒"},
                                status=OutboxStatus.FAILED, attempts=8, last_error="-1: busy", created_at=START,
                                next_attempt_at=START)
        s.add_all([entry, message])
        s.flush()
        staff = s.scalar(sa.select(Staff.id).where(Staff.wecom_userid == "zhou.min"))
        return {"faq": entry.id, "message": message.id, "staff": staff or 0}


def _changes(db) -> int:
    """Audit rows other than sign-ins: every change the 管理 pages make is one."""
    with db.read_sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action.notlike("login.%"))) or 0)


def _fill(url: str, ids: dict[str, int]) -> str:
    return url.format(**ids)


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_each_page_opens_for_its_roles_and_is_403_for_the_others(app, people, role: ConsoleRole) -> None:
    client = signed_in(app, ROLE_LOGINS[role])
    for template, allowed in PAGES:
        response = client.get(_fill(template, people))
        if role in allowed:
            assert response.status_code == 200, (role, template)
            area = template.split("/")[3].split("?")[0]
            assert HEADINGS[area] in response.text
        else:
            assert response.status_code == 403, (role, template)
            assert "无权访问" in response.text and "测试答案" not in response.text and "zhou.min" not in response.text
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_a_missing_entry_is_404_for_those_allowed_and_403_for_the_others(app, people, role: ConsoleRole) -> None:
    client = signed_in(app, ROLE_LOGINS[role])
    missing = {"faq": 999_999, "staff": 999_999, "message": 999_999}
    cases = [("/console/admin/faq/{faq}", {ADM, OFF}), ("/console/admin/org/people/{staff}", {ADM})]
    for template, allowed in cases:
        assert client.get(_fill(template, missing)).status_code == (404 if role in allowed else 403), template
    for template, data, allowed in FORMS:
        if "{" not in template:
            continue
        response = post_form(client, _fill(template, missing), data)
        assert response.status_code == (404 if role in allowed else 403), (role, template)


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_the_index_lists_exactly_the_areas_of_the_role(app, people, role: ConsoleRole) -> None:
    page = texts(signed_in(app, ROLE_LOGINS[role]).get("/console/admin/").text)
    areas = ("常见问题库", "组织架构", "工作日历", "处理时限", "发送失败的消息", "安全审计", "网站投诉入口")
    shown = {name for name in areas if name in page}
    expected = {
        ADM: {"常见问题库", "组织架构", "工作日历", "处理时限", "发送失败的消息", "安全审计", "网站投诉入口"},
        MGT: {"组织架构", "处理时限"},
        OFF: {"常见问题库", "组织架构", "工作日历", "处理时限", "发送失败的消息", "网站投诉入口"},
        HND: {"处理时限"},
        VWR: {"处理时限"},
    }[role]
    assert shown == expected
    assert ("开通工作台账号" in page) == (role is ADM)


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_every_console_page_has_the_管理_link(app, people, role: ConsoleRole) -> None:
    page = signed_in(app, ROLE_LOGINS[role]).get("/console/").text
    assert 'href="/console/admin/"' in page and ">管理</a>" in page


@pytest.mark.parametrize("role", [MGT, HND, VWR], ids=str)
def test_a_refused_form_changes_nothing(app, db, people, role: ConsoleRole) -> None:
    client = signed_in(app, ROLE_LOGINS[role])
    changes_before = _changes(db)
    for template, data, allowed in FORMS:
        if role in allowed:
            continue
        response = post_form(client, _fill(template, people), data)
        assert response.status_code == 403, (role, template)
    with db.read_sessions() as s:
        entry = s.get(FaqEntry, people["faq"])
        assert entry is not None and entry.question == "测试问题？" and entry.active
        assert s.scalar(sa.select(sa.func.count()).select_from(FaqEntry)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(CalendarException)) == 0
        message = s.get(OutboxMessage, people["message"])
        assert message is not None and message.status is OutboxStatus.FAILED
    assert _changes(db) == changes_before


@pytest.mark.parametrize(("template", "data", "allowed"), FORMS, ids=[f[0].split("/admin/")[1] for f in FORMS])
def test_every_form_needs_its_csrf_token(app, db, people, template: str, data: dict[str, Any],
                                         allowed: frozenset[ConsoleRole]) -> None:
    client = signed_in(app, "root")  # the admin may post every form: only the token is missing
    before = _changes(db)
    response = client.post(_fill(template, people), data=data)
    assert response.status_code == 400 and "页面已过期" in response.text
    response = client.post(_fill(template, people), data={**data, "csrf_token": "forged"})
    assert response.status_code == 400
    assert _changes(db) == before


ADMIN_TEMPLATES = Path(TEMPLATE_DIR) / "pages" / "console" / "admin"


@pytest.mark.parametrize("template", sorted(p.name for p in ADMIN_TEMPLATES.glob("*.html")))
def test_admin_templates_have_no_inline_script_style_or_remote_asset(template: str) -> None:
    source = (ADMIN_TEMPLATES / template).read_text(encoding="utf-8")
    assert "<script" not in source and "<style" not in source
    assert not re.search(r"\sstyle=", source) and not re.search(r"\son[a-z]+=", source)
    assert not re.search(r"(src|href)=\"(https?:)?//", source)


def test_rendered_admin_pages_load_only_local_assets(app, people) -> None:
    client = signed_in(app, "root")
    for template, _allowed in PAGES:
        html = client.get(_fill(template, people)).text
        assert "<script" not in html and " style=" not in html
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert ref.startswith(("/", "#")), ref
