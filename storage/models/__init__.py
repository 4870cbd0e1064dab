"""Every model, imported here so ``Base.metadata`` is complete for migrations and tests."""

from storage.base import Base
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

__all__ = [
    "ActorKind",
    "Attachment",
    "AttachmentKind",
    "Base",
    "Complaint",
    "ComplaintCounter",
    "ComplaintStatus",
    "Department",
    "DepartmentKind",
    "DevSinkMessage",
    "InboundChannel",
    "InboundMessage",
    "InboundStatus",
    "OutboxChannel",
    "OutboxMessage",
    "OutboxStatus",
    "Severity",
    "Source",
    "Staff",
    "TimelineEvent",
]
