"""Loading the org chart (组织架构) from tousu.toml into the Department and Staff tables.

`sync_org` is what ``tousu org sync`` runs. The configuration is the source of truth for what it lists;
the tables are what the workflow (and later the console) uses. The sync is idempotent — a second run
reports no change — and never deletes: a department or person removed from the file is deactivated
(cases keep pointing at them, their history stays readable), and comes back active if re-added.
People made for the console only (`tousu user create`, userid ``local:…``) are not in the file and are
left alone.
Everything is checked before anything is written, so a typo in the file changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.config import PolicyError
from handlers.workflow.permissions import ROLES
from handlers.workflow.transitions import OPEN_STATES
from storage.models import Complaint, Department, DepartmentKind, Staff, is_local_userid


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name: str
    kind: DepartmentKind
    head: str | None


@dataclass(frozen=True)
class StaffSpec:
    userid: str
    name: str
    department: str | None
    roles: tuple[str, ...]
    phone: str | None


@dataclass(frozen=True)
class OrgChart:
    """``[org]`` as checked at start-up: the departments and the people, in file order."""

    departments: tuple[DepartmentSpec, ...] = ()
    staff: tuple[StaffSpec, ...] = ()

    def department(self, code: str) -> DepartmentSpec | None:
        return next((d for d in self.departments if d.code == code), None)


_DEPARTMENT_KEYS = frozenset({"code", "name", "kind", "head"})
_STAFF_KEYS = frozenset({"userid", "name", "department", "roles", "phone"})


def _known(where: str, raw: Mapping[str, Any], keys: frozenset[str]) -> None:
    unknown = set(raw) - keys
    if unknown:
        raise PolicyError(f"{where}.{sorted(unknown)[0]}: unknown setting")


@dataclass
class OrgSyncReport:
    """What a sync changed; ``lines()`` is what the CLI prints."""

    departments_added: list[str] = field(default_factory=list)
    departments_updated: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    departments_deactivated: list[str] = field(default_factory=list)
    staff_added: list[str] = field(default_factory=list)
    staff_updated: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    staff_deactivated: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.departments_added or self.departments_updated or self.departments_deactivated
            or self.staff_added or self.staff_updated or self.staff_deactivated
        )

    def lines(self) -> list[str]:
        out: list[str] = []
        out += [f"+ 部门 {code}" for code in self.departments_added]
        for code, diff in self.departments_updated.items():
            out.append(f"~ 部门 {code}: " + _diff_text(diff))
        out += [f"- 部门 {code}（停用）" for code in self.departments_deactivated]
        out += [f"+ 人员 {userid}" for userid in self.staff_added]
        for userid, diff in self.staff_updated.items():
            out.append(f"~ 人员 {userid}: " + _diff_text(diff))
        out += [f"- 人员 {userid}（停用）" for userid in self.staff_deactivated]
        out += [f"! {warning}" for warning in self.warnings]
        return out or ["组织架构无变化"]


def _diff_text(diff: Mapping[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{name} {before!r} → {after!r}" for name, (before, after) in diff.items())


def _str(where: str, value: Any, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise PolicyError(f"{where}: required")
        return None
    if not isinstance(value, str):
        raise PolicyError(f"{where}: expected text, got {value!r}")
    return value.strip()


def parse_org(org: Mapping[str, Any]) -> OrgChart:
    """Read and check the ``[org]`` table (once, in ``handlers.config.load_policy``): unique codes and
    userids, known kinds and roles, heads and departments that exist. Raises `PolicyError` naming the entry."""
    if not isinstance(org, Mapping):
        raise PolicyError("org: expected a table with [[org.departments]] and [[org.staff]]")
    _known("org", org, frozenset({"departments", "staff"}))
    departments: list[DepartmentSpec] = []
    codes: set[str] = set()
    for index, raw in enumerate(org.get("departments") or []):
        where = f"org.departments[{index}]"
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{where}: expected a table")
        _known(where, raw, _DEPARTMENT_KEYS)
        code = _str(f"{where}.code", raw.get("code"))
        assert code is not None
        where = f"org.departments[{code}]"
        if code in codes:
            raise PolicyError(f"{where}: department code used twice")
        codes.add(code)
        kind_value = raw.get("kind", DepartmentKind.DEPARTMENT.value)
        try:
            kind = DepartmentKind(kind_value)
        except ValueError:
            known = ", ".join(k.value for k in DepartmentKind)
            raise PolicyError(f"{where}.kind: {kind_value!r} is not one of {known}") from None
        name = _str(f"{where}.name", raw.get("name"))
        assert name is not None
        departments.append(DepartmentSpec(code, name, kind, _str(f"{where}.head", raw.get("head"), required=False)))
    staff: list[StaffSpec] = []
    userids: set[str] = set()
    for index, raw in enumerate(org.get("staff") or []):
        where = f"org.staff[{index}]"
        if not isinstance(raw, Mapping):
            raise PolicyError(f"{where}: expected a table")
        _known(where, raw, _STAFF_KEYS)
        userid = _str(f"{where}.userid", raw.get("userid"))
        assert userid is not None
        where = f"org.staff[{userid}]"
        if userid in userids:
            raise PolicyError(f"{where}: userid used twice")
        userids.add(userid)
        department = _str(f"{where}.department", raw.get("department"), required=False)
        if department is not None and department not in codes:
            raise PolicyError(f"{where}.department: no department {department!r} in [[org.departments]]")
        roles = raw.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise PolicyError(f"{where}.roles: expected a list such as [\"handler\"]")
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise PolicyError(f"{where}.roles: unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
        name = _str(f"{where}.name", raw.get("name"))
        assert name is not None
        staff.append(StaffSpec(userid, name, department, tuple(dict.fromkeys(roles)),
                               _str(f"{where}.phone", raw.get("phone"), required=False)))
    for spec in departments:
        if spec.head is not None and spec.head not in userids:
            raise PolicyError(f"org.departments[{spec.code}].head: no staff with userid {spec.head!r}")
    return OrgChart(tuple(departments), tuple(staff))


def sync_org(session: Session, org: OrgChart) -> OrgSyncReport:
    """Make the Department and Staff tables match the policy's ``[org]``; returns what changed. Flushes."""
    department_specs, staff_specs = org.departments, org.staff
    report = OrgSyncReport()

    existing_departments = {d.code: d for d in session.scalars(sa.select(Department))}
    by_code: dict[str, Department] = {}
    for dspec in department_specs:
        department = existing_departments.get(dspec.code)
        if department is None:
            department = Department(code=dspec.code, name=dspec.name, kind=dspec.kind, active=True)
            session.add(department)
            report.departments_added.append(dspec.code)
        else:
            diff = _apply(department, {"name": dspec.name, "kind": dspec.kind, "active": True})
            if diff:
                report.departments_updated[dspec.code] = diff
        by_code[dspec.code] = department
    session.flush()

    existing_staff = {s.wecom_userid: s for s in session.scalars(sa.select(Staff))}
    by_userid: dict[str, Staff] = {}
    for sspec in staff_specs:
        department_id = by_code[sspec.department].id if sspec.department else None
        person = existing_staff.get(sspec.userid)
        wanted = {"name": sspec.name, "department_id": department_id, "roles": list(sspec.roles),
                  "phone": sspec.phone, "active": True}
        if person is None:
            person = Staff(wecom_userid=sspec.userid, **wanted)
            session.add(person)
            report.staff_added.append(sspec.userid)
        else:
            diff = _apply(person, wanted)
            if diff:
                report.staff_updated[sspec.userid] = _named(diff, by_code)
        by_userid[sspec.userid] = person
    session.flush()

    for dspec in department_specs:
        department = by_code[dspec.code]
        head_id = by_userid[dspec.head].id if dspec.head else None
        if department.head_id != head_id:
            before = _userid(session, department.head_id)
            department.head_id = head_id
            if dspec.code not in report.departments_added:
                report.departments_updated.setdefault(dspec.code, {})["head"] = (before, dspec.head)

    listed_staff = {spec.userid for spec in staff_specs}
    for userid, person in existing_staff.items():
        if userid not in listed_staff and person.active and not is_local_userid(userid):
            person.active = False
            report.staff_deactivated.append(userid)
            open_cases = session.scalar(
                sa.select(sa.func.count()).select_from(Complaint).where(
                    Complaint.responsible_staff_id == person.id, Complaint.status.in_(OPEN_STATES)
                )
            )
            if open_cases:
                report.warnings.append(f"{userid} 停用，但仍是 {open_cases} 件未办结投诉的责任人，请改派")
    listed_departments = {spec.code for spec in department_specs}
    for code, department in existing_departments.items():
        if code not in listed_departments and department.active:
            department.active = False
            report.departments_deactivated.append(code)
    session.flush()
    return report


def _apply(row: Any, wanted: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    diff: dict[str, tuple[Any, Any]] = {}
    for name, value in wanted.items():
        current = getattr(row, name)
        if current != value:
            diff[name] = (current.value if hasattr(current, "value") else current,
                          value.value if hasattr(value, "value") else value)
            setattr(row, name, value)
    return diff


def _named(diff: dict[str, tuple[Any, Any]], by_code: Mapping[str, Department]) -> dict[str, tuple[Any, Any]]:
    """Department ids in a staff diff shown as codes, which is what the file says."""
    if "department_id" not in diff:
        return diff
    codes = {d.id: code for code, d in by_code.items()}
    before, after = diff.pop("department_id")
    diff["department"] = (codes.get(before, before), codes.get(after, after))
    return diff


def _userid(session: Session, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    person = session.get(Staff, staff_id)
    return person.wecom_userid if person else None


__all__ = ["DepartmentSpec", "OrgSyncReport", "StaffSpec", "parse_org", "sync_org"]
