"""`notify.OrgChart`: the chart read once per sweep gives the same recipients as one read per call, for every
escalation role and every stage of routing — including 回避 (the complained-about person) and inactive staff."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from handlers.sla.presets import ESCALATION_ROLES
from handlers.workflow import notify
from storage.models import Department, DepartmentKind
from tests.handlers.test_workflow_support import World, assigned, make_complaint, make_world, triaged


@pytest.fixture
def world(session, company_config) -> World:
    return make_world(session, company_config)


def ids(staff) -> list[int]:  # type: ignore[no-untyped-def]
    return [s.id for s in staff]


def same_for_every_role(world: World, *complaints) -> int:  # type: ignore[no-untyped-def]
    org = notify.OrgChart(world.session)
    seen = 0
    for complaint in complaints:
        for role in sorted(ESCALATION_ROLES):
            live = ids(notify.recipients(world.session, complaint, role))
            assert ids(notify.recipients(world.session, complaint, role, org=org)) == live, (complaint.status, role)
            seen += len(live)
        assert ids(notify.responsible_staff(world.session, complaint, org=org)) == ids(
            notify.responsible_staff(world.session, complaint))
    return seen


def test_the_chart_resolves_like_the_database_at_every_stage(world: World) -> None:
    registered = make_complaint(world)
    in_office = triaged(world, make_complaint(world))
    with_person = assigned(world, make_complaint(world))
    no_person = assigned(world, make_complaint(world), responsible=None)
    against_head = assigned(world, make_complaint(world))
    against_head.complained_staff_id = world["li.na"].id  # 回避: the office's own person is complained about
    assert same_for_every_role(world, registered, in_office, with_person, no_person, against_head) > 0
    assert world["li.na"].id in ids(notify.lead_office_staff(world.session, with_person,
                                                             org=notify.OrgChart(world.session)))
    assert world["li.na"].id not in ids(notify.lead_office_staff(world.session, against_head,
                                                                  org=notify.OrgChart(world.session)))


def test_inactive_people_and_headless_departments_resolve_alike(world: World) -> None:
    complaint = assigned(world, make_complaint(world))
    world["zhao.lei"].active = False  # the responsible person left
    for department in world.session.scalars(sa.select(Department).where(Department.kind == DepartmentKind.LEAD_OFFICE)):
        department.head_id = None  # the head is found by role instead
    world.session.flush()
    assert same_for_every_role(world, complaint, make_complaint(world)) > 0
    org = notify.OrgChart(world.session)
    assert world["zhao.lei"].id not in org.staff
    assert notify.responsible_staff(world.session, complaint, org=org)  # the lead office stands in
