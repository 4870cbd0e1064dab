"""submit_complaint: the draft becomes a numbered, classified, routed complaint; 50 at once get 50 numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.config import load_policy
from handlers.context import HandlerContext
from handlers.intake import Draft, IncompleteDraft, lock_state, submit_complaint
from handlers.intake.engine import render_acknowledgement
from storage.db import Database
from storage.models import (
    ActorKind,
    Attachment,
    AttachmentKind,
    Complaint,
    IntakeMode,
    OutboxMessage,
    Severity,
    Source,
    TimelineEvent,
)
from tests.conftest import run_concurrently
from tests.handlers.test_intake_chat import NOW, add_org

QUALITY: dict[str, Any] = {
    "category": ["product_quality"], "complainant_name": "洛阳某某机械厂", "contact_person": "王工",
    "phone": {"e164": "+8613800138000", "ext": None}, "address": None, "product_name": "6061铝板",
    "spec_model": "2mm", "batch": ["2311-08"], "purchase_date": "2026-10-15",
    "quantity": {"amount": "3", "unit": "吨"}, "problem_type": ["surface"], "description": "表面有划痕，影响使用",
    "usage_scenario": None, "loss": None, "demands": ["replace", "compensation"], "evidence": None,
}
SERVICE: dict[str, Any] = {
    "category": ["service_attitude"], "complainant_name": "张三", "contact_person": None,
    "phone": {"e164": "+8637967333626", "ext": "123"}, "address": {"label": "洛阳市涧西区", "latitude": 34.6,
                                                                    "longitude": 112.4},
    "description": "业务员态度很差", "loss": None, "demands": ["apology"], "evidence": None,
}


def make_draft(db: Database, openid: str, answers: dict[str, Any], *, started_at: dt.datetime = NOW,
               callback: bool = False) -> None:
    with db.transaction() as s:
        draft = Draft(lock_state(s, openid, NOW))
        draft.mode = IntakeMode.SUMMARY
        draft.answers = answers
        draft.started_at = started_at
        draft.callback_requested_at = NOW if callback else None
        draft.save(NOW)


def submit(db: Database, company: dict[str, Any], openid: str, now: dt.datetime = NOW) -> tuple[str, int]:
    with db.transaction() as s:
        draft = Draft(lock_state(s, openid, now))
        complaint = submit_complaint(s, draft, HandlerContext(now=now, policy=load_policy(company)))
        return complaint.number, complaint.id


def load(db: Database, complaint_id: int) -> Complaint:
    with db.read_sessions() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        complaint.timeline  # noqa: B018 (load while the session is open)
        complaint.attachments  # noqa: B018
        return complaint


def test_every_collected_field_is_recorded(db: Database, company_config: dict[str, Any]) -> None:
    make_draft(db, "oSubmit000000001", QUALITY, started_at=NOW - dt.timedelta(minutes=4))
    with db.transaction() as s:
        for media in ("a", "b"):
            s.add(Attachment(draft_openid="oSubmit000000001", kind=AttachmentKind.IMAGE, media_id=media))
        s.add(Attachment(draft_openid="oSomeoneElse0001", kind=AttachmentKind.IMAGE, media_id="other"))
    later = NOW + dt.timedelta(minutes=1)
    number, complaint_id = submit(db, company_config, "oSubmit000000001", later)
    assert number == "26110001"
    c = load(db, complaint_id)
    assert c.source == Source.WECHAT and c.openid == "oSubmit000000001"
    assert c.received_at == NOW - dt.timedelta(minutes=4) and c.registered_at == later
    assert (c.complainant_name, c.contact_person, c.phone, c.phone_ext) == (
        "洛阳某某机械厂", "王工", "+8613800138000", None)
    assert (c.product_name, c.spec_model, c.batch, c.purchase_date) == ("6061铝板", "2mm", "2311-08",
                                                                        dt.date(2026, 10, 15))
    assert (c.quantity, c.quantity_unit, c.problem_type) == (3, "吨", "surface")
    assert c.description == "表面有划痕，影响使用" and c.demands == ["replace", "compensation"]
    assert c.sla_preset == "nonferrous-quality" and c.severity == Severity.GENERAL
    assert c.severity_confirmed is False and c.callback_requested is False
    assert sorted(a.media_id for a in c.attachments) == ["a", "b"]
    event = c.timeline[0]
    assert event.action == "registered" and event.actor_kind == ActorKind.CUSTOMER
    assert event.actor_id == "oSub…0001", "the openid is masked in the timeline"
    assert event.details["lead_office"] == "quality_office" and event.details["attachments"] == 2
    with db.read_sessions() as s:
        other = s.scalar(sa.select(Attachment).where(Attachment.media_id == "other"))
    assert other is not None and other.complaint_id is None, "someone else's draft is untouched"


def test_service_complaint_with_a_location_address(db: Database, company_config: dict[str, Any]) -> None:
    make_draft(db, "oSubmit000000002", SERVICE, callback=True)
    _, complaint_id = submit(db, company_config, "oSubmit000000002")
    c = load(db, complaint_id)
    assert c.category == "service_attitude" and c.sla_preset == "general"
    assert c.address == "洛阳市涧西区" and c.phone_ext == "123" and c.contact_person is None
    assert c.product_name is None and c.batch is None
    assert c.callback_requested is True
    assert "callback_requested_at" in c.timeline[0].details


def test_answers_of_steps_that_no_longer_apply_are_left_out(db: Database, company_config: dict[str, Any]) -> None:
    make_draft(db, "oSubmit000000003", SERVICE | {"product_name": "铝板", "batch": ["A1", "A2", "A3"]})
    _, complaint_id = submit(db, company_config, "oSubmit000000003")
    c = load(db, complaint_id)
    assert c.product_name is None and c.batch is None
    assert c.severity == Severity.GENERAL, "batches of an inapplicable step do not suggest 重大"


def test_an_incomplete_draft_is_refused(db: Database, company_config: dict[str, Any]) -> None:
    make_draft(db, "oSubmit000000004", {k: v for k, v in SERVICE.items() if k != "phone"})
    with pytest.raises(IncompleteDraft) as info:
        submit(db, company_config, "oSubmit000000004")
    assert info.value.keys == ["phone"]


def test_extra_fields_of_a_configured_step_go_to_the_timeline(db: Database, company_config: dict[str, Any]) -> None:
    company = company_config | {"form": {"steps": [
        {"key": "order_no", "label": "订单号", "parser": "text", "required": False, "after": "phone"},
    ]}}
    make_draft(db, "oSubmit000000005", SERVICE | {"order_no": "HT-2026-001"})
    _, complaint_id = submit(db, company, "oSubmit000000005")
    assert load(db, complaint_id).timeline[0].details["extra_fields"] == {"order_no": "HT-2026-001"}


def test_new_case_message_to_the_lead_office_with_a_masked_phone(db: Database, company_config: dict[str, Any]) -> None:
    ids = add_org(db)
    make_draft(db, "oSubmit000000006", SERVICE)
    number, complaint_id = submit(db, company_config, "oSubmit000000006")
    c = load(db, complaint_id)
    assert c.lead_office_id == ids["general_office"] and c.handling_department_id == ids["sales"]
    with db.read_sessions() as s:
        [message] = s.scalars(sa.select(OutboxMessage)).all()
    assert message.recipient == "db.zhang.wei" and message.dedupe_key == f"new-case:{number}"
    assert message.complaint_id == complaint_id
    text = message.payload["text"]
    assert number in text and "0379****3626" in text and "67333626" not in text
    assert "服务态度" in text and "归口：综合管理处" in text and "承办：销售部" in text


def test_major_suggestion_goes_to_management_at_once(db: Database, company_config: dict[str, Any]) -> None:
    make_draft(db, "oSubmit000000007", QUALITY | {"batch": ["2311-08", "2311-09"], "loss": "损失约12万元",
                                                  "description": "板材开裂，工人被割伤，准备找媒体曝光"})
    number, complaint_id = submit(db, company_config, "oSubmit000000007")
    c = load(db, complaint_id)
    assert c.severity == Severity.MAJOR and c.severity_confirmed is False
    assert c.severity_reasons == [
        "涉及多个批次（2311-08、2311-09）", "涉及人身伤害（割伤、被割）", "可能影响品牌声誉（媒体、曝光）",
        "客户说明了经济损失（损失约12万元），约12万元，超过5万元，金额较大",
    ]
    with db.read_sessions() as s:
        messages = {m.dedupe_key: m for m in s.scalars(sa.select(OutboxMessage))}
    major = messages[f"wf:{complaint_id}:major-notice"]
    assert major.recipient == "chen.gang" and "重大投诉" in major.payload["text"]
    assert "138****8000" in messages[f"new-case:{number}"].payload["text"]


def test_acknowledgement_states_the_presets_limits(db: Database, company_config: dict[str, Any]) -> None:
    make_draft(db, "oSubmit000000008", QUALITY)
    _, complaint_id = submit(db, company_config, "oSubmit000000008")
    with db.read_sessions() as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None
        text = render_acknowledgement(s, complaint, HandlerContext(now=NOW, policy=load_policy(company_config)))
    assert text.startswith("已受理，投诉编号 26110001。")
    assert "15个工作日内办结" in text and "品质保障处" in text and "回复“查询”" in text


def test_the_sla_preset_follows_the_sla_categories_configuration(db: Database, company_config: dict[str, Any]) -> None:
    company = company_config | {"sla": {"categories": {"service_attitude": "gas-utility"}}}
    make_draft(db, "oSubmit000000009", SERVICE)
    _, complaint_id = submit(db, company, "oSubmit000000009")
    assert load(db, complaint_id).sla_preset == "gas-utility"


def test_fifty_simultaneous_submissions_get_fifty_consecutive_numbers(
    db: Database, company_config: dict[str, Any]
) -> None:
    """Threads, each its own transaction, on the configured database (run it on PostgreSQL: row locks)."""
    openids = [f"oParallel{n:07d}" for n in range(50)]
    for openid in openids:
        make_draft(db, openid, SERVICE)
    def run(openid: str) -> str:
        return submit(db, company_config, openid)[0]

    numbers, errors = run_concurrently(run, [(openid,) for openid in openids], timeout=120)
    assert errors == []
    assert sorted(numbers) == [f"2611{n:04d}" for n in range(1, 51)]
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 50
        assert s.scalar(sa.select(sa.func.count()).select_from(TimelineEvent).where(
            TimelineEvent.action == "registered")) == 50
