"""Error answers: short, no stack traces; JSON for API clients, plain text for callbacks."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

_API_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "invalid"}


def init_app(app: Flask) -> None:
    """Unexpected exceptions reach Flask's own handler: logged with the trace, answered by this 500 page,
    and re-raised in tests so they can see them."""

    from bot.api.errors import ApiError, response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> ResponseReturnValue:
        return response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if request.path.startswith("/api/v1/"):  # the REST API's own shape: {code, message, field?}
            return response(ApiError(code, _API_CODES.get(code, "invalid"), what="path",
                                     kind="json_invalid" if code == 400 else None))
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
            return jsonify(error=exc.name, code=code), code
        return Response(f"{code} {exc.name}", status=code, mimetype="text/plain")
