"""``POST /api/v1/complaints/{number}/{operation}``: the workflow through the API, with the console's checks.

Each body carries the ``version`` the caller read; a stale one is 409 and changes nothing. A field the
operation refuses is 422 naming it; a state that does not allow the operation is 422 ``not_allowed``; a role
that may not do it is 403 (in scope) or 404 (out of scope: tests/bot/api/test_scope.py)."""

from __future__ import annotations

import sqlalchemy as sa

from storage.models import Complaint, TimelineEvent
from tests.bot.console.case_support import case_state


def _get(api, who, number):
    response = api.get(who, f"/complaints/{number}")
    assert response.status_code == 200, response.json
    return response.json


def test_office_triages_and_assigns_a_new_case(api, cases, db) -> None:
    number = cases["C"]  # registered, no lead office yet
    case = _get(api, "office", number)
    assert "triage" in case["operations"]
    triaged = api.post("office", f"/complaints/{number}/triage",
                       {"version": case["version"], "category": "delivery", "severity": "general",
                        "lead_office": "quality_office", "note": "热线转来"})
    assert triaged.status_code == 200, triaged.json
    assert triaged.json["status"] == "triaged" and triaged.json["version"] > case["version"]
    assert triaged.json["lead_office"] == "品质保障处"
    assigned = api.post("office", f"/complaints/{number}/assign",
                        {"version": triaged.json["version"], "handling_department": "production",
                         "responsible": "zhao.lei", "note": "请尽快联系客户"})
    assert assigned.status_code == 200, assigned.json
    assert assigned.json["status"] == "assigned" and assigned.json["responsible"] == "赵磊"
    assert case_state(db, number) == ("assigned", assigned.json["version"])
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        events = list(s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id)
                                .order_by(TimelineEvent.id)))
        assert [e.action for e in events][-2:] == ["triage", "assign"]
        assert {e.details["by"] for e in events[-2:]} == {"接口:office"}
    timeline = api.get("office", f"/complaints/{number}/timeline").json["items"]
    assert [i["action"] for i in timeline][-2:] == ["triage", "assign"]
    assert timeline[-1]["from_status"] == "triaged" and timeline[-1]["to_status"] == "assigned"


def test_a_stale_version_is_409_and_changes_nothing(api, cases, db) -> None:
    number = cases["A"]  # assigned to 生产部
    version = _get(api, "handler", number)["version"]
    first = api.post("handler", f"/complaints/{number}/add_progress_note", {"version": version, "text": "已联系客户"})
    assert first.status_code == 200 and first.json["version"] == version + 1
    stale = api.post("handler", f"/complaints/{number}/start_investigation", {"version": version, "note": "开始"})
    assert stale.status_code == 409
    assert stale.json["code"] == "case_changed" and str(version + 1) in stale.json["message"]
    assert case_state(db, number) == ("assigned", version + 1)
    fresh = api.post("handler", f"/complaints/{number}/start_investigation", {"version": version + 1})
    assert fresh.status_code == 200 and fresh.json["status"] == "investigating"


def test_version_is_required(api, cases) -> None:
    response = api.post("handler", f"/complaints/{cases['A']}/add_progress_note", {"text": "无版本"})
    assert response.status_code == 422 and response.json == {
        "code": "invalid", "field": "version", "message": "字段“version”无效：必填"}


def test_422_names_the_field_the_operation_refuses(api, cases, db) -> None:
    c = cases["C"]
    version = _get(api, "office", c)["version"]
    unknown = api.post("office", f"/complaints/{c}/triage", {"version": version, "lead_office": "no_such_office"})
    assert unknown.status_code == 422 and unknown.json["field"] == "lead_office"
    assert "部门" in unknown.json["message"]
    typo = api.post("office", f"/complaints/{c}/triage", {"version": version, "severity": "huge"})
    assert typo.status_code == 422 and typo.json["field"] == "severity"
    extra = api.post("office", f"/complaints/{c}/triage", {"version": version, "colour": "red"})
    assert extra.status_code == 422 and extra.json["field"] == "colour"
    a = cases["A"]
    days = api.post("handler", f"/complaints/{a}/request_extension", {"version": _get(api, "handler", a)["version"],
                                                                      "days": 0})
    assert days.status_code == 422 and days.json["field"] == "days"
    assert case_state(db, c)[1] == version  # nothing changed


def test_an_operation_the_state_does_not_allow_is_422_not_allowed(api, cases, db) -> None:
    number = cases["A"]  # assigned: nothing to close yet
    version = _get(api, "admin", number)["version"]
    response = api.post("admin", f"/complaints/{number}/feed_back_result", {"version": version, "text": "已处理"})
    assert response.status_code in (403, 422)
    assert response.json["code"] == ("forbidden" if response.status_code == 403 else "not_allowed")
    closing = api.post("office", f"/complaints/{number}/close", {"version": version})
    assert closing.status_code == 422 and closing.json["code"] == "not_allowed"
    assert "办结" in closing.json["message"]
    assert case_state(db, number)[1] == version


def test_unknown_operation_is_404(api, cases) -> None:
    response = api.post("admin", f"/complaints/{cases['A']}/start_survey", {"version": 1})
    assert response.status_code == 404 and response.json["code"] == "not_found"


def test_deadlines_and_attachments(api, cases) -> None:
    deadlines = api.get("handler", f"/complaints/{cases['A']}/deadlines")
    assert deadlines.status_code == 200 and isinstance(deadlines.json["items"], list)
    listed = api.get("handler", f"/complaints/{cases['A']}/attachments").json["items"]
    assert len(listed) == 1 and listed[0]["downloaded"] is True and listed[0]["kind"] == "image"
    file = api.get("handler", f"/complaints/{cases['A']}/attachments/{listed[0]['id']}/file")
    assert file.status_code == 200 and file.data == b"\xff\xd8\xff\xe0 photo of case A"
    assert api.get("handler", f"/complaints/{cases['A']}/attachments/999999/file").status_code == 404


def test_faq(api, world) -> None:
    response = api.get("viewer", "/faq")
    assert response.status_code == 200 and response.json["items"]
    assert all(item["question"] and item["answer"] for item in response.json["items"])
