"""Who is calling: the bearer token of the request, as the member of staff it acts as.

Every API blueprint calls `blueprint` to get its ``before_request``: no token, an unknown one or a revoked
one is 401 before anything else (before validation, so a stranger learns nothing of the API's shapes from
its errors). The token's last use is recorded (`handlers.api_tokens.authenticate`).
"""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_openapi3 import Tag
from flask_openapi3.blueprint import APIBlueprint
from sqlalchemy.orm import Session

from bot.api.errors import ApiError, ErrorModel, response
from bot.runtime import runtime
from handlers import api_tokens
from storage.models import Staff

COMMON_RESPONSES: dict[Any, Any] = {401: ErrorModel, 422: ErrorModel}


def _authenticate() -> Any:
    """Read the token (a read-only session: on SQLite no writer lock per request); write its last use only
    when due, in a short transaction of its own."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    rt = runtime()
    now = rt.clock()
    with rt.db.read_sessions() as s:
        row = api_tokens.lookup(s, token.strip() if scheme.lower() == "bearer" else None)
        if row is None:
            return response(ApiError(401, "unauthorized"))
        g.api_token_id, g.api_staff_id = row.id, row.staff_id
        due = api_tokens.needs_touch(row, now)
    if due:
        with rt.db.transaction() as s:
            api_tokens.touch(s, g.api_token_id, now)
    return None


def blueprint(name: str, tag: str, description: str) -> APIBlueprint:
    """An authenticated blueprint of the API under ``/api/v1``."""
    from bot.api import BEARER, PREFIX

    bp = APIBlueprint(name, __name__, url_prefix=PREFIX, abp_tags=[Tag(name=tag, description=description)],
                      abp_security=[BEARER], abp_responses=COMMON_RESPONSES)
    bp.before_request(_authenticate)
    return bp


def caller(session: Session) -> Staff:
    """The calling token's member of staff, in ``session`` (401 if it went away meanwhile)."""
    staff = session.get(Staff, g.api_staff_id)
    if staff is None or not staff.active:
        raise ApiError(401, "unauthorized")
    return staff


def token_id() -> int:
    return int(g.api_token_id)


__all__ = ["COMMON_RESPONSES", "blueprint", "caller", "token_id"]
