"""Schemathesis against the API's own OpenAPI document: no request it can make gets a 5xx, and every answer
matches the document (status code documented, body of the documented schema, content type).

Stateless: every operation with generated (valid and invalid) inputs, as the admin token (which sees every
case) on the console's five scope cases. Stateful: schemathesis' state machine follows the document's
OpenAPI links (a created or listed case → the case → its operations with the version just read → the case),
so it reaches real cases and real workflow transitions instead of 404s. Kept to a few examples per
operation so the whole file stays well under a minute on a busy 2-core machine; ``SCHEMATHESIS_EXAMPLES``
raises it for a deeper run.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
# A request of the documented shape may still be refused by the business rules (a department code that does
# not exist, a received time in the future, an operation the case's state does not allow): that is a 4xx
# the document lists, not a failure. Every other check stays on (no 5xx, schema and status conformance…).
EXCLUDED = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture
def api_schema(app: Any, tokens: dict[str, str], cases: dict[str, str]) -> Any:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    token = tokens["admin"]

    @schema.auth(refresh_interval=None)
    class AdminToken:
        """The admin token (sees every case) on each generated request; schemathesis also tries without one."""

        def get(self, case: Any, context: Any) -> str:
            return token

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


def test_stateless(api_schema: Any, tokens: dict[str, str]) -> None:
    """Each operation in turn (schemathesis' pytest plugin, ``from_fixture``, does not run under pytest 9)."""
    tested = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(excluded_checks=EXCLUDED)

        check()
        tested.append(operation.label)
    assert len(tested) >= 30  # every documented operation ran


def test_stateful(api_schema: Any, tokens: dict[str, str]) -> None:
    machine = api_schema.as_state_machine()
    calls: list[tuple[str, str, int]] = []

    class Machine(machine):  # type: ignore[misc, valid-type]
        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, additional_checks=additional_checks, excluded_checks=EXCLUDED,
                                   transport_kwargs=kwargs)

        def before_call(self, case: Any) -> None:
            # the state machine does not apply the schema's auth provider itself; mark the token as the test's
            # own (as an auth provider does), so the ignored-auth check probes without it instead of suspecting it
            if "Authorization" not in (case.headers or {}):
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {tokens['admin']}"}
                case._has_explicit_auth = True

        def after_call(self, response: Any, case: Any) -> None:
            calls.append((case.operation.method.upper(), case.operation.path, response.status_code))

    Machine.run(settings=settings(max_examples=EXAMPLES * 4, stateful_step_count=8, deadline=None,
                                  derandomize=True, suppress_health_check=list(HealthCheck)))
    # it walked the links from the list to real cases (how far along a run gets varies with the data: the
    # workflow's transitions themselves are tested in test_operations.py and test_hotline_script.py)
    assert any(path == "/api/v1/complaints/{number}" and status == 200 for _, path, status in calls), calls
    operations = [status for method, path, status in calls if method == "POST" and path.count("/") == 5]
    print(f"stateful: {len(calls)} calls, {len(operations)} workflow operations, "
          f"{sum(1 for status in operations if status != 404)} on an existing case")


def test_the_document_links_operations(api_schema: Any) -> None:
    """Not vacuous: the stateful test has links to follow, from creation and reading to every operation."""
    raw = api_schema.raw_schema
    get_links = raw["paths"]["/api/v1/complaints/{number}"]["get"]["responses"]["200"]["links"]
    assert {"operation_triage", "operation_close", "get_timeline"} <= set(get_links)
    assert get_links["operation_triage"]["requestBody"] == {"version": "$response.body#/version"}
    assert "get_complaint" in raw["paths"]["/api/v1/complaints"]["post"]["responses"]["201"]["links"]
