"""Error answers: short, no stack traces; JSON for API clients, plain text for callbacks."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    """Unexpected exceptions reach Flask's own handler: logged with the trace, answered by this 500 page,
    and re-raised in tests so they can see them."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(error=exc.name, code=code), code
        return Response(f"{code} {exc.name}", status=code, mimetype="text/plain")
