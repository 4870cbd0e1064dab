"""The ledger (台账): the cases one member of staff may see, filtered, sorted and paged, and what each row shows.

One module serves the console's ledger page, its Excel export and (next) the REST API, so the three can
never disagree about which cases a reader gets or how much of the complainant they see:

* `LedgerQuery.parse` turns request arguments into a validated query (Chinese messages for bad values,
  raised together as `LedgerQueryError`);
* `ledger_select` builds the ``SELECT`` — always inside `scope.scope_clause`, the only door to cases;
* `ledger_page` runs it for one page (offset paging, 50 a page, capped at `MAX_ROWS`), `export_rows`
  for the whole filtered ledger (same cap);
* `reader_rows` decides what a reader sees of each case: identity hidden and phones masked per
  `scope.personal_data_access`, exactly as the case page does. Pages and spreadsheets print these rows,
  never the `Complaint` object.

Keyword search and confidentiality: a keyword must not find a case through something its reader cannot
see. It matches the case number, product, spec and batch for every reader; the complainant's name,
contact person and address only on the cases whose identity the reader may see; the phone number, and any
keyword with a digit inside the free text (where phones hide, masked on the page), only on the cases
whose full phone the reader may see. Doing this in SQL needs the two access rules as WHERE clauses
(`identity_clause`, `full_phone_clause`); tests check that they agree with `personal_data_access` for
every person and case, so the rule itself stays in `handlers.workflow`.

On PostgreSQL the keyword uses the trigram (``pg_trgm``) GIN indexes of the ledger migration, built on
exactly the expressions `_public_text`, `Complaint.description`, `_identity_text` and `Complaint.phone`;
SQLite scans (fine at a company's size, and the tests' database).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.workflow.permissions import MANAGEMENT, has_role, is_management, is_read_only
from handlers.workflow.scope import HIDDEN, personal_data_access, scope_clause
from handlers.workflow.settings import WorkflowSettings
from handlers.workflow.transitions import OPEN_STATES
from storage.base import SHANGHAI
from storage.models import (
    Complaint,
    ComplaintStatus,
    Deadline,
    DeadlineStatus,
    Department,
    DepartmentKind,
    Investigation,
    Plan,
    PlanStatus,
    Severity,
    Source,
    Staff,
)

PAGE_SIZE: Final = 50
MAX_ROWS: Final = 10_000  # the deepest row a page may reach, and the export's limit
COUNT_CAP: Final = 1_000  # the ledger counts exactly up to here ("共 N 件"); past it says "超过 1000 件"
MAX_KEYWORD: Final = 50

ALL_OFFICES: Final = "all"  # every case in the reader's scope
NO_OFFICE: Final = "none"  # cases no lead office has been given yet (awaiting triage)
OPEN: Final = "open"  # status filter: every state that is not final (未办结)
SORTS: Final = ("received", "number", "due", "status")
DEFAULT_DESCENDING: Final = {"received": True, "number": True, "due": False, "status": False}
# The lifecycle's order (DOMAIN.md), for sorting by state: open states first, then the final ones.
STATUS_ORDER: Final = (
    ComplaintStatus.REGISTERED, ComplaintStatus.TRIAGED, ComplaintStatus.ASSIGNED, ComplaintStatus.INVESTIGATING,
    ComplaintStatus.PLAN_PENDING, ComplaintStatus.IMPLEMENTING, ComplaintStatus.RESOLVED, ComplaintStatus.SURVEYING,
    ComplaintStatus.REOPENED, ComplaintStatus.CLOSED, ComplaintStatus.INVALID,
)

_NUMBER = re.compile(r"\d{1,8}")
_DIGIT = re.compile(r"\d")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class LedgerQueryError(ValueError):
    """Bad filter values; ``errors`` are Chinese sentences for the person who typed them."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("；".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class LedgerQuery:
    """What the ledger is asked for. Every field is optional; an empty query is the reader's default ledger."""

    office: str | None = None  # None: the reader's default; ALL_OFFICES; NO_OFFICE; or a lead office's code
    status: str | None = None  # a ComplaintStatus value, or OPEN
    category: str | None = None
    severity: Severity | None = None
    department: str | None = None  # handling department (承办部门) code
    source: Source | None = None
    overdue: bool = False
    received_from: dt.date | None = None  # Asia/Shanghai dates, both inclusive
    received_to: dt.date | None = None
    keyword: str | None = None
    number: str | None = None  # 8 digits: that case; fewer: numbers starting with them (e.g. 2602)
    sort: str = "received"
    descending: bool = True
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, Any], *, categories: Iterable[str] = ()) -> LedgerQuery:
        """Read request arguments (a dict or Flask's ``request.args``); blank values mean "not filtered".

        ``categories`` are the policy's category codes (any code is accepted when empty)."""
        errors: list[str] = []

        def text(name: str, limit: int = 64) -> str | None:
            value = args.get(name)
            value = str(value).strip() if value is not None else ""
            if len(value) > limit:
                errors.append(f"{LABELS[name]}过长（最多 {limit} 个字）")
                return None
            return value or None

        def choice(name: str, allowed: Iterable[str]) -> str | None:
            value = text(name)
            if value is not None and value not in set(allowed):
                errors.append(f"{LABELS[name]}“{value}”不在可选范围内")
                return None
            return value

        def date(name: str) -> dt.date | None:
            value = text(name)
            if value is None:
                return None
            try:
                if not _DATE.fullmatch(value):
                    raise ValueError(value)
                return dt.date.fromisoformat(value)
            except ValueError:
                errors.append(f"{LABELS[name]}“{value}”不是有效日期（格式：2026-02-13）")
                return None

        office = text("office")
        status = choice("status", [OPEN, *(s.value for s in ComplaintStatus)])
        category_codes = list(categories)
        category = choice("category", category_codes) if category_codes else text("category")
        severity = choice("severity", [s.value for s in Severity])
        department = text("department")
        source = choice("source", [s.value for s in Source])
        overdue = choice("overdue", ["", "0", "1", "on", "true"]) in ("1", "on", "true")
        received_from, received_to = date("from"), date("to")
        if received_from and received_to and received_from > received_to:
            errors.append("受理日期的起始日不能晚于截止日")
        keyword = text("q", MAX_KEYWORD)
        number = text("number")
        if number is not None and not _NUMBER.fullmatch(number):
            errors.append(f"投诉编号“{number}”应为 8 位以内的数字（如 26020001，或 2602 查整月）")
            number = None
        sort = choice("sort", SORTS) or "received"
        order = choice("order", ["asc", "desc"])
        page_text = text("page") or "1"
        page = int(page_text) if page_text.isdigit() and len(page_text) <= 6 else 0
        if page < 1:
            errors.append(f"页码“{page_text}”应为正整数")
        elif (page - 1) * PAGE_SIZE >= MAX_ROWS:
            errors.append(f"最多翻看前 {MAX_ROWS} 件，请缩小筛选范围（如按月份、状态）")
        if errors:
            raise LedgerQueryError(errors)
        return cls(
            office=office, status=status, category=category,
            severity=Severity(severity) if severity else None, department=department,
            source=Source(source) if source else None, overdue=overdue,
            received_from=received_from, received_to=received_to, keyword=keyword, number=number,
            sort=sort, descending=DEFAULT_DESCENDING[sort] if order is None else order == "desc", page=page,
        )

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The query as request arguments (only what differs from the defaults), for links and the audit."""
        query = replace(self, **changes) if changes else self
        args: dict[str, str] = {}
        for name, key in _ARG_NAMES.items():
            value = getattr(query, name)
            if value in (None, False, ""):
                continue
            args[key] = "1" if value is True else value.isoformat() if isinstance(value, dt.date) else str(value)
        if query.sort != "received":
            args["sort"] = query.sort
        if query.descending != DEFAULT_DESCENDING[query.sort]:
            args["order"] = "desc" if query.descending else "asc"
        if query.page != 1:
            args["page"] = str(query.page)
        return args

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the ledger besides the office."""
        return any(getattr(self, name) not in (None, False, "") for name in _ARG_NAMES if name != "office")


LABELS: Final = {
    "office": "台账", "status": "状态", "category": "诉求类型", "severity": "严重程度", "department": "承办部门",
    "source": "投诉来源", "overdue": "超时", "from": "受理日期（起）", "to": "受理日期（止）", "q": "关键词",
    "number": "投诉编号", "sort": "排序", "order": "排序方向", "page": "页码",
}
_ARG_NAMES: Final = {
    "office": "office", "status": "status", "category": "category", "severity": "severity",
    "department": "department", "source": "source", "overdue": "overdue", "received_from": "from",
    "received_to": "to", "keyword": "q", "number": "number",
}


# -- who may see what, as SQL ----------------------------------------------------------------------

def _is_lead_office_member(session: Session, staff: Staff) -> bool:
    if staff.department_id is None:
        return False
    department = session.get(Department, staff.department_id)
    return department is not None and department.kind is DepartmentKind.LEAD_OFFICE


def _in_lead_office_clause(session: Session, staff: Staff) -> sa.ColumnElement[bool]:
    """`permissions.in_lead_office` as a WHERE clause."""
    if staff.department_id is None:
        return sa.false()
    own = Complaint.lead_office_id == staff.department_id
    if _is_lead_office_member(session, staff):
        return sa.or_(own, Complaint.lead_office_id.is_(None))
    return own


def identity_clause(session: Session, staff: Staff, settings: WorkflowSettings) -> sa.ColumnElement[bool]:
    """True on the cases whose complainant ``staff`` may identify (`permissions.can_see_complainant`)."""
    if not staff.active:
        return sa.false()
    not_recused = sa.or_(Complaint.complained_staff_id.is_(None), Complaint.complained_staff_id != staff.id)
    if is_read_only(staff):
        return sa.and_(not_recused, sa.true() if settings.handling_department_sees_complainant else sa.false())
    if is_management(session, staff):
        return not_recused
    sees: list[sa.ColumnElement[bool]] = [_in_lead_office_clause(session, staff)]
    if settings.handling_department_sees_complainant:
        sees.append(Complaint.responsible_staff_id == staff.id)
        if staff.department_id is not None:
            sees.append(Complaint.handling_department_id == staff.department_id)
    return sa.and_(not_recused, sa.or_(*sees))


def full_phone_clause(session: Session, staff: Staff, settings: WorkflowSettings) -> sa.ColumnElement[bool]:
    """True on the cases where ``staff`` sees the phone unmasked (`scope.personal_data_access`)."""
    if not staff.active or is_read_only(staff):
        return sa.false()
    return sa.and_(identity_clause(session, staff, settings),
                   sa.or_(_in_lead_office_clause(session, staff), Complaint.responsible_staff_id == staff.id))


def _concat(*columns: Any) -> sa.ColumnElement[str]:
    """``coalesce(a, '') || ' ' || coalesce(b, '') ...``: IMMUTABLE on PostgreSQL, so it can be indexed."""
    parts: list[Any] = []
    for column in columns:
        if parts:
            parts.append(sa.literal_column("' '"))
        parts.append(sa.func.coalesce(column, sa.literal_column("''")))
    expression = parts[0]
    for part in parts[1:]:
        expression = expression.op("||")(part)
    return expression


def _public_text() -> sa.ColumnElement[str]:
    """What every reader of a case may search: number, product, spec, batch (index ix_complaint_public_trgm)."""
    return _concat(Complaint.number, Complaint.product_name, Complaint.spec_model, Complaint.batch)


def _identity_text() -> sa.ColumnElement[str]:
    """Who complained, without the phone (index ix_complaint_identity_trgm)."""
    return _concat(Complaint.complainant_name, Complaint.contact_person, Complaint.address)


def _like(keyword: str) -> str:
    escaped = keyword.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def keyword_clause(session: Session, staff: Staff, keyword: str,
                   settings: WorkflowSettings) -> sa.ColumnElement[bool]:
    """Cases matching ``keyword`` through what ``staff`` may see of them (see the module's docstring)."""
    pattern = _like(keyword)
    # Chinese and digits have no case: plain LIKE (several times cheaper than ILIKE on PostgreSQL's UTF-8)
    caseless = keyword.lower() == keyword.upper()

    def like(expression: Any) -> sa.ColumnElement[bool]:
        if caseless:
            return expression.like(pattern, escape="\\")
        return expression.ilike(pattern, escape="\\")

    identity = identity_clause(session, staff, settings)
    full_phone = full_phone_clause(session, staff, settings)
    arms = [like(_public_text()), sa.and_(identity, like(_identity_text()))]
    if _DIGIT.search(keyword):  # digits may be part of a phone: only where the reader sees phones in full
        arms += [sa.and_(full_phone, like(Complaint.description)), sa.and_(full_phone, like(Complaint.phone))]
    else:
        arms.append(like(Complaint.description))
    return sa.or_(*arms)


# -- the query -------------------------------------------------------------------------------------

def _shanghai_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(dt.UTC)


def overdue_clause(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Cases with a deadline breached, or open and past due before the sweep marked it (as the dashboard)."""
    return sa.exists().where(
        Deadline.complaint_id == Complaint.id,
        sa.or_(Deadline.status == DeadlineStatus.BREACHED,
               sa.and_(Deadline.status == DeadlineStatus.OPEN, Deadline.due_at < now)),
    )


def lead_offices(session: Session) -> list[Department]:
    """The ledgers one may choose (every active lead office; names are not confidential)."""
    return list(session.scalars(sa.select(Department).where(
        Department.kind == DepartmentKind.LEAD_OFFICE, Department.active.is_(True)).order_by(Department.id)))


def handling_departments(session: Session) -> list[Department]:
    return list(session.scalars(sa.select(Department).where(
        Department.kind != DepartmentKind.MANAGEMENT, Department.active.is_(True)).order_by(Department.id)))


def default_office(session: Session, staff: Staff) -> str:
    """A lead office's member sees its own ledger first; everyone else all the cases of their scope."""
    if not is_read_only(staff) and _is_lead_office_member(session, staff) and not has_role(staff, MANAGEMENT):
        department = session.get(Department, staff.department_id)
        assert department is not None
        return department.code
    return ALL_OFFICES


def effective_office(session: Session, staff: Staff, query: LedgerQuery) -> str:
    return query.office or default_office(session, staff)


def _department_id(session: Session, code: str, *, lead_office: bool) -> int | None:
    department = session.scalar(sa.select(Department).where(Department.code == code, Department.active.is_(True)))
    if department is None or (lead_office and department.kind is not DepartmentKind.LEAD_OFFICE):
        return None
    return department.id


def ledger_select(session: Session, staff: Staff, query: LedgerQuery, *, now: dt.datetime,
                  settings: WorkflowSettings) -> sa.Select[Complaint]:
    """``SELECT complaint`` for ``query`` inside ``staff``'s scope, ordered (no paging)."""
    errors: list[str] = []
    select = sa.select(Complaint).where(scope_clause(session, staff))
    office = effective_office(session, staff, query)
    if office == NO_OFFICE:
        select = select.where(Complaint.lead_office_id.is_(None))
    elif office != ALL_OFFICES:
        office_id = _department_id(session, office, lead_office=True)
        if office_id is None:
            errors.append(f"没有名为“{office}”的归口部门台账")
        select = select.where(Complaint.lead_office_id == office_id)
    if query.department is not None:
        department_id = _department_id(session, query.department, lead_office=False)
        if department_id is None:
            errors.append(f"没有代码为“{query.department}”的承办部门")
        select = select.where(Complaint.handling_department_id == department_id)
    if errors:
        raise LedgerQueryError(errors)
    if query.status == OPEN:
        select = select.where(Complaint.status.in_(sorted(OPEN_STATES)))
    elif query.status is not None:
        select = select.where(Complaint.status == ComplaintStatus(query.status))
    if query.category is not None:
        select = select.where(Complaint.category == query.category)
    if query.severity is not None:
        select = select.where(Complaint.severity == query.severity)
    if query.source is not None:
        select = select.where(Complaint.source == query.source)
    if query.received_from is not None:
        select = select.where(Complaint.received_at >= _shanghai_midnight(query.received_from))
    if query.received_to is not None:
        select = select.where(Complaint.received_at < _shanghai_midnight(query.received_to + dt.timedelta(days=1)))
    if query.number is not None:
        select = select.where(Complaint.number == query.number if len(query.number) == 8
                              else Complaint.number.startswith(query.number, autoescape=True))
    if query.keyword is not None:
        select = select.where(keyword_clause(session, staff, query.keyword, settings))
    if query.overdue:
        select = select.where(overdue_clause(now))
    return select.order_by(*_order(query))


def _order(query: LedgerQuery) -> list[Any]:
    def way(column: Any) -> Any:
        return column.desc() if query.descending else column.asc()

    if query.sort == "number":
        return [way(Complaint.number)]
    if query.sort == "due":
        due = Complaint.due_at.desc().nulls_last() if query.descending else Complaint.due_at.asc().nulls_last()
        return [due, way(Complaint.id)]
    if query.sort == "status":
        rank = sa.case({status.value: i for i, status in enumerate(STATUS_ORDER)}, value=Complaint.status)
        return [way(rank), Complaint.received_at.desc(), Complaint.id.desc()]
    return [way(Complaint.received_at), way(Complaint.id)]


def _postgres_custom_plans(session: Session) -> None:
    """A keyword is a bound parameter: PostgreSQL must plan with its value (trigram index or not), never
    with a generic plan cached after a few executions on one pooled connection."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _matching_ids(session: Session, select: sa.Select[Any], cap: int) -> list[int]:
    """The ids of at most ``cap + 1`` matching cases, in no particular order (so no index walk is forced)."""
    return list(session.scalars(select.order_by(None).with_only_columns(Complaint.id).limit(cap + 1)))


# -- what a reader sees ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerRow:
    """One case as one reader may see it: the page and the spreadsheet print these fields, nothing else."""

    number: str
    received_at: dt.datetime
    source: Source
    complainant: str  # 单位/姓名, or HIDDEN
    contact_person: str | None
    phone: str | None  # full, masked (138****8000) or HIDDEN
    address: str | None
    category: str
    severity: Severity
    urgent: bool
    status: ComplaintStatus
    lead_office: str | None
    handling_department: str | None
    responsible: str | None
    due_at: dt.datetime | None  # whole-case deadline
    next_due_label: str | None  # the earliest open deadline
    next_due_at: dt.datetime | None
    overdue: bool
    identity_shown: bool
    full_phone_shown: bool
    # the rest of the record, for the spreadsheet (filled by reader_rows(..., full=True))
    details: dict[str, Any] = field(default_factory=dict)


def _names(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in session.scalars(sa.select(model).where(model.id.in_(wanted)))}


def _chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _deadline_summary(session: Session, ids: Sequence[int], now: dt.datetime) -> dict[int, tuple[Any, bool]]:
    """Per case: its earliest open deadline (or None) and whether any deadline is overdue."""
    summary: dict[int, tuple[Any, bool]] = {}
    for chunk in _chunks(ids):
        rows = session.scalars(sa.select(Deadline).where(
            Deadline.complaint_id.in_(chunk),
            Deadline.status.in_([DeadlineStatus.OPEN, DeadlineStatus.BREACHED])).order_by(Deadline.due_at))
        for d in rows:
            first, overdue = summary.get(d.complaint_id, (None, False))
            if d.status is DeadlineStatus.OPEN and first is None:
                first = d
            overdue = overdue or d.status is DeadlineStatus.BREACHED or d.due_at < now
            summary[d.complaint_id] = (first, overdue)
    return summary


def _latest(session: Session, model: Any, ids: Sequence[int], *where: Any) -> dict[int, Any]:
    latest: dict[int, Any] = {}
    for chunk in _chunks(ids):
        for row in session.scalars(sa.select(model).where(model.complaint_id.in_(chunk), *where).order_by(model.id)):
            latest[row.complaint_id] = row  # ordered by id: the last one wins
    return latest


def reader_rows(session: Session, staff: Staff, complaints: Sequence[Complaint], *, now: dt.datetime,
                settings: WorkflowSettings, full: bool = False) -> list[LedgerRow]:
    """What ``staff`` sees of each case: the one function pages and exports print (the case page's rule)."""
    ids = [c.id for c in complaints]
    deadlines = _deadline_summary(session, ids, now)
    departments = _names(session, Department, [d for c in complaints
                                               for d in (c.lead_office_id, c.handling_department_id)])
    people = _names(session, Staff, [c.responsible_staff_id for c in complaints])
    investigations = _latest(session, Investigation, ids) if full else {}
    plans = _latest(session, Plan, ids, Plan.status != PlanStatus.SUPERSEDED) if full else {}
    if full:
        departments |= _names(session, Department, [
            *(i.responsible_department_id for i in investigations.values()),
            *(p.responsible_department_id for p in plans.values())])
    rows = []
    for c in complaints:
        access = personal_data_access(session, staff, c, settings)

        who, text, phone = access.who, access.text, access.phone(c.phone)
        next_deadline, overdue = deadlines.get(c.id, (None, False))
        details: dict[str, Any] = {}
        if full:
            investigation, plan = investigations.get(c.id), plans.get(c.id)
            details = {
                "product_name": c.product_name, "spec_model": c.spec_model, "batch": c.batch,
                "purchase_date": c.purchase_date, "quantity": c.quantity, "quantity_unit": c.quantity_unit,
                "problem_type": c.problem_type, "description": text(c.description),
                "usage_scenario": text(c.usage_scenario), "loss": text(c.loss), "demands": list(c.demands or []),
                "is_valid": c.is_valid, "invalid_reason": text(c.invalid_reason),
                "registered_at": c.registered_at, "result_text": text(c.result_text),
                "satisfaction_stars": c.satisfaction_stars, "satisfaction_score": c.satisfaction_score,
                "satisfaction_comment": text(c.satisfaction_comment), "reopen_count": c.reopen_count,
                "closed_at": c.closed_at, "retain_until": c.retain_until,
                "cause": investigation.cause if investigation else None,
                "responsibility": investigation.responsibility if investigation else None,
                "responsibility_type": investigation.responsibility_type if investigation else None,
                "responsible_department": departments.get(investigation.responsible_department_id or 0)
                if investigation else None,
                "measures": list(plan.measures or []) if plan else [],
                "amount": plan.amount if plan else None,
            }
        rows.append(LedgerRow(
            number=c.number, received_at=c.received_at, source=c.source,
            complainant=who(c.complainant_name) or "—", contact_person=who(c.contact_person), phone=phone,
            address=who(c.address), category=c.category, severity=c.severity, urgent=c.urgent, status=c.status,
            lead_office=departments.get(c.lead_office_id or 0),
            handling_department=departments.get(c.handling_department_id or 0),
            responsible=people.get(c.responsible_staff_id or 0), due_at=c.due_at,
            next_due_label=next_deadline.label if next_deadline else None,
            next_due_at=next_deadline.due_at if next_deadline else None, overdue=overdue,
            identity_shown=access.identity, full_phone_shown=access.full_phone, details=details,
        ))
    return rows


# -- one page, the whole export --------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerPage:
    query: LedgerQuery
    office: str  # the office actually shown (the default resolved)
    rows: list[LedgerRow]
    total: int  # exact up to COUNT_CAP; COUNT_CAP + 1 means "more than COUNT_CAP"
    page: int
    has_next: bool

    @property
    def more_than_cap(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def pages(self) -> int | None:
        """How many pages, when the count is exact."""
        return None if self.more_than_cap else max(1, -(-self.total // PAGE_SIZE))

    @property
    def first_row(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.rows)

    @property
    def personal_data_shown(self) -> bool:
        return any(r.identity_shown or r.full_phone_shown for r in self.rows)


def ledger_page(session: Session, staff: Staff, query: LedgerQuery, *, now: dt.datetime,
                settings: WorkflowSettings) -> LedgerPage:
    """One page (PAGE_SIZE rows) of ``query`` for ``staff``; `LedgerQueryError` for unknown codes.

    First the matching ids, unordered, at most COUNT_CAP + 1 of them: that is the count. When they are all
    there (a selective filter), the page is ordered among those ids only; otherwise (a broad one) the ordered
    query walks the sort index and stops after the page. Each of the two is fast where the other is slow
    on a million cases, and both order rows the same way (the same ORDER BY)."""
    _postgres_custom_plans(session)
    select = ledger_select(session, staff, query, now=now, settings=settings)
    ids = _matching_ids(session, select, COUNT_CAP)
    complaints: list[Complaint] = []
    if ids:
        ordered = select.where(Complaint.id.in_(ids)) if len(ids) <= COUNT_CAP else select
        complaints = list(session.scalars(ordered.limit(PAGE_SIZE + 1).offset((query.page - 1) * PAGE_SIZE)))
    has_next = len(complaints) > PAGE_SIZE and query.page * PAGE_SIZE < MAX_ROWS
    return LedgerPage(query=query, office=effective_office(session, staff, query),
                      rows=reader_rows(session, staff, complaints[:PAGE_SIZE], now=now, settings=settings),
                      total=len(ids), page=query.page, has_next=has_next)


class ExportTooLarge(LedgerQueryError):
    def __init__(self) -> None:
        super().__init__([f"筛选结果超过 {MAX_ROWS} 件，无法导出：请缩小筛选范围（如按月份、状态）后再导出"])


def export_rows(session: Session, staff: Staff, query: LedgerQuery, *, now: dt.datetime,
                settings: WorkflowSettings) -> list[LedgerRow]:
    """Every row of the filtered ledger (the page's filters and order, all pages), with the full record;
    `ExportTooLarge` past MAX_ROWS rows, so a spreadsheet is never silently cut short."""
    _postgres_custom_plans(session)
    select = ledger_select(session, staff, replace(query, page=1), now=now, settings=settings)
    complaints = list(session.scalars(select.limit(MAX_ROWS + 1)))
    if len(complaints) > MAX_ROWS:
        raise ExportTooLarge()
    return reader_rows(session, staff, complaints, now=now, settings=settings, full=True)


__all__ = [
    "ALL_OFFICES",
    "COUNT_CAP",
    "DEFAULT_DESCENDING",
    "HIDDEN",
    "MAX_ROWS",
    "NO_OFFICE",
    "OPEN",
    "PAGE_SIZE",
    "ExportTooLarge",
    "LedgerPage",
    "LedgerQuery",
    "LedgerQueryError",
    "LedgerRow",
    "default_office",
    "effective_office",
    "export_rows",
    "full_phone_clause",
    "handling_departments",
    "identity_clause",
    "keyword_clause",
    "lead_offices",
    "ledger_page",
    "ledger_select",
    "reader_rows",
]
