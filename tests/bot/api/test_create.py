"""``POST /api/v1/complaints``: another channel files a complaint with its real received time and channel,
registered exactly as the console's manual registration does; ``Idempotency-Key`` makes a retry file once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage.models import ApiIdempotency, Complaint, Source, TimelineEvent
from tests.bot.console.support import START
from tests.conftest import TEST_DATABASE_URL, count_rows, run_concurrently
from tests.handlers.test_workflow_support import local

ANSWERS = {
    "category": ["product_quality"], "complainant_name": "洛阳某某机械厂", "contact_person": "王工",
    "phone": "138 0013 8000", "address": "洛阳市涧西区某路1号", "product_name": "6061-T6铝板",
    "spec_model": "2.0×1220×2440", "batch": "B2602-01", "purchase_date": "2026-01-15", "quantity": "3吨",
    "problem_type": ["surface"], "description": "铝板表面有划痕，影响使用", "usage_scenario": "冲压件", "loss": "无",
    "demands": ["replace", "apology"],
}
BODY = {"source": "government", "received_at": "2026-02-13T09:10:00+08:00", "answers": ANSWERS,
        "note": "12345 转办单 2602-0099"}


def _complaints(db) -> list[Complaint]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(Complaint).order_by(Complaint.id)))


def test_office_token_files_a_12345_complaint_with_its_received_time(api, db, world) -> None:
    response = api.post("office", "/complaints", BODY)
    assert response.status_code == 201, response.json
    [c] = _complaints(db)
    assert response.json == {"number": c.number, "status": "registered", "visible": True, "replayed": False}
    assert c.source is Source.GOVERNMENT and c.received_at == local(2026, 2, 13, 9, 10) and c.registered_at == START
    assert (c.phone, c.batch, c.demands) == ("+8613800138000", "B2602-01", ["replace", "apology"])
    with db.read_sessions() as s:
        event = s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id)).first()
        assert event.action == "registered" and event.details["by"] == "接口:office"
        assert event.details["note"] == "12345 转办单 2602-0099"
    # and it reads back, as the office sees it (its own ledger: full phone)
    got = api.get("office", f"/complaints/{c.number}").json
    assert got["source"] == "government" and got["phone"] == "+8613800138000" and got["version"] >= 1


def test_a_retry_with_the_same_key_files_once(api, db, world) -> None:
    first = api.post("office", "/complaints", BODY, **{"Idempotency-Key": "hotline-call-0001"})
    again = api.post("office", "/complaints", BODY, **{"Idempotency-Key": "hotline-call-0001"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == {**first.json, "replayed": True}
    assert len(_complaints(db)) == 1
    # a different key is a different complaint; the same key with another body is refused
    assert api.post("office", "/complaints", BODY, **{"Idempotency-Key": "hotline-call-0002"}).status_code == 201
    changed = api.post("office", "/complaints", {**BODY, "note": "另一通电话"},
                       **{"Idempotency-Key": "hotline-call-0001"})
    assert changed.status_code == 409 and changed.json["code"] == "idempotency_conflict"
    assert "hotline-call-0001" in changed.json["message"]
    assert len(_complaints(db)) == 2


def test_keys_belong_to_their_token(api, db, world) -> None:
    """Two systems may pick the same key: each files its own complaint."""
    assert api.post("office", "/complaints", BODY, **{"Idempotency-Key": "1"}).status_code == 201
    assert api.post("admin", "/complaints", BODY, **{"Idempotency-Key": "1"}).status_code == 201
    assert len(_complaints(db)) == 2


def test_a_failed_create_does_not_burn_the_key(api, db, world) -> None:
    bad = {**BODY, "answers": {**ANSWERS, "description": ""}}
    assert api.post("office", "/complaints", bad, **{"Idempotency-Key": "k"}).status_code == 422
    assert count_rows(db, ApiIdempotency) == 0
    assert api.post("office", "/complaints", BODY, **{"Idempotency-Key": "k"}).status_code == 201


@pytest.mark.parametrize(("change", "field"), [
    ({"source": "wechat"}, "source"),
    ({"source": "fax"}, "source"),
    ({"received_at": "2026-02-13T09:10:00"}, "received_at"),  # no time zone
    ({"received_at": "2026-02-14T09:10:00+08:00"}, "received_at"),  # in the future
    ({"received_at": "2024-01-01T09:10:00+08:00"}, "received_at"),  # more than a year back
    ({"answers": {**ANSWERS, "phone": "12345"}}, "answers.phone"),
    ({"answers": {**ANSWERS, "category": ["no_such_category"]}}, "answers.category"),
    ({"answers": {k: v for k, v in ANSWERS.items() if k != "complainant_name"}}, "answers.complainant_name"),
    ({"answers": "not a table"}, "answers"),
    ({"unexpected": 1}, "unexpected"),
])
def test_invalid_input_is_422_naming_the_field(api, db, world, change, field) -> None:
    body = {**BODY, **change}
    response = api.post("office", "/complaints", body)
    assert response.status_code == 422, response.json
    assert response.json["code"] == "invalid" and response.json["field"] == field
    assert field.split(".")[-1] in response.json["message"]
    assert _complaints(db) == []


def test_missing_received_at_and_non_json_body(api, world) -> None:
    body = {k: v for k, v in BODY.items() if k != "received_at"}
    response = api.post("office", "/complaints", body)
    assert response.status_code == 422 and response.json["field"] == "received_at"
    raw = api.client.post("/api/v1/complaints", data="{not json", headers={**api.headers("office"),
                                                                           "Content-Type": "application/json"})
    assert raw.status_code == 422 and raw.json["code"] == "invalid"


@pytest.mark.parametrize("who", ["viewer", "handler"])
def test_only_intake_office_and_admin_may_register(api, db, who) -> None:
    response = api.post(who, "/complaints", BODY)
    assert response.status_code == 403 and response.json["code"] == "forbidden"
    assert _complaints(db) == []


def test_a_complaint_routed_elsewhere_is_filed_but_not_visible(api, db, world) -> None:
    """The office of the quality ledger files a service complaint: it goes to the general ledger."""
    answers = {"category": ["service_attitude"], "complainant_name": "张三", "phone": "13800138000",
               "description": "业务员态度差", "demands": ["apology"], "loss": "无", "contact_person": "张三",
               "address": "洛阳市"}
    response = api.post("office", "/complaints", {**BODY, "answers": answers})
    assert response.status_code == 201, response.json
    assert response.json["visible"] is False
    assert api.get("office", f"/complaints/{response.json['number']}").status_code == 404


@pytest.mark.postgres
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_concurrent_retries_with_one_key_file_once_on_postgres(app, db, tokens, world) -> None:
    """A hotline system whose first request timed out retries while the first is still being handled."""

    def create() -> tuple[int, str]:
        response = app.test_client().post("/api/v1/complaints", json=BODY, headers={
            "Authorization": f"Bearer {tokens['office']}", "Idempotency-Key": "call-77"})
        return response.status_code, response.json["number"]

    results, errors = run_concurrently(create, [()] * 6)
    assert errors == []
    assert sorted(status for status, _ in results) == [200] * 5 + [201]
    assert len({number for _, number in results}) == 1
    assert len(_complaints(db)) == 1


def test_concurrent_retries_with_one_key_file_once(app, db, tokens, world) -> None:
    """The same on whichever database the suite runs (SQLite serialises writers; PostgreSQL has its own test)."""

    def create() -> int:
        return app.test_client().post("/api/v1/complaints", json=BODY, headers={
            "Authorization": f"Bearer {tokens['office']}", "Idempotency-Key": "call-78"}).status_code

    results, errors = run_concurrently(create, [()] * 4)
    assert errors == [] and sorted(results) == [200, 200, 200, 201]
    assert len(_complaints(db)) == 1
