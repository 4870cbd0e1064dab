"""The case page's actions: only those valid for the state AND the reader's role, each a form that calls the
workflow operation; domain errors in Chinese on the form with the input kept; the view commits."""

from __future__ import annotations

import html as html_lib
import re

import sqlalchemy as sa

from handlers.workflow.available import available_actions
from storage.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    OutboxMessage,
    Plan,
    PlanStatus,
    Staff,
    TimelineEvent,
)
from tests.bot.console.case_support import (
    actions_on,
    alert,
    case_state,
    form_body,
    post_action,
)
from tests.bot.console.support import START, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import make_complaint


def _new_case(db, world, **fields) -> str:
    with in_transaction(db, world) as w:
        c = make_complaint(w, received_at=START, **fields)
        return c.number


def _timeline(db, number: str) -> list[str]:
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        return list(s.scalars(sa.select(TimelineEvent.action).where(TimelineEvent.complaint_id == c.id)
                              .order_by(TimelineEvent.id)))


def test_office_sees_the_actions_of_a_new_case_and_triages_it(client, db, world) -> None:
    number = _new_case(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    page = client.get(f"/console/cases/{number}").text
    # registered: triage and the side steps the lead office may take; nothing further down the lifecycle
    assert actions_on(page) == ["triage", "change_severity", "record_complained_staff", "record_contact",
                                "add_progress_note"]
    _, version = case_state(db, number)
    response = post_action(client, number, "triage", page=page, valid="1", category="product_quality",
                           severity="major", urgent="y", lead_office=str(world.dept("quality_office").id),
                           note="电话核实")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/console/cases/{number}")
    after = client.get(f"/console/cases/{number}").text
    assert "已完成：分类" in after  # the flash message
    assert case_state(db, number)[0] == "triaged" and case_state(db, number)[1] > version
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        assert (c.severity.value, c.severity_confirmed, c.urgent) == ("major", True, True)
    assert _timeline(db, number)[-1] == "triage"
    # triaged: the page now offers assignment and marking invalid instead of triage
    assert {"assign", "mark_invalid", "request_extension"} <= set(actions_on(after))
    assert "triage" not in actions_on(after)


def test_a_domain_error_is_shown_in_chinese_on_the_form_with_the_input_kept(client, db, world) -> None:
    number = _new_case(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    post_action(client, number, "triage", valid="1", category="product_quality", severity="general",
                lead_office=str(world.dept("quality_office").id))
    _, version = case_state(db, number)
    # 张三 is in 生产部, the form says 物流部: the operation refuses, in Chinese, naming the field
    response = post_action(client, number, "assign", handling_department=str(world.dept("logistics").id),
                           responsible=str(world["zhao.lei"].id), note="请尽快处理划伤问题")
    assert response.status_code == 422
    text = response.text
    assert "责任人须为物流部人员" in alert(text)
    body = form_body(text, "assign")
    assert "请尽快处理划伤问题" in body  # the input is kept
    assert re.search(rf'<option selected value="{world.dept("logistics").id}">', body)
    assert 'id="act-assign" open' in html_lib.unescape(text)
    assert case_state(db, number) == ("triaged", version)  # nothing changed, nothing half-written
    assert _timeline(db, number)[-1] == "triage"


def test_an_invalid_value_from_the_browser_is_refused_by_the_form_itself(client, db, world) -> None:
    number = _new_case(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    post_action(client, number, "triage", valid="1", category="product_quality", severity="general",
                lead_office=str(world.dept("quality_office").id))
    response = post_action(client, number, "request_extension", days="很多", reason="需要复检")
    assert response.status_code == 422
    assert "不是有效的整数" in response.text
    assert "需要复检" in form_body(response.text, "request_extension")


def test_handler_works_the_case_from_investigation_to_feedback(client, db, world) -> None:
    """The whole handler side through the page: every step is a form posting to its operation."""
    number = _new_case(db, world)
    give_accounts(db, world, "li.na", "zhao.lei")
    sign_in(client, "li.na")
    assert post_action(client, number, "triage", valid="1", category="product_quality", severity="general",
                       lead_office=str(world.dept("quality_office").id)).status_code == 302
    assert post_action(client, number, "assign", handling_department=str(world.dept("production").id),
                       responsible=str(world["zhao.lei"].id)).status_code == 302
    client.post("/console/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "zhao.lei")
    steps = [
        ("start_investigation", {"note": "组织调查"}),
        ("record_investigation", {"methods": ["site_check", "retest"], "findings": "包装衬纸缺失",
                                  "cause": "transport_storage", "responsibility": "company",
                                  "responsible_department": str(world.dept("logistics").id),
                                  "responsibility_type": "direct"}),
        ("submit_report", {"report_text": "包装衬纸缺失导致运输中摩擦划伤。"}),
        ("propose_plan", {"measures": ["replace"], "description": "更换同规格铝板3吨",
                          "due_date": "2026-02-20", "responsible_department": str(world.dept("production").id)}),
        ("start_implementation", {"note": "已安排发货"}),
        ("complete_implementation", {"note": "已更换并签收"}),
        ("feed_back_result", {"text": "已为您更换同规格铝板3吨。", "channel": "wechat"}),
    ]
    for action, fields in steps:
        response = post_action(client, number, action, **fields)
        assert response.status_code == 302, (action, alert(response.text))
    assert case_state(db, number)[0] == "resolved"
    assert _timeline(db, number)[-7:] == [a for a, _ in steps]
    with db.read_sessions() as s:
        plan = s.scalar(sa.select(Plan))
        assert plan.status is PlanStatus.COMPLETED and plan.measures == ["replace"]
        result = s.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient == "oCUSTOMER0000000000000001")
                          .order_by(OutboxMessage.id.desc()))
        assert "已为您更换同规格铝板3吨" in str(result.payload)


def test_every_action_the_page_offers_is_exactly_available_actions(client, db, world) -> None:
    """The page adds nothing and drops nothing: the forms shown are available_actions, state after state."""
    number = _new_case(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    steps = [
        ("triage", {"valid": "1", "category": "product_quality", "severity": "general",
                    "lead_office": str(world.dept("quality_office").id)}),
        ("assign", {"handling_department": str(world.dept("quality_office").id),
                    "responsible": str(world["li.na"].id)}),
        ("start_investigation", {}),
        (None, {}),
    ]
    for action, fields in steps:
        shown = actions_on(client.get(f"/console/cases/{number}").text)
        with db.read_sessions() as s:
            c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
            staff = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
            expected = [a.value for a in available_actions(s, staff, c)]
        assert shown == [a for a in expected if a != "submit_plan_for_approval"]  # one plan form for both
        assert len(shown) >= 4
        if action:
            assert post_action(client, number, action, **fields).status_code == 302


def test_marking_invalid_closes_the_case_and_the_page_offers_nothing_more(client, db, world) -> None:
    number = _new_case(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    response = post_action(client, number, "triage", valid="0", category="product_quality", severity="general",
                           invalid_reason="非本公司产品", explanation="经核实该批次非我司生产",
                           lead_office=str(world.dept("quality_office").id))
    assert response.status_code == 302
    assert case_state(db, number)[0] == ComplaintStatus.INVALID.value
    page = client.get(f"/console/cases/{number}").text
    assert actions_on(page) == [] and "本案已办结" in page


def test_a_case_page_view_and_an_action_are_audited(client, db, world) -> None:
    number = _new_case(db, world)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    post_action(client, number, "add_progress_note", text="已电话联系客户")
    with db.read_sessions() as s:
        views = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "case.viewed")).all()
        assert views and all(v.subject == number and v.personal_data for v in views)


def _csrf(client) -> str:
    from tests.bot.console.support import csrf_token

    return csrf_token(client.get("/console/").text)
