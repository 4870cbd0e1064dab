"""Who may read the statistics, and which complaints they count: one rule for the console and the API.

Management and admins count every case; a lead office's members count their own ledger (the cases whose
lead office is their department, within what they may see at all: `scope_clause`); nobody else reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.workflow.scope import ConsoleRole, console_roles, scope_clause
from storage.models import Complaint, Staff


def stats_scope(session: Session, staff: Staff) -> tuple[bool, sa.ColumnElement[bool] | None]:
    """(may read statistics, the WHERE clause limiting what they count: None = every case)."""
    roles = console_roles(session, staff)
    if ConsoleRole.ADMIN in roles or ConsoleRole.MANAGEMENT in roles:
        return True, None
    if ConsoleRole.OFFICE in roles and staff.department_id is not None:
        return True, sa.and_(scope_clause(session, staff), Complaint.lead_office_id == staff.department_id)
    return False, None


__all__ = ["stats_scope"]
