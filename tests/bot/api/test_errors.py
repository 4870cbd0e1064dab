"""Every error of the API has one shape, ``{code, message, field?}``, a stable code and a Chinese message —
also the ones Flask itself raises (no such path, wrong method, body too large)."""

from __future__ import annotations

import re

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_routing_errors_have_the_api_shape(api, world) -> None:
    cases = [
        (api.client.get("/api/v1/nowhere", headers=api.headers("admin")), 404, "not_found"),
        (api.client.delete("/api/v1/complaints", headers=api.headers("admin")), 405, "method_not_allowed"),
        (api.client.post("/api/v1/complaints", data=b"x" * (1024 * 1024 + 1),
                         headers={**api.headers("admin"), "Content-Type": "application/json"}), 413, "too_large"),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        assert response.json["code"] == code and CHINESE.search(response.json["message"]), response.json


def test_a_case_number_of_the_wrong_shape_is_422_naming_it(api, world) -> None:
    response = api.get("admin", "/complaints/12ab")
    assert response.status_code == 422 and response.json["field"] == "number"
