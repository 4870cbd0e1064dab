"""The org chart (组织架构): departments, lead offices and staff, loaded from tousu.toml by `tousu org sync`."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, str_enum, utcnow


class DepartmentKind(enum.StrEnum):
    LEAD_OFFICE = "lead_office"  # 归口部门, owns a ledger 台账
    DEPARTMENT = "department"  # 承办部门
    MANAGEMENT = "management"  # 公司管理层


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[DepartmentKind] = mapped_column(str_enum(DepartmentKind, 16), default=DepartmentKind.DEPARTMENT)
    head_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff.id", use_alter=True, name="fk_department_head_id_staff", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    staff: Mapped[list[Staff]] = relationship(back_populates="department", foreign_keys="Staff.department_id")


class Staff(Base):
    """A member of staff; ``wecom_userid`` is where WeCom app messages go."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    wecom_userid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("department.id", ondelete="SET NULL"))
    roles: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["intake", "handler", "approver", "admin"]
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(back_populates="staff", foreign_keys=[department_id])
