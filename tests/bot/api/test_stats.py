"""``/api/v1/stats``: the console's figures for other systems, with the console's rule of who reads them.

The five scope cases (tests/bot/console/support.py: A–E, all received 2026-02-13, none closed) are the
data: management and admins count all five, the quality office its ledger (A and D), anyone else gets 403.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.api.conftest import Api


def figure(body: dict[str, Any], key: str) -> dict[str, Any]:
    return next(f for f in body["figures"] if f["key"] == key)


@pytest.mark.parametrize(("who", "received"), [("admin", 5), ("management", 5), ("office", 2)])
def test_readers_count_what_they_may_see(api: Api, cases: dict[str, str], who: str, received: int) -> None:
    response = api.get(who, "/stats?period=2026-02")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["period"], body["start"], body["end"]) == ("2026-02", "2026-02-01", "2026-02-28")
    assert figure(body, "received")["value"] == received
    closure = figure(body, "closure_rate")
    assert (closure["numerator"], closure["denominator"], closure["value"]) == (0, received, 0)
    assert closure["target"] == 100 and closure["met"] is False


@pytest.mark.parametrize("who", ["handler", "other-handler", "viewer", "recused", "sales"])
def test_everyone_else_is_refused(api: Api, cases: dict[str, str], who: str) -> None:
    response = api.get(who, "/stats?period=2026-02")
    assert response.status_code == 403
    assert response.json == {"code": "forbidden", "message": "仅管理层、管理员和归口部门可查看统计数据。"}


def test_slices_and_groups(api: Api, cases: dict[str, str]) -> None:
    body = api.get("management", "/stats?period=2026-Q1&group_by=category").json
    assert body["period_kind"] == "quarter"
    assert {g["key"]: figure(g, "received")["value"] for g in body["groups"]} == {
        "product_quality": 2, "service_attitude": 1, "delivery": 1, "management": 1,
    }
    production = api.get("management", "/stats?period=2026-02&department=production").json
    assert production["slice"] == {"department_id": production["slice"]["department_id"]}
    assert figure(production, "received")["value"] == 2  # A and E are 生产部's
    assert figure(api.get("management", "/stats?period=2026-03").json, "received")["value"] == 0


@pytest.mark.parametrize(("query", "field"), [
    ("period=2026-13", "period"), ("period=上个月", "period"), ("department=nowhere", "department"),
    ("category=nothing", "category"), ("severity=huge", "severity"), ("group_by=colour", "group_by"),
])
def test_bad_filters_are_422_naming_the_field(api: Api, cases: dict[str, str], query: str, field: str) -> None:
    response = api.get("management", f"/stats?{query}")
    assert response.status_code == 422
    assert response.json["code"] == "invalid" and response.json["field"] == field
    assert response.json["message"]


def test_without_a_token_401(api: Api) -> None:
    assert api.get(None, "/stats").status_code == 401
