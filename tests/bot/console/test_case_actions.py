"""The case page's actions: only those valid for the state AND the reader's role, each a form that calls the
workflow operation; domain errors in Chinese on the form with the input kept; the view commits."""

from __future__ import annotations

import html as html_lib
import re

import sqlalchemy as sa

from handlers.sla.calendar import SHANGHAI
from handlers.sla.calendar_store import load_calendar
from handlers.workflow.available import available_actions
from storage.models import (
    AuditEvent,
    Complaint,
    ComplaintStatus,
    Extension,
    ExtensionStatus,
    OutboxMessage,
    Plan,
    PlanStatus,
    Source,
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


def _resolved_case(client, db, world) -> str:
    """A quality case worked through the page to 已反馈 by 李娜 (lead office and responsible person)."""
    number = _new_case(db, world, source=Source.PHONE, openid=None)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    office = str(world.dept("quality_office").id)
    for action, fields in [
        ("triage", {"valid": "1", "category": "product_quality", "severity": "general", "lead_office": office}),
        ("assign", {"handling_department": office, "responsible": str(world["li.na"].id)}),
        ("start_investigation", {}),
        ("record_investigation", {"methods": ["phone"], "findings": "客户使用不当", "cause": "customer_misuse",
                                  "responsibility": "not_company", "evidence": "现场照片\n使用记录"}),
        ("submit_report", {"report_text": "非我司责任，已向客户解释。"}),
        ("propose_plan", {"measures": ["apology"], "description": "说明原因并提供使用指导",
                          "due_date": "2026-02-14"}),
        ("start_implementation", {}),
        ("complete_implementation", {"note": "已上门说明"}),
        ("feed_back_result", {"text": "已说明原因。", "channel": "phone"}),
    ]:
        response = post_action(client, number, action, **fields)
        assert response.status_code == 302, (action, alert(response.text))
    return number


def test_follow_up_then_close_and_a_reopen_through_the_page(client, db, world) -> None:
    number = _resolved_case(client, db, world)
    page = client.get(f"/console/cases/{number}").text
    assert {"record_follow_up", "reopen"} <= set(actions_on(page)) and "close" not in actions_on(page)
    response = post_action(client, number, "record_follow_up", method="phone", notes="客户表示满意", satisfied="1",
                           score="95")
    assert response.status_code == 302
    assert case_state(db, number)[0] == "surveying"
    # closing as satisfied needs a satisfied follow-up: there is one now
    assert post_action(client, number, "close", outcome="satisfied").status_code == 302
    assert case_state(db, number)[0] == "closed"
    assert actions_on(client.get(f"/console/cases/{number}").text) == []


def test_an_unsatisfied_complainant_reopens_the_case(client, db, world) -> None:
    number = _resolved_case(client, db, world)
    post_action(client, number, "record_follow_up", method="phone", notes="客户不满意", satisfied="0")
    response = post_action(client, number, "close", outcome="satisfied")
    assert response.status_code == 422 and "尚无客户满意的回访或评价记录" in alert(response.text)
    response = post_action(client, number, "reopen", reason="客户要求更换")
    assert response.status_code == 302
    assert case_state(db, number)[0] == "reopened"
    assert "start_investigation" in actions_on(client.get(f"/console/cases/{number}").text)


def test_an_extension_is_asked_in_working_days_and_the_answer_recorded(client, db, world) -> None:
    number = _new_case(db, world, source=Source.PHONE, openid=None)
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    post_action(client, number, "triage", valid="1", category="product_quality", severity="general",
                lead_office=str(world.dept("quality_office").id))
    with db.read_sessions() as s:
        before = s.scalar(sa.select(Complaint.due_at).where(Complaint.number == number))
    assert "answer_extension" not in actions_on(client.get(f"/console/cases/{number}").text)
    response = post_action(client, number, "request_extension", days="2", reason="需第三方检测", via="phone")
    assert response.status_code == 302, alert(response.text)
    with db.read_sessions() as s:
        extension = s.scalar(sa.select(Extension))
        # two working days after the whole-case deadline, counted on the company calendar
        calendar = load_calendar(s, world.policy.calendar)
        expected_day = calendar.working_day_after(before.astimezone(SHANGHAI).date(), 2)
        assert extension.new_due_at.astimezone(SHANGHAI).date() == expected_day
        assert extension.status is ExtensionStatus.PENDING
    assert "answer_extension" in actions_on(client.get(f"/console/cases/{number}").text)
    assert post_action(client, number, "answer_extension", consent="1", answer_text="客户电话同意").status_code == 302
    with db.read_sessions() as s:
        due = s.scalar(sa.select(Complaint.due_at).where(Complaint.number == number))
        assert due == extension.new_due_at and s.scalar(sa.select(Extension.status)) is ExtensionStatus.CONSENTED
