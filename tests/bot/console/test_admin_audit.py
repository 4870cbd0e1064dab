"""安全审计 for admins: who signed in, failed, was locked out, viewed personal data, changed settings —
filtered by person, action (or a family of actions) and date, newest first, paged."""

from __future__ import annotations

import ast
import datetime as dt
import html as html_lib
import importlib
import re
from pathlib import Path

import sqlalchemy as sa

from bot.console.admin.audit import KNOWN_ACTIONS
from handlers import admin, api_tokens, audit, records
from handlers.admin import AuditFilter
from storage.models import AuditEvent
from tests.bot.console.admin_support import make_people, signed_in, texts
from tests.bot.console.support import sign_in
from tests.handlers.test_workflow_support import local

URL = "/console/admin/audit/"


def _record(db, action: str, at: dt.datetime, label: str, **kwargs) -> None:
    with db.transaction() as s:
        audit.record(s, action, now=at, actor_label=label, **kwargs)


def test_the_trail_shows_sign_ins_failures_and_personal_data_views(app, db, world) -> None:
    make_people(db, world)
    sign_in(app.test_client(), "li.na", "wrong-password")
    sign_in(app.test_client(), "nobody", "whatever")
    _record(db, audit.CASE_VIEWED, local(2026, 2, 13, 11), "李娜", subject="26020001", personal_data=True)
    client = signed_in(app, "root")
    text = texts(client.get(URL).text)
    assert "登录失败" in text and "li.na" in text and "nobody" in text
    assert "查看案件" in text and "26020001" in text and "含个人信息" in text
    assert "登录" in text and "管理员" in text


def test_filters_by_person_action_family_and_date(app, db, world) -> None:
    make_people(db, world)
    _record(db, audit.LOGIN_FAILED, local(2026, 2, 10, 9), "zhao.lei")
    _record(db, audit.LOGIN_SUCCEEDED, local(2026, 2, 11, 9), "赵磊")
    _record(db, audit.CASE_VIEWED, local(2026, 2, 12, 23, 30), "赵磊", subject="26020002")
    _record(db, audit.CASE_VIEWED, local(2026, 2, 13, 0, 30), "李娜", subject="26020003")
    with db.read_sessions() as s:
        def subjects(where: AuditFilter) -> list[str | None]:
            rows, total = admin.audit_events(s, where)
            assert total == len(rows)
            return [r.subject or r.actor_label for r in rows]

        assert subjects(AuditFilter(person="赵")) == ["26020002", "赵磊"]
        assert subjects(AuditFilter(person="ZHAO")) == ["zhao.lei"]  # case-insensitive
        assert subjects(AuditFilter(action="case.viewed")) == ["26020003", "26020002"]
        assert subjects(AuditFilter(action="login.", person="zhao")) == ["zhao.lei"]
        # Dates are Asia/Shanghai days: 23:30 on the 12th is the 12th, 00:30 on the 13th the 13th.
        assert subjects(AuditFilter(action="case.viewed", since=dt.date(2026, 2, 13))) == ["26020003"]
        assert subjects(AuditFilter(action="case.viewed", until=dt.date(2026, 2, 12))) == ["26020002"]
        assert subjects(AuditFilter(person="%")) == []  # a wildcard typed is a character, not "anything"
    page = texts(signed_in(app, "root").get(f"{URL}?person=赵&action=case.viewed&since=2026-02-12&until=2026-02-12")
                 .text)
    assert "26020002" in page and "26020003" not in page and "安全审计 1" in page


def test_pages_of_fifty(app, db, world) -> None:
    make_people(db, world)
    with db.transaction() as s:
        for i in range(120):
            audit.record(s, audit.CASE_VIEWED, now=local(2026, 1, 1) + dt.timedelta(minutes=i), actor_label="李娜",
                         subject=f"2601{i:04d}")
    client = signed_in(app, "root")
    first = texts(client.get(f"{URL}?action=case.viewed").text)
    assert "26010119" in first and "26010070" in first and "26010069" not in first and "第 1 / 3 页" in first
    third = texts(client.get(f"{URL}?action=case.viewed&page=3").text)
    assert "26010019" in third and "26010000" in third and "26010020" not in third
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) >= 120


def _branches(node: ast.expr) -> list[ast.expr]:
    """``A if cond else B`` → [A, B]; anything else is itself."""
    if isinstance(node, ast.IfExp):
        return [*_branches(node.body), *_branches(node.orelse)]
    return [node]


def _recorded_actions() -> dict[str, str]:
    """Every action name the code writes to the trail, found in the source: the action argument of each
    ``audit.record(...)`` call (a string, a module constant, ``audit.X`` or ``A if … else B``), each with
    where it is written."""
    root = Path(__file__).resolve().parents[3]
    found: dict[str, str] = {}
    for path in sorted(p for package in ("handlers", "bot", "scheduler", "storage")
                       for p in (root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == "record" and isinstance(n.func.value, ast.Name)
                 and n.func.value.id in ("audit", "trail") and len(n.args) >= 2]
        if not calls:
            continue
        module = importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
        for call in calls:
            for node in _branches(call.args[1]):
                if isinstance(node, ast.Constant):
                    value = node.value
                elif isinstance(node, ast.Name):
                    value = getattr(module, node.id)
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                    value = getattr(getattr(module, node.value.id), node.attr)
                else:
                    raise AssertionError(f"{path}:{call.lineno}: an action this test cannot read: {ast.unparse(node)}")
                assert isinstance(value, str), (path, call.lineno, value)
                found[value] = f"{path.relative_to(root)}:{call.lineno}"
    return found


def test_the_filter_offers_every_action_the_code_records_each_named_in_chinese(app, db, world) -> None:
    recorded = _recorded_actions()
    # the search itself works: it finds the WeCom sign-in, the API tokens, the records and the page views
    assert {audit.LOGIN_WECOM, api_tokens.TOKEN_CREATED, api_tokens.TOKEN_REVOKED, records.AUDIT_DESTROYED,
            audit.CASE_VIEWED, "attachment.viewed", "export.ledger"} <= set(recorded)
    missing = {action: where for action, where in recorded.items() if action not in KNOWN_ACTIONS}
    assert not missing, f"recorded but not offered in the audit filter: {missing}"
    make_people(db, world)
    page = signed_in(app, "root").get(URL).text
    options = dict(re.findall(r'<option value="([^"]+)"(?: selected)?>([^<]*)</option>', page))
    for action in recorded:
        label = html_lib.unescape(options[action])
        assert re.fullmatch(r"[\u4e00-\u9fff（）]+", label), (action, label)  # Chinese, not the code
