"""The closed loop end to end: registered → … → closed, with its records, timeline, deadlines and messages."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from handlers.workflow import operations as ops
from handlers.workflow.errors import InvalidValue, MissingField, PreconditionFailed
from storage.models import (
    ActorKind,
    ComplaintStatus,
    DeadlineStatus,
    FollowUp,
    Investigation,
    Plan,
    PlanStatus,
    Severity,
    Source,
)
from tests.handlers.test_workflow_support import (
    World,
    actions,
    assigned,
    company,
    deadline,
    eod,
    investigated,
    local,
    make_complaint,
    make_world,
    milestones,
    texts,
    timeline,
)

S = ComplaintStatus
CUSTOMER = "oCUSTOMER0000000000000001"


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def test_general_quality_complaint_walks_the_whole_loop(world: World, session) -> None:
    # Fri 2026-02-13 10:00, the last working day before the Spring Festival block.
    c = make_complaint(world)
    assert c.status is S.REGISTERED and c.sla_preset == "nonferrous-quality"
    assert c.due_at == eod(2026, 3, 12)  # 15 working days

    ops.triage(session, world["li.na"], c, ctx=world.at(local(2026, 2, 13, 10, 20)), valid=True,
               handling_department=world.dept("production"), responsible=world["zhao.lei"])
    assert c.status is S.ASSIGNED
    assert (c.lead_office_id, c.handling_department_id, c.responsible_staff_id) == (
        world.dept("quality_office").id, world.dept("production").id, world["zhao.lei"].id)

    ops.record_contact(session, world["li.na"], c, ctx=world.at(local(2026, 2, 13, 10, 40)), method="phone",
                       note="已致电王工")
    investigation = ops.start_investigation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 2, 14, 9)))
    assert c.status is S.INVESTIGATING and investigation.round == 1
    ops.record_investigation(
        session, world["zhao.lei"], c, ctx=world.ctx(), methods=["site_check"], findings="划痕为运输摩擦所致",
        cause="transport_storage", responsibility="company", responsible_department=world.dept("logistics"),
        responsibility_type="direct",
    )
    ops.submit_report(session, world["zhao.lei"], c, ctx=world.at(local(2026, 2, 24, 15)), report_text="运输包装不足。")
    plan = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"],
                            description="更换3吨同规格铝板", due_date=dt.date(2026, 3, 3))
    assert plan.status is PlanStatus.PROPOSED and not plan.approval_required
    assert c.status is S.INVESTIGATING  # no approval needed: the plan is ready to start
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 2, 25, 9)))
    assert c.status is S.IMPLEMENTING and plan.status is PlanStatus.IN_PROGRESS
    ops.complete_implementation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 3, 2, 16)),
                                note="已发货更换")
    ops.feed_back_result(session, world["li.na"], c, ctx=world.at(local(2026, 3, 3, 10)),
                         text="经调查为运输包装不足造成划伤，已为您更换同规格铝板3吨。")
    assert c.status is S.RESOLVED and c.result_text.startswith("经调查")
    follow_up = ops.record_follow_up(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 10)),
                                     method="phone", notes="客户表示满意", satisfied=True, score=95)
    assert c.status is S.SURVEYING and follow_up.satisfied is True
    ops.close(session, world["li.na"], c, ctx=world.at(local(2026, 3, 5, 10, 30)))
    assert c.status is S.CLOSED
    assert c.closed_at == local(2026, 3, 5, 10, 30)
    assert c.retain_until == dt.date(2029, 3, 5)

    assert actions(session, c) == [
        "deadlines_opened", "triage", "assign", "record_contact", "start_investigation", "record_investigation",
        "submit_report", "propose_plan", "start_implementation", "complete_implementation", "feed_back_result",
        "record_follow_up", "close",
    ]
    # Every milestone this case went through was met, on time.
    got = milestones(session, c)
    assert {k: v[0] for k, v in got.items()} == {
        "first_response": "met", "registration": "met", "investigation_organised": "met",
        "investigation_report": "met", "plan_started": "met", "result_feedback": "met", "whole_case": "met",
        "follow_up": "met",
    }
    # started Sat 2/14 (调休上班): 5 working days are 2/24, 2/25, 2/26, 2/27 and Sat 2/28 (调休上班)
    assert got["investigation_report"][1] == eod(2026, 2, 28)
    # The customer heard the result in WeChat and the closing note; staff heard of the assignment.
    customer = texts(session, CUSTOMER, c)
    assert any("已为您更换同规格铝板3吨" in t for t in customer)
    assert any("已办结" in t for t in customer)
    assert any("您被指定为以下投诉的责任人" in t for t in texts(session, "zhao.lei", c))


def test_each_step_records_actor_time_and_before_after(world: World, session) -> None:
    c = make_complaint(world)
    ops.triage(session, world["li.na"], c, ctx=world.at(local(2026, 2, 13, 10, 20)), valid=True,
               severity=Severity.GENERAL, urgent=True, handling_department=world.dept("production"))
    triage, assign = timeline(session, c)[1:3]
    assert triage.actor_kind is ActorKind.STAFF and triage.actor_id == str(world["li.na"].id)
    assert triage.at == local(2026, 2, 13, 10, 20)
    assert triage.details["from"] == "registered" and triage.details["to"] == "triaged"
    assert triage.details["changes"]["urgent"] == {"before": False, "after": True}
    assert triage.details["changes"]["is_valid"] == {"before": None, "after": True}
    assert triage.details["changes"]["lead_office_id"] == {"before": None, "after": world.dept("quality_office").id}
    assert assign.details["changes"]["handling_department_id"] == {
        "before": None, "after": world.dept("production").id}
    assert assign.details["sla_events"] == ["assigned"]
    # Without a responsible person, the department head is asked to nominate one.
    assert any("请为以下投诉指定责任人" in t for t in texts(session, "zhao.lei", c))
    ops.reassign(session, world["zhao.lei"], c, ctx=world.ctx(), responsible=world["qian.hao"], reason="钱浩负责该产线")
    event = timeline(session, c)[-1]
    assert event.action == "reassign"
    assert event.details["changes"]["responsible_staff_id"] == {"before": None, "after": world["qian.hao"].id}
    assert event.details["reason"] == "钱浩负责该产线"


def test_major_plan_with_money_needs_management_approval(world: World, session) -> None:
    c = make_complaint(world, severity=Severity.MAJOR)
    investigated(world, c)
    plan = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["compensation", "replace"],
                            description="赔偿损失并更换", amount="12000", due_date=dt.date(2026, 3, 3))
    assert c.status is S.PLAN_PENDING
    assert plan.status is PlanStatus.PENDING_APPROVAL
    assert plan.approval_reasons == ["major", "money"] and plan.amount == decimal.Decimal("12000.00")
    assert any("有一项处置方案待您审批" in t and "12000.00 元" in t for t in texts(session, "chen.gang", c))
    with pytest.raises(PreconditionFailed, match="须先经公司管理层审批"):
        ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())

    ops.approve_plan(session, world["chen.gang"], c, ctx=world.at(local(2026, 2, 24, 11)), note="同意")
    assert plan.status is PlanStatus.APPROVED and plan.decided_by_id == world["chen.gang"].id
    assert c.status is S.PLAN_PENDING
    # 重大: the plan must start within 1 working day of the approval (seed 001 第九条).
    started = deadline(session, c, "plan_started")
    assert (started.anchor_event, started.due_at) == ("plan_approved", eod(2026, 2, 25))
    assert any("已获批准" in t for t in texts(session, "zhao.lei", c))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 2, 25, 9)))
    assert c.status is S.IMPLEMENTING
    assert deadline(session, c, "plan_started").status is DeadlineStatus.MET


def test_money_alone_needs_approval_and_the_threshold_is_configuration(world: World, session, company_config) -> None:
    c = make_complaint(world)
    investigated(world, c)
    plan = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["price_reduction"],
                            description="折让", amount=500, due_date=dt.date(2026, 3, 3))
    assert plan.approval_reasons == ["money"] and c.status is S.PLAN_PENDING

    world.config = company(world.config, workflow={"money_approval_threshold": 1000})
    d = make_complaint(world)
    investigated(world, d)
    small = ops.propose_plan(session, world["zhao.lei"], d, ctx=world.ctx(), measures=["price_reduction"],
                             description="折让", amount=500, due_date=dt.date(2026, 3, 3))
    assert small.approval_reasons == [] and d.status is S.INVESTIGATING


def test_rejected_plan_goes_back_to_investigating_for_a_new_one(world: World, session) -> None:
    c = make_complaint(world, severity=Severity.MAJOR)
    investigated(world, c)
    first = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["repair"],
                             description="返修", due_date=dt.date(2026, 3, 3))
    ops.reject_plan(session, world["wu.fang"], c, ctx=world.ctx(), note="应更换而非返修")
    assert c.status is S.INVESTIGATING and first.status is PlanStatus.REJECTED
    assert any("被驳回" in t and "应更换而非返修" in t for t in texts(session, "zhao.lei", c))
    second = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"],
                              description="更换", due_date=dt.date(2026, 3, 3))
    assert c.status is S.PLAN_PENDING and second.status is PlanStatus.PENDING_APPROVAL


def test_a_new_proposal_replaces_a_plan_not_yet_started(world: World, session) -> None:
    c = make_complaint(world)
    investigated(world, c)
    first = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["repair"],
                             description="返修", due_date=dt.date(2026, 3, 3))
    second = ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"],
                              description="更换", due_date=dt.date(2026, 3, 3))
    assert first.status is PlanStatus.SUPERSEDED and second.status is PlanStatus.PROPOSED
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    assert second.status is PlanStatus.IN_PROGRESS


def test_invalid_complaint_is_explained_and_closed(world: World, session) -> None:
    c = make_complaint(world)
    ops.triage(session, world["li.na"], c, ctx=world.at(local(2026, 2, 13, 11)), valid=False,
               invalid_reason="超出质保期", explanation="该批次产品已超出合同约定的质保期（12个月）。")
    assert c.status is S.INVALID and c.is_valid is False and c.invalid_reason == "超出质保期"
    assert c.closed_at == local(2026, 2, 13, 11) and c.retain_until == dt.date(2029, 2, 13)
    assert actions(session, c)[-2:] == ["triage", "mark_invalid"]
    assert {status for status, _ in milestones(session, c).values()} == {"met", "cancelled"}
    [message] = texts(session, CUSTOMER, c)
    assert "已超出合同约定的质保期" in message and "不予受理" in message


def test_invalid_needs_a_reason(world: World, session) -> None:
    c = make_complaint(world)
    with pytest.raises(MissingField) as err:
        ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=False)
    assert err.value.field == "invalid_reason"
    assert c.status is S.REGISTERED


def test_reopen_after_an_unsatisfied_follow_up_starts_a_new_round(world: World, session) -> None:
    c = _resolved(world, session)
    ops.record_follow_up(session, world["li.na"], c, ctx=world.at(local(2026, 3, 4, 10)), method="phone",
                         notes="客户认为更换不及时", score=60)
    assert session.scalars(sa.select(FollowUp)).one().satisfied is False  # 60 < 85
    with pytest.raises(PreconditionFailed, match="尚无客户满意"):
        ops.close(session, world["li.na"], c, ctx=world.ctx())
    ops.reopen(session, world["li.na"], c, ctx=world.ctx(), reason="客户不满意更换时效")
    assert c.status is S.REOPENED and c.reopen_count == 1
    assert any("已重新进入处理" in t for t in texts(session, CUSTOMER, c))
    second = ops.start_investigation(session, world["zhao.lei"], c, ctx=world.at(local(2026, 3, 5, 9)))
    assert second.round == 2 and c.status is S.INVESTIGATING
    assert deadline(session, c, "investigation_report", unmet=True).due_at == eod(2026, 3, 12)  # 5 wd
    assert session.scalar(sa.select(sa.func.count()).select_from(Investigation)) == 2


def test_close_without_answer_needs_a_note_and_counts_as_no_answer(world: World, session) -> None:
    c = _resolved(world, session)
    ops.record_follow_up(session, world["li.na"], c, ctx=world.ctx(), method="phone", notes="三次致电未接通")
    with pytest.raises(MissingField) as err:
        ops.close(session, world["li.na"], c, ctx=world.ctx(), outcome="no_answer")
    assert err.value.field == "note"
    ops.close(session, world["li.na"], c, ctx=world.ctx(), outcome="no_answer", note="回访期满无答复")
    assert c.status is S.CLOSED and timeline(session, c)[-1].details["outcome"] == "no_answer"


def _resolved(world: World, session):
    c = make_complaint(world)
    investigated(world, c)
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    ops.complete_implementation(session, world["zhao.lei"], c, ctx=world.ctx(), note="已更换")
    ops.feed_back_result(session, world["li.na"], c, ctx=world.at(local(2026, 3, 3, 10)), text="已为您更换。")
    return c


# -- required fields and earlier steps ------------------------------------------------------------


def test_company_responsibility_needs_department_and_type(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.ctx())
    with pytest.raises(MissingField) as err:
        ops.record_investigation(session, world["zhao.lei"], c, ctx=world.ctx(), methods=["phone"], findings="x",
                                 cause="process", responsibility="company")
    assert err.value.field == "responsible_department"
    with pytest.raises(MissingField) as err:
        ops.record_investigation(session, world["zhao.lei"], c, ctx=world.ctx(), methods=["phone"], findings="x",
                                 cause="process", responsibility="company",
                                 responsible_department=world.dept("production"))
    assert err.value.field == "responsibility_type"


def test_not_company_responsibility_needs_evidence(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.ctx())
    with pytest.raises(MissingField) as err:
        ops.record_investigation(session, world["zhao.lei"], c, ctx=world.ctx(), methods=["retest"], findings="合格",
                                 cause="customer_misuse", responsibility="not_company")
    assert err.value.field == "evidence"
    inv = ops.record_investigation(session, world["zhao.lei"], c, ctx=world.ctx(), methods=["retest"],
                                   findings="复检合格", cause="customer_misuse", responsibility="not_company",
                                   evidence=["复检报告 QC-2026-031"])
    assert inv.evidence == ["复检报告 QC-2026-031"] and inv.responsible_department_id is None


def test_unknown_codes_are_refused_naming_the_field(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.ctx())
    with pytest.raises(InvalidValue) as err:
        ops.record_investigation(session, world["zhao.lei"], c, ctx=world.ctx(), methods=["guessing"],
                                 findings="x", cause="process", responsibility="company")
    assert (err.value.field, err.value.value) == ("methods", "guessing")


def test_report_needs_the_investigation_recorded_and_plan_needs_the_report(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    ops.start_investigation(session, world["zhao.lei"], c, ctx=world.ctx())
    with pytest.raises(MissingField) as err:
        ops.submit_report(session, world["zhao.lei"], c, ctx=world.ctx(), report_text="报告")
    assert err.value.field == "findings"
    with pytest.raises(PreconditionFailed, match="须先提交调查分析报告"):
        ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["repair"], description="返修",
                         due_date=dt.date(2026, 3, 3))


def test_money_measure_needs_an_amount_and_due_date_not_in_the_past(world: World, session) -> None:
    c = investigated(world, make_complaint(world))
    with pytest.raises(MissingField) as err:
        ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["compensation"],
                         description="赔偿", due_date=dt.date(2026, 3, 3))
    assert err.value.field == "amount"
    with pytest.raises(InvalidValue) as bad:
        ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["repair"], description="返修",
                         due_date=dt.date(2026, 2, 1))
    assert bad.value.field == "due_date"


def test_feed_back_needs_the_implementation_done(world: World, session) -> None:
    c = investigated(world, make_complaint(world))
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    with pytest.raises(PreconditionFailed, match="尚未实施完成"):
        ops.feed_back_result(session, world["li.na"], c, ctx=world.ctx(), text="结果")


def test_phone_complaint_result_is_recorded_with_its_channel(world: World, session) -> None:
    c = make_complaint(world, source=Source.PHONE, openid=None)
    investigated(world, c)
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["apology"], description="致歉",
                     due_date=dt.date(2026, 3, 3))
    ops.start_implementation(session, world["zhao.lei"], c, ctx=world.ctx())
    ops.complete_implementation(session, world["zhao.lei"], c, ctx=world.ctx(), note="已致歉")
    with pytest.raises(MissingField) as err:
        ops.feed_back_result(session, world["li.na"], c, ctx=world.ctx(), text="已致歉")
    assert err.value.field == "channel"
    ops.feed_back_result(session, world["li.na"], c, ctx=world.ctx(), text="已电话致歉并说明", channel="phone")
    assert c.status is S.RESOLVED and timeline(session, c)[-1].details["channel"] == "phone"


def test_plan_with_approval_sets_the_plan_rows(world: World, session) -> None:
    c = investigated(world, make_complaint(world, severity=Severity.MAJOR))
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["replace"], description="更换",
                     due_date=dt.date(2026, 3, 3), responsible_department=world.dept("logistics"))
    plan = session.scalars(sa.select(Plan)).one()
    assert (plan.responsible_department_id, plan.due_date, plan.proposed_by_id) == (
        world.dept("logistics").id, dt.date(2026, 3, 3), world["zhao.lei"].id)
    assert plan.approval_reasons == ["major"]


def test_triage_with_a_responsible_person_assigns_to_the_pre_routed_department(world: World, session) -> None:
    # The intake routes a quality complaint to 品质保障处 (lead office and handling department) at registration.
    c = make_complaint(world, lead_office_id=world.dept("quality_office").id,
                       handling_department_id=world.dept("quality_office").id)
    ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=True, responsible=world["zhou.min"])
    assert c.status is S.ASSIGNED and c.responsible_staff_id == world["zhou.min"].id
    assert c.handling_department_id == world.dept("quality_office").id
    assert "handling_department_id" not in timeline(session, c)[-1].details.get("changes", {})
