"""Who may do what: roles and departments, recusal of the complained-about person, confidentiality."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.workflow import operations as ops
from handlers.workflow import permissions
from handlers.workflow.errors import InvalidValue, PermissionDenied, Recusal
from handlers.workflow.settings import parse_settings
from handlers.workflow.transitions import Action
from storage.models import ComplaintStatus
from tests.handlers.test_workflow_support import (
    World,
    assigned,
    company,
    investigated,
    make_complaint,
    make_world,
    texts,
    timeline,
)

S = ComplaintStatus


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def test_only_the_lead_office_or_management_triages(world: World, session) -> None:
    c = make_complaint(world)
    with pytest.raises(PermissionDenied) as err:
        ops.triage(session, world["zhao.lei"], c, ctx=world.ctx(), valid=True)
    assert err.value.action == "分类" and "归口部门" in err.value.reason
    assert c.status is S.REGISTERED
    ops.triage(session, world["chen.gang"], c, ctx=world.ctx(), valid=True,
               lead_office=world.dept("quality_office"))
    assert c.status is S.TRIAGED and c.lead_office_id == world.dept("quality_office").id


def test_other_departments_cannot_work_the_case(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    with pytest.raises(PermissionDenied, match="本案承办人员"):
        ops.start_investigation(session, world["sun.li"], c, ctx=world.ctx())  # 物流部
    ops.start_investigation(session, world["qian.hao"], c, ctx=world.ctx())  # a handler of 生产部
    assert c.status is S.INVESTIGATING


def test_lead_office_may_lead_the_investigation(world: World, session) -> None:
    c = assigned(world, make_complaint(world))
    ops.start_investigation(session, world["zhou.min"], c, ctx=world.ctx())  # 品质保障处 handler
    assert c.status is S.INVESTIGATING


def test_plans_are_approved_by_management_never_by_the_proposer(world: World, session) -> None:
    c = investigated(world, make_complaint(world))
    ops.propose_plan(session, world["li.na"], c, ctx=world.ctx(), measures=["refund"], amount=800,
                     description="退款", due_date=dt.date(2026, 3, 3))
    with pytest.raises(PermissionDenied, match="管理层或审批人"):
        ops.approve_plan(session, world["zhao.lei"], c, ctx=world.ctx())
    plan = ops.approve_plan(session, world["wu.fang"], c, ctx=world.ctx())
    assert plan.decided_by_id == world["wu.fang"].id

    d = investigated(world, make_complaint(world))
    ops.propose_plan(session, world["chen.gang"], d, ctx=world.ctx(), measures=["refund"], amount=800,
                     description="退款", due_date=dt.date(2026, 3, 3))
    with pytest.raises(PermissionDenied, match="不能审批自己提出的方案"):
        ops.approve_plan(session, world["chen.gang"], d, ctx=world.ctx())


def test_inactive_staff_are_refused(world: World, session) -> None:
    c = make_complaint(world)
    world["li.na"].active = False
    with pytest.raises(PermissionDenied, match="账号已停用"):
        ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=True)


def test_department_head_reassigns_within_the_department_only(world: World, session) -> None:
    c = assigned(world, make_complaint(world), responsible="qian.hao")
    ops.reassign(session, world["zhao.lei"], c, ctx=world.ctx(), responsible=world["zhao.lei"], reason="亲自负责")
    assert c.responsible_staff_id == world["zhao.lei"].id
    assert any("已改由 赵磊 负责" in t for t in texts(session, "qian.hao", c))
    with pytest.raises(PermissionDenied, match="改派到其他部门"):
        ops.reassign(session, world["zhao.lei"], c, ctx=world.ctx(), responsible=world["sun.li"],
                     handling_department=world.dept("logistics"), reason="物流问题")
    ops.reassign(session, world["li.na"], c, ctx=world.ctx(), responsible=world["sun.li"],
                 handling_department=world.dept("logistics"), reason="物流问题")
    assert c.handling_department_id == world.dept("logistics").id


def test_responsible_person_must_belong_to_the_handling_department(world: World, session) -> None:
    c = make_complaint(world)
    with pytest.raises(InvalidValue) as err:
        assigned(world, c, department="production", responsible="sun.li")
    assert err.value.field == "responsible"


# -- recusal 回避 ------------------------------------------------------------------------------------


def test_complained_about_person_can_never_be_responsible(world: World, session) -> None:
    c = make_complaint(world, category="service_attitude")
    with pytest.raises(Recusal) as err:
        ops.triage(session, world["li.na"], c, ctx=world.ctx(), valid=True, complained_staff=world["zheng.kai"],
                   handling_department=world.dept("sales"), responsible=world["zheng.kai"])
    assert "回避" in str(err.value) and "责任人" in str(err.value)
    session.rollback()


def test_complained_about_person_cannot_act_on_the_case_at_all(world: World, session) -> None:
    c = assigned(world, make_complaint(world, category="service_attitude"), department="sales",
                 responsible="wang.qiang", complained_staff=world["zheng.kai"])
    with pytest.raises(Recusal):
        ops.add_progress_note(session, world["zheng.kai"], c, ctx=world.ctx(), text="我来解释一下")
    with pytest.raises(Recusal):
        ops.reassign(session, world["wang.qiang"], c, ctx=world.ctx(), responsible=world["zheng.kai"],
                     reason="由本人处理")
    assert permissions.can(session, world["wang.qiang"], Action.ADD_PROGRESS_NOTE, c)
    assert not permissions.can(session, world["zheng.kai"], Action.ADD_PROGRESS_NOTE, c)


def test_complained_about_manager_cannot_approve(world: World, session) -> None:
    c = investigated(world, make_complaint(world))
    ops.record_complained_staff(session, world["li.na"], c, ctx=world.ctx(), complained=world["chen.gang"])
    ops.propose_plan(session, world["zhao.lei"], c, ctx=world.ctx(), measures=["compensation"], amount=100,
                     description="赔偿", due_date=dt.date(2026, 3, 3))
    # The approval request goes to the other approver only.
    assert texts(session, "chen.gang", c) == []
    assert any("待您审批" in t for t in texts(session, "wu.fang", c))
    with pytest.raises(Recusal):
        ops.approve_plan(session, world["chen.gang"], c, ctx=world.ctx())
    ops.approve_plan(session, world["wu.fang"], c, ctx=world.ctx())


def test_recording_the_responsible_person_as_complained_about_takes_them_off(world: World, session) -> None:
    c = assigned(world, make_complaint(world), responsible="qian.hao")
    ops.record_complained_staff(session, world["li.na"], c, ctx=world.ctx(), complained=world["qian.hao"],
                                note="客户投诉其态度")
    assert c.complained_staff_id == world["qian.hao"].id and c.responsible_staff_id is None
    event = timeline(session, c)[-1]
    assert event.details["changes"]["responsible_staff_id"] == {"before": world["qian.hao"].id, "after": None}
    assert any("须回避" in t for t in texts(session, "zhao.lei", c))


# -- confidentiality -----------------------------------------------------------------------------


def test_handling_department_does_not_see_the_complainant_by_default(world: World, session) -> None:
    c = assigned(world, make_complaint(world), responsible="qian.hao")
    [message] = texts(session, "qian.hao", c)
    assert "洛阳某某机械厂" not in message and "13800138000" not in message
    assert "按规定保密" in message
    conf = parse_settings(world.config)
    assert not permissions.can_see_complainant(session, world["qian.hao"], c, conf)
    assert permissions.can_see_complainant(session, world["li.na"], c, conf)  # lead office
    assert permissions.can_see_complainant(session, world["chen.gang"], c, conf)  # management
    assert not permissions.can_see_complainant(session, world["sun.li"], c, conf)  # unrelated department


def test_configuration_lets_the_handling_department_see_who_complained(world: World, session) -> None:
    world.config = company(world.config, workflow={"handling_department_sees_complainant": True})
    c = assigned(world, make_complaint(world), responsible="qian.hao")
    [message] = texts(session, "qian.hao", c)
    assert "洛阳某某机械厂" in message
    assert "138****8000" in message and "13800138000" not in message  # phone masked in notifications
