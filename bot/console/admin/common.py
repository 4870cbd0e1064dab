"""What every administration page shares: the area check (403 outside it), the session, paging."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import abort, request
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.runtime import runtime
from handlers.admin import AdminArea, may_use
from storage.models import Staff


@contextmanager
def area_session(area: AdminArea, *, write: bool = False) -> Iterator[tuple[Session, Staff]]:
    """A session (a committed transaction when ``write``) and the signed-in person, who must be allowed to
    use ``area``: anyone else gets 403 before anything is read."""
    db = runtime().db
    with (db.transaction() if write else db.read_sessions()) as session:
        staff = session.get(Staff, current_user.staff.id)
        if staff is None or not may_use(session, staff, area):
            abort(403)
        yield session, staff


def page_number() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1


def checkbox(name: str) -> bool:
    return request.form.get(name) in {"1", "on", "true", "yes"}
