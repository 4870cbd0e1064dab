"""`sync_org`: the org chart of tousu.toml into the tables — idempotent, reporting, never deleting."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.config import PolicyError, load_policy
from handlers.org import sync_org
from storage.models import Department, DepartmentKind, Staff
from tests.conftest import count_rows
from tests.handlers.test_workflow_support import assigned, make_complaint, make_world


def _staff(session, userid: str) -> Staff:
    return session.scalars(sa.select(Staff).where(Staff.wecom_userid == userid)).one()


def _dept(session, code: str) -> Department:
    return session.scalars(sa.select(Department).where(Department.code == code)).one()


def test_first_sync_loads_the_example_org_chart(session, company_config) -> None:
    report = sync_org(session, load_policy(company_config).org)
    assert report.departments_added == [
        "general_office", "quality_office", "sales", "production", "logistics", "management"]
    assert len(report.staff_added) == 8 and report.changed
    quality = _dept(session, "quality_office")
    assert quality.kind is DepartmentKind.LEAD_OFFICE and quality.name == "品质保障处"
    assert quality.head_id == _staff(session, "li.na").id
    chen = _staff(session, "chen.gang")
    assert chen.roles == ["management", "approver", "admin"] and chen.department_id == _dept(session, "management").id


def test_second_sync_changes_nothing(session, db, company_config) -> None:
    sync_org(session, load_policy(company_config).org)
    session.commit()
    again = sync_org(session, load_policy(company_config).org)
    assert not again.changed and again.lines() == ["组织架构无变化"]
    assert count_rows(db, Staff) == 8 and count_rows(db, Department) == 6


def _edited(config: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(config)


def test_changes_are_reported_field_by_field(session, company_config) -> None:
    sync_org(session, load_policy(company_config).org)
    config = _edited(company_config)
    for person in config["org"]["staff"]:
        if person["userid"] == "liu.yang":
            person["roles"] = ["intake", "handler", "head"]
            person["department"] = "sales"
    for department in config["org"]["departments"]:
        if department["code"] == "sales":
            department["head"] = "liu.yang"
            department["name"] = "销售服务部"
    report = sync_org(session, load_policy(config).org)
    assert report.staff_updated == {"liu.yang": {
        "roles": (["intake", "handler"], ["intake", "handler", "head"]),
        "department": ("general_office", "sales"),
    }}
    assert report.departments_updated == {
        "sales": {"name": ("销售部", "销售服务部"), "head": ("wang.qiang", "liu.yang")}}
    assert "~ 人员 liu.yang: roles ['intake', 'handler'] → ['intake', 'handler', 'head'], " \
           "department 'general_office' → 'sales'" in report.lines()


def test_removed_people_and_departments_are_deactivated_not_deleted(session, company_config) -> None:
    world = make_world(session, company_config)
    c = assigned(world, make_complaint(world), responsible="qian.hao")
    config = _edited(world.config)
    config["org"]["staff"] = [p for p in config["org"]["staff"] if p["userid"] not in ("qian.hao", "sun.li")]
    config["org"]["departments"] = [d for d in config["org"]["departments"] if d["code"] != "logistics"]
    report = sync_org(session, load_policy(config).org)
    assert sorted(report.staff_deactivated) == ["qian.hao", "sun.li"]
    assert report.departments_deactivated == ["logistics"]
    assert report.warnings == ["qian.hao 停用，但仍是 1 件未办结投诉的责任人，请改派"]
    assert _staff(session, "qian.hao").active is False and c.responsible_staff_id == _staff(session, "qian.hao").id
    assert _dept(session, "logistics").active is False

    back = sync_org(session, load_policy(world.config).org)  # re-added: active again
    assert back.staff_updated["qian.hao"] == {"active": (False, True)}
    assert _staff(session, "qian.hao").active is True


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["org"]["staff"].append({"userid": "li.na", "name": "重名", "department": "sales"}),
     "org.staff[li.na]: userid used twice"),
    (lambda c: c["org"]["staff"].append({"userid": "x.y", "name": "某", "department": "nowhere"}),
     "org.staff[x.y].department: no department 'nowhere'"),
    (lambda c: c["org"]["staff"].append({"userid": "x.y", "name": "某", "roles": ["boss"]}),
     "org.staff[x.y].roles: unknown role(s) boss"),
    (lambda c: c["org"]["departments"].append({"code": "qa", "name": "质检", "head": "nobody"}),
     "org.departments[qa].head: no staff with userid 'nobody'"),
    (lambda c: c["org"]["departments"].append({"code": "qa", "name": "质检", "kind": "office"}),
     "org.departments[qa].kind: 'office' is not one of"),
    (lambda c: c["org"]["departments"].append({"code": "sales", "name": "又一个"}),
     "org.departments[sales]: department code used twice"),
])
def test_a_bad_file_is_refused_naming_the_entry_and_writes_nothing(session, db, company_config, edit, message) -> None:
    config = _edited(company_config)
    edit(config)
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        sync_org(session, load_policy(config).org)
    session.rollback()
    assert count_rows(db, Staff) == 0 and count_rows(db, Department) == 0
