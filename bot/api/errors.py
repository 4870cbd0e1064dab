"""The REST API's errors: one JSON shape ``{code, message, field?}``, a stable ``code``, a Chinese message.

Codes and statuses (stable; clients branch on ``code``, people read ``message``):

=========================  ======  =================================================================
code                       status  when
=========================  ======  =================================================================
``unauthorized``           401     no ``Authorization: Bearer`` token, an unknown one, or a revoked one
``not_found``              404     no such case, attachment or operation — and a case outside the
                                   caller's scope (404, never 403: the scope's edge cannot be probed)
``forbidden``              403     the case is in scope, but the caller's role may not do this to it
``case_changed``           409     the ``version`` sent is not the case's current one (someone else
                                   changed it): get the case again and decide again
``idempotency_conflict``   409     an ``Idempotency-Key`` reused with a different body
``invalid``                422     a field is missing or wrong; ``field`` names it
``not_allowed``            422     the case's state does not allow the operation now, or an earlier
                                   step is missing
``method_not_allowed``     405     (and ``too_large`` 413)
=========================  ======  =================================================================

The messages are rendered from ``templates/messages/api/error.txt.j2``; a workflow error keeps the
workflow's own Chinese sentence (it names the state, the action or the field).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from pydantic import BaseModel, Field, ValidationError

from handlers.render import render_message


class ErrorModel(BaseModel):
    """Every error the API answers."""

    code: str = Field(description="A stable code: unauthorized, not_found, forbidden, case_changed, "
                                  "idempotency_conflict, invalid, not_allowed, method_not_allowed, too_large")
    message: str = Field(description="What went wrong, in Chinese, for a person")
    field: str | None = Field(default=None, description="The field at fault (code invalid)")


class ApiError(Exception):
    """Raised anywhere in a view; answered as `ErrorModel` with ``status``."""

    def __init__(self, status: int, code: str, *, field: str | None = None, message: str | None = None,
                 **context: Any) -> None:
        self.status = status
        self.code = code
        self.field = field
        context.setdefault("reason", None)
        context.setdefault("kind", None)
        self.message = message or render_message("api/error", code=code, field=field, **context)
        super().__init__(self.message)


def not_found(what: str) -> ApiError:
    """404 for ``what`` (complaint, attachment, file, operation, faq: named in the template)."""
    return ApiError(404, "not_found", what=what)


def invalid(field: str | None, *, reason: str | None = None, kind: str | None = None) -> ApiError:
    """422 naming ``field``: ``reason`` a Chinese sentence from the workflow, or ``kind`` a failure type."""
    return ApiError(422, "invalid", field=field, reason=reason, kind=kind)


def response(error: ApiError) -> Response:
    body = {"code": error.code, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    reply = jsonify(body)
    reply.status_code = error.status
    if error.status == 401:
        reply.headers["WWW-Authenticate"] = 'Bearer realm="tousu"'
    return reply


def validation_response(exc: ValidationError) -> Response:
    """flask-openapi3's validation failures (path, query, header, body) in the API's error shape."""
    first = exc.errors(include_url=False)[0]
    location = [str(part) for part in first.get("loc", ()) if part != "__root__"]
    field = ".".join(location) or None
    return response(invalid(field, kind=str(first.get("type"))))





def from_workflow(exc: Exception) -> ApiError:
    """A workflow refusal as the API answers it (the workflow's own Chinese sentence as the message)."""
    from handlers.workflow.errors import CaseChanged, InvalidValue, MissingField, PermissionDenied

    if isinstance(exc, CaseChanged):
        return ApiError(409, "case_changed", current=exc.current)
    if isinstance(exc, PermissionDenied):
        return ApiError(403, "forbidden", reason=str(exc))
    if isinstance(exc, MissingField | InvalidValue):
        return invalid(exc.field, reason=str(exc))
    return ApiError(422, "not_allowed", reason=str(exc))
__all__ = ["ApiError", "ErrorModel", "from_workflow", "invalid", "not_found", "response", "validation_response"]
