"""Domain errors of the complaint workflow, declared in one place.

Every error carries the facts a caller needs (the state, the action, the field…) as attributes and a
one-line message in Chinese with the codes in brackets, so the console can show it as it is and tests
can assert on the attributes instead of on wording.
"""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    """Base class: something the workflow refuses to do, for a reason a person can fix."""


class IllegalTransition(WorkflowError):
    """The action is not allowed in the complaint's current state (not an arrow of the lifecycle)."""

    def __init__(self, state: str, action: str, *, state_label: str = "", action_label: str = "") -> None:
        self.state = state
        self.action = action
        super().__init__(
            f"当前状态“{state_label or state}”下不能执行“{action_label or action}” (state={state}, action={action})"
        )


class PermissionDenied(WorkflowError):
    """The acting staff member may not do this (role, department, inactive)."""

    def __init__(self, action: str, reason: str, *, staff: str | None = None) -> None:
        self.action = action
        self.reason = reason
        self.staff = staff
        who = f"{staff} " if staff else ""
        super().__init__(f"{who}无权执行“{action}”：{reason}")


class Recusal(PermissionDenied):
    """回避: the complained-about person may never handle, approve or act on the complaint about them."""

    def __init__(self, action: str, *, staff: str | None = None, role: str = "处理") -> None:
        self.role = role
        super().__init__(action, f"被投诉人须回避，不能{role}本投诉", staff=staff)


class MissingField(WorkflowError):
    """A field the step requires was not given (or not yet recorded by an earlier step)."""

    def __init__(self, field: str, label: str = "") -> None:
        self.field = field
        super().__init__(f"缺少必填项“{label or field}” (field={field})")


class InvalidValue(WorkflowError):
    """A value is outside what the field accepts (unknown code, past date, wrong department…)."""

    def __init__(self, field: str, value: Any, reason: str = "") -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"“{field}”的值 {value!r} 无效" + (f"：{reason}" if reason else ""))


class PreconditionFailed(WorkflowError):
    """The move is on the lifecycle, but an earlier step it depends on has not happened yet."""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"暂不能执行“{action}”：{reason}")


class CaseChanged(WorkflowError):
    """Someone else changed the case after this person's page showed it (乐观锁: the version moved on).

    Acting on what one saw would overwrite or contradict the other change; the person reloads instead.
    """

    def __init__(self, number: str, seen: int | None, current: int) -> None:
        self.number = number
        self.seen = seen
        self.current = current
        super().__init__(f"该投诉已被他人更新，请刷新后重试 (number={number}, version {seen} → {current})")


class NotFound(WorkflowError):
    """A complaint, staff member, department or extension that does not exist."""


class WorkflowConfigError(WorkflowError):
    """The [sla] / [workflow] / [calendar] configuration cannot be understood; names the setting."""


class OrgConfigError(WorkflowConfigError):
    """The [org] section of tousu.toml is inconsistent (unknown department, duplicate userid…)."""


class CalendarImportError(WorkflowError):
    """A calendar exception file (CSV of date,work|off,note) has a bad line; names the line."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"第 {line} 行：{reason}")


__all__ = [
    "CalendarImportError",
    "CaseChanged",
    "IllegalTransition",
    "InvalidValue",
    "MissingField",
    "NotFound",
    "OrgConfigError",
    "PermissionDenied",
    "PreconditionFailed",
    "Recusal",
    "WorkflowConfigError",
    "WorkflowError",
]
