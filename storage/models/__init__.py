"""Every model, imported here so ``Base.metadata`` is complete for migrations and tests."""

from storage.base import Base
from storage.models.accounts import LOCAL_USERID_PREFIX, AuditEvent, StaffAccount, is_local_userid
from storage.models.complaint import (
    ActorKind,
    Attachment,
    AttachmentKind,
    Complaint,
    ComplaintCounter,
    ComplaintStatus,
    Severity,
    Source,
    TimelineEvent,
)
from storage.models.intake import FaqEntry, IntakeMode, IntakeSession
from storage.models.messages import (
    DevSinkMessage,
    InboundChannel,
    InboundMessage,
    InboundStatus,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
)
from storage.models.org import Department, DepartmentKind, Staff
from storage.models.workflow import (
    CalendarException,
    Deadline,
    DeadlineStatus,
    Extension,
    ExtensionStatus,
    FollowUp,
    Investigation,
    Plan,
    PlanStatus,
)

__all__ = [
    "LOCAL_USERID_PREFIX",
    "ActorKind",
    "Attachment",
    "AttachmentKind",
    "AuditEvent",
    "Base",
    "CalendarException",
    "Complaint",
    "ComplaintCounter",
    "ComplaintStatus",
    "Deadline",
    "DeadlineStatus",
    "Department",
    "DepartmentKind",
    "DevSinkMessage",
    "Extension",
    "ExtensionStatus",
    "FaqEntry",
    "FollowUp",
    "InboundChannel",
    "InboundMessage",
    "InboundStatus",
    "IntakeMode",
    "IntakeSession",
    "Investigation",
    "OutboxChannel",
    "OutboxMessage",
    "OutboxStatus",
    "Plan",
    "PlanStatus",
    "Severity",
    "Source",
    "Staff",
    "StaffAccount",
    "TimelineEvent",
    "is_local_userid",
]
