"""Fixtures for the REST API: the console's org chart and five scope cases, tokens per role, a JSON client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from handlers import api_tokens
from handlers.workflow.scope import ConsoleRole
from storage.db import Database
from storage.models import Attachment, AttachmentKind, Complaint, Department, Staff
from tests.bot.console.conftest import app_config, clock, console_config, world  # noqa: F401 (fixtures)
from tests.bot.console.support import START, in_transaction, scope_cases
from tests.handlers.test_workflow_support import World

# name → (role, department): one token per role of the matrix (tests/bot/console/test_case_scope.py's idea).
TOKENS: dict[str, tuple[ConsoleRole, str | None]] = {
    "admin": (ConsoleRole.ADMIN, None),
    "management": (ConsoleRole.MANAGEMENT, None),
    "office": (ConsoleRole.OFFICE, "quality_office"),
    "handler": (ConsoleRole.HANDLER, "production"),
    "other-handler": (ConsoleRole.HANDLER, "logistics"),
    "viewer": (ConsoleRole.VIEWER, "production"),
    "recused": (ConsoleRole.HANDLER, "sales"),  # handles B's department, but is B's complained-about person
    "sales": (ConsoleRole.HANDLER, "sales"),  # the same department, not recused: sees B
}


@dataclass
class Api:
    """A test client speaking JSON with one token at a time."""

    client: Any
    secrets: dict[str, str]

    def headers(self, who: str | None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if who is not None:
            headers["Authorization"] = f"Bearer {self.secrets.get(who, who)}"
        return headers

    def get(self, who: str | None, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers(who), **kwargs)

    def post(self, who: str | None, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self.headers(who, **headers))


def make_tokens(db: Database, names: dict[str, tuple[ConsoleRole, str | None]]) -> dict[str, str]:
    secrets = {}
    with db.transaction() as s:
        for name, (role, department) in names.items():
            secrets[name] = api_tokens.create_token(s, name=name, role=role, department=department, now=START).secret
    return secrets


@pytest.fixture
def tokens(db: Database, world: World) -> dict[str, str]:  # noqa: F811 (the console's fixture)
    return make_tokens(db, TOKENS)


@pytest.fixture
def api(client: Any, tokens: dict[str, str]) -> Api:
    return Api(client, tokens)


@pytest.fixture
def cases(db: Database, world: World, tokens: dict[str, str], app: Any,  # noqa: F811 (the console's fixture)
          tmp_path: Any) -> Iterator[dict[str, str]]:
    """The console's five scope cases (A–E), each with a downloaded photo; B's complained-about person is the
    ``recused`` token's member of staff."""
    numbers = scope_cases(db, world)
    with in_transaction(db, world) as w:
        recused = w.session.scalar(sa.select(Staff).where(Staff.wecom_userid == "local:api:recused"))
        assert recused is not None
        for letter, number in numbers.items():
            c = w.session.scalar(sa.select(Complaint).where(Complaint.number == number))
            assert c is not None
            if letter == "B":
                c.complained_staff_id = recused.id
            (tmp_path / f"{letter}.jpg").write_bytes(b"\xff\xd8\xff\xe0 photo of case " + letter.encode())
            w.session.add(Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id=f"MEDIA_{letter}",
                                     meta={"path": f"{letter}.jpg"}))
    app.config["TOUSU_ATTACHMENT_DIR"] = str(tmp_path)
    yield numbers


def department_id(db: Database, code: str) -> int:
    with db.read_sessions() as s:
        return int(s.scalar(sa.select(Department.id).where(Department.code == code)))
