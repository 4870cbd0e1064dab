"""The REST API (``/api/v1``) for other systems: hotlines, 12345, OA, the business system.

Built with flask-openapi3: every view declares its path, query, header and body as pydantic models, from
which the library validates requests and writes the OpenAPI document (``/api/v1/openapi.json``; a Swagger
UI page at ``/api/v1/swagger`` with its assets served from the installed package, no CDN). The web app is
an `flask_openapi3.OpenAPI` (a Flask subclass), built by `make_app`.

One module per resource, each an ``APIBlueprint`` named in `RESOURCES`; a new resource (as
``/api/v1/stats`` was) is a new module with its blueprint and one line there. The rules all come from
handlers/: the scope (`handlers.workflow.scope`), the ledger's filters (`handlers.ledger`), the one safe
way to act (`handlers.workflow.available.run_action`), registration (`handlers.intake.manual`). The caller
is a token's own member of staff (`bot.api.auth`), so the console's permission and scope code applies.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Final

from flask import Flask
from flask_openapi3 import Info, OpenAPI
from flask_openapi3.blueprint import APIBlueprint

from bot.api.errors import ErrorModel, validation_response

PREFIX: Final = "/api/v1"
BEARER: Final[dict[str, list[str]]] = {"bearer": []}
SECURITY_SCHEMES: Final = {"bearer": {"type": "http", "scheme": "bearer",
                                      "description": "tousu api-token create 生成的令牌"}}
#: The modules whose ``bp`` (an APIBlueprint) make up the API, in the order the document lists them.
RESOURCES: Final = ("bot.api.complaints", "bot.api.operations", "bot.api.faq", "bot.api.stats")

INFO: Final = Info(
    title="投诉通 tousu API",
    version="1.0.0",
    description=(
        "Complaints (投诉) for other systems: list with the ledger's filters, get, register from other channels "
        "(hotline, 12345, OA…), every workflow operation, deadlines, timeline, attachments; FAQ entries. "
        "Authenticate with `Authorization: Bearer <token>` (`tousu api-token create`). Errors are "
        "`{code, message, field?}`. Operations carry the case's `version` (409 `case_changed` when stale)."
    ),
)


def make_app(import_name: str, **flask_options: Any) -> OpenAPI:
    """The web app: Flask with the OpenAPI document and its docs page under ``/api/v1``."""
    return OpenAPI(
        import_name,
        info=INFO,
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
        doc_prefix=PREFIX,
        doc_url="/openapi.json",
        validation_error_status=422,
        validation_error_model=ErrorModel,
        validation_error_callback=validation_response,
        **flask_options,
    )


def init_app(app: Flask) -> None:
    """Register every resource's blueprint (authenticated by `bot.api.auth`)."""
    if not isinstance(app, OpenAPI):  # pragma: no cover - create_app always builds one
        raise TypeError("the REST API needs the app made by bot.api.make_app")
    for name in RESOURCES:
        blueprint: APIBlueprint = import_module(name).bp
        app.register_api(blueprint)
    app.generate_spec_json()
    add_links(app.spec_json)


def _operation(spec: dict[str, Any], operation_id: str) -> dict[str, Any] | None:
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return operation
    return None


def add_links(spec: dict[str, Any]) -> None:
    """OpenAPI links between the operations (how a client — and schemathesis' stateful tests — walks the API):
    a created or listed case to its page, a case to its deadlines, timeline, attachments and every operation
    (with the version just read), an operation's answer back to the case."""

    def link(source: str, statuses: tuple[str, ...], target: str, parameters: dict[str, str],
             body: dict[str, str] | None = None) -> None:
        operation = _operation(spec, source)
        if operation is None or _operation(spec, target) is None:
            return
        for status in statuses:
            response = operation.get("responses", {}).get(status)
            if response is not None:
                entry: dict[str, Any] = {"operationId": target, "parameters": parameters}
                if body is not None:
                    entry["requestBody"] = body
                response.setdefault("links", {})[target] = entry

    number = {"number": "$response.body#/number"}
    same = {"number": "$request.path.number"}
    link("create_complaint", ("201", "200"), "get_complaint", number)
    link("list_complaints", ("200",), "get_complaint", {"number": "$response.body#/items/0/number"})
    for target in ("get_deadlines", "get_timeline", "list_attachments"):
        link("get_complaint", ("200",), target, same)
    for item in spec["paths"].values():
        for operation in item.values():
            operation_id = operation.get("operationId", "") if isinstance(operation, dict) else ""
            if operation_id.startswith("operation_"):
                link("get_complaint", ("200",), operation_id, same, {"version": "$response.body#/version"})
                link(operation_id, ("200",), "get_complaint", same)


__all__ = ["BEARER", "PREFIX", "RESOURCES", "add_links", "init_app", "make_app"]
