"""`tousu api-token` and bearer authentication: a token is printed once and stored hashed, every request
without a live token is 401, a revoked token stops working at once, and the last use is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import main
from handlers import api_tokens
from storage.models import ApiToken, AuditEvent, Staff
from tests.bot.console.support import START


@pytest.fixture
def tousu(db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return CliRunner().invoke(main, list(args))

    assert run("org", "sync").exit_code == 0
    return run


def test_cli_create_prints_the_token_once_and_keeps_only_its_hash(tousu, db, client) -> None:
    result = tousu("api-token", "create", "--name", "hotline", "--role", "office", "--department", "quality_office")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("tousu_") and len(secret) > 40
    with db.read_sessions() as s:
        row = s.scalars(sa.select(ApiToken)).one()
        staff = s.get(Staff, row.staff_id)
        assert row.token_hash == api_tokens.token_hash(secret) and secret not in (row.token_hash, row.prefix)
        assert staff.wecom_userid == "local:api:hotline" and staff.roles == ["intake", "handler"]
    # the token works; the list shows it with its role and department, never the token itself
    assert client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listed = tousu("api-token", "list")
    assert listed.exit_code == 0 and "hotline" in listed.output and "归口部门" in listed.output
    assert "quality_office" in listed.output and secret not in listed.output


def test_cli_refuses_a_handler_without_department_and_a_duplicate_name(tousu) -> None:
    refused = tousu("api-token", "create", "--name", "x", "--role", "handler")
    assert refused.exit_code == 2 and "--department" in refused.output
    assert tousu("api-token", "create", "--name", "oa", "--role", "admin").exit_code == 0
    again = tousu("api-token", "create", "--name", "oa", "--role", "admin")
    assert again.exit_code == 2 and "已有名为“oa”的令牌" in again.output


def test_revoked_token_is_401_at_once_and_audited(tousu, db, client) -> None:
    secret = tousu("api-token", "create", "--name", "oa", "--role", "admin").output.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/faq", headers=auth).status_code == 200
    result = tousu("api-token", "revoke", "oa")
    assert result.exit_code == 0 and "已吊销令牌 oa" in result.output
    response = client.get("/api/v1/faq", headers=auth)
    assert response.status_code == 401 and response.json["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "已吊销" in tousu("api-token", "list").output
    with db.read_sessions() as s:
        actions = list(s.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions[-2:] == ["api_token.created", "api_token.revoked"]
        assert s.scalar(sa.select(Staff.active).where(Staff.wecom_userid == "local:api:oa")) is False
    assert tousu("api-token", "revoke", "nobody").exit_code == 2


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer tousu_wrong", "Basic dXNlcjpwYXNz",
                                           "Bearer " + "x" * 500, "tousu_abc"])
def test_missing_or_bad_token_is_401_before_anything_else(client, db, authorization) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [("get", "/api/v1/complaints"), ("get", "/api/v1/complaints/26020001"),
                         ("post", "/api/v1/complaints"), ("post", "/api/v1/complaints/26020001/triage"),
                         ("get", "/api/v1/faq")]:
        response = getattr(client, method)(path, headers=headers, json={"garbage": True})
        assert response.status_code == 401, (path, response.json)
        assert response.json["code"] == "unauthorized" and "令牌" in response.json["message"]


def test_last_used_is_recorded_at_most_once_a_minute(api, db, world, clock) -> None:
    def last_used() -> dt.datetime | None:
        with db.read_sessions() as s:
            return s.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.name == "viewer"))

    assert last_used() is None
    api.get("viewer", "/complaints")
    assert last_used() == START
    clock.advance(seconds=30)
    api.get("viewer", "/complaints")
    assert last_used() == START  # not a write per request
    clock.advance(seconds=31)
    api.get("viewer", "/faq")
    assert last_used() == START + dt.timedelta(seconds=61)


def test_the_documents_are_public_and_the_docs_page_uses_no_cdn(client) -> None:
    doc = client.get("/api/v1/openapi.json")
    assert doc.status_code == 200 and doc.json["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    page = client.get("/api/v1/swagger")
    assert page.status_code == 200 and "http" not in page.text.split("<script>")[0].lower().replace("http-equiv", "")
    for asset in ("swagger/js/swagger-ui-bundle.js", "swagger/css/swagger-ui.css"):
        assert client.get(f"/api/v1/{asset}").status_code == 200
