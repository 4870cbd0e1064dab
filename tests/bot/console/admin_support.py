"""Helpers for the 管理 pages' tests: one signed-in person per console role, form posts with the CSRF token."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from handlers import accounts
from handlers.workflow.scope import ConsoleRole
from storage.db import Database
from tests.bot.console.support import PASSWORD, START, csrf_token, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import World

# One login per console role: a console-only admin, 管理层, a quality-office clerk, a 生产部 handler, and a
# read-only person of 生产部.
ROLE_LOGINS: dict[ConsoleRole, str] = {
    ConsoleRole.ADMIN: "root",
    ConsoleRole.MANAGEMENT: "wu.fang",
    ConsoleRole.OFFICE: "li.na",
    ConsoleRole.HANDLER: "zhao.lei",
    ConsoleRole.VIEWER: "viewer.prod",
}
ROLES = list(ROLE_LOGINS)


def make_people(db: Database, world: World) -> None:
    """Accounts for every login of `ROLE_LOGINS`, committed."""
    give_accounts(db, world, "wu.fang", "li.na", "zhao.lei")
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)


def signed_in(app: Any, login: str) -> FlaskClient:
    client = app.test_client()
    response = sign_in(client, login)
    assert response.status_code == 302, response.text
    return client


def post_form(client: FlaskClient, url: str, data: dict[str, Any] | None = None, *, page: str | None = None) -> Any:
    """POST ``data`` to ``url`` with a CSRF token taken from ``page`` (default: the console's 管理 page)."""
    html = client.get(page or "/console/admin/").text
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(html)})


def texts(html: str) -> str:
    """The page's text without tags (to assert on what a person reads)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
