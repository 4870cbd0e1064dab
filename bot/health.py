"""Liveness and readiness for load balancers and monitors."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from bot.runtime import runtime
from storage import migrate

bp = Blueprint("health", __name__)
log = logging.getLogger("tousu.health")


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers and is migrated to the code's schema, else 503."""
    db = runtime().db
    try:
        db.ping()
        revision = migrate.current_revision(db.engine)
    except SQLAlchemyError as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return jsonify(status="error", database="unreachable"), 503
    head = migrate.head_revision()
    if revision != head:
        return jsonify(status="error", database="not migrated", revision=revision, expected=head), 503
    return jsonify(status="ok", database=db.dialect, revision=revision)
