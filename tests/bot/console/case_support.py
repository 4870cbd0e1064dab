"""Helpers for the case-page tests: reading the action forms off the page and posting them as a browser would."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from storage.db import Database
from storage.models import Complaint

FORM = re.compile(
    r'<form method="post" action="/console/cases/(?P<number>\w+)/actions/(?P<action>\w+)"(?P<body>.*?)</form>', re.S
)
HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
NAME = re.compile(r'name="([^"]+)"')
VALUE = re.compile(r'value="([^"]*)"')


def actions_on(html: str) -> list[str]:
    """The actions whose forms the page offers, in page order."""
    return [m["action"] for m in FORM.finditer(html)]


def hidden_fields(html: str, action: str) -> dict[str, str]:
    """The hidden inputs (CSRF token, version) of the form posting ``action``."""
    for m in FORM.finditer(html):
        if m["action"] == action:
            fields = {}
            for tag in HIDDEN.findall(m["body"]):
                name, value = NAME.search(tag), VALUE.search(tag)
                if name:
                    fields[name.group(1)] = html_lib.unescape(value.group(1)) if value else ""
            return fields
    raise AssertionError(f"no {action} form on the page; it has {actions_on(html)}")


def form_body(html: str, action: str) -> str:
    for m in FORM.finditer(html):
        if m["action"] == action:
            return m["body"]
    raise AssertionError(f"no {action} form on the page; it has {actions_on(html)}")


def prefixed(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {f"{action}-{name}": value for name, value in fields.items()}


def post_action(client: FlaskClient, number: str, action: str, *, page: str | None = None,
                version: int | None = None, **fields: Any) -> Any:
    """Post ``action``'s form as the page rendered it (its CSRF token and version), with ``fields`` filled.

    ``version`` overrides the version the page carried (a stale or a forged form)."""
    html = page if page is not None else client.get(f"/console/cases/{number}").text
    data = hidden_fields(html, action)
    if version is not None:
        data[f"{action}-version"] = str(version)
    data.update(prefixed(action, fields))
    return client.post(f"/console/cases/{number}/actions/{action}", data=data)


def post_blind(client: FlaskClient, number: str, action: str, csrf: str, version: int, **fields: Any) -> Any:
    """Post ``action`` without its form having been offered (what a crafted request does)."""
    data = {f"{action}-csrf_token": csrf, f"{action}-version": str(version), **prefixed(action, fields)}
    return client.post(f"/console/cases/{number}/actions/{action}", data=data)


def case_state(db: Database, number: str) -> tuple[str, int]:
    """(status, version) of a case, read fresh."""
    with db.read_sessions() as s:
        row = s.execute(sa.select(Complaint.status, Complaint.version).where(Complaint.number == number)).one()
        return row[0].value, row[1]


def alert(html: str) -> str:
    """The text of the page's refusal notice."""
    match = re.search(r'role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert match, "no alert on the page"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def csrf_of(client: FlaskClient) -> str:
    """A valid CSRF token of the signed-in session (from the dashboard's sign-out form)."""
    from tests.bot.console.support import csrf_token

    return csrf_token(client.get("/console/").text)
