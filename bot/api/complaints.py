"""``/api/v1/complaints``: the list (the ledger's filters, cursor paging), one case, registering a case
from another channel (with ``Idempotency-Key``), its deadlines, timeline and attachments.

A case outside the caller's scope is 404, exactly like a number that does not exist
(`handlers.workflow.scope.find_visible`). Reading a case is audited like the console's case page
(``case.viewed``, with whether personal data was shown); so is downloading an attachment.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeAlias

import sqlalchemy as sa
from flask import send_file
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from bot.api.auth import blueprint, caller, token_id
from bot.api.errors import ApiError, ErrorModel, from_workflow, invalid, not_found
from bot.api.views import ComplaintDetail, ComplaintPage, Timeline, detail, summary, timeline
from bot.console.cases import ATTACHMENT_VIEWED, stored_file
from bot.console.security import origin
from bot.runtime import runtime
from handlers import audit
from handlers.intake.manual import MANUAL_SOURCES, read_entry, register_manual
from handlers.intake.submit import IncompleteDraft
from handlers.ledger import ALL_OFFICES, LedgerQuery, LedgerQueryError, ledger_select, reader_rows
from handlers.workflow.errors import WorkflowError
from handlers.workflow.scope import find_visible
from handlers.workflow.time_left import deadline_rows
from storage.models import ApiIdempotency, Attachment, Complaint, ComplaintStatus, Deadline, Severity, Source, Staff

bp = blueprint("complaints", "complaints", "投诉：列表、详情、登记、时限、时间线、附件")

MAX_LIMIT: Final = 100
NUMBER: Final = r"^\d{8}$"

if TYPE_CHECKING:  # the codes below are enumerated in the OpenAPI document; to mypy they are text
    Status: TypeAlias = str
    ManualSource: TypeAlias = str
    SeverityCode: TypeAlias = str
    SourceCode: TypeAlias = str
else:
    Status = Literal["open", *(s.value for s in ComplaintStatus)]
    ManualSource = Literal[*(s.value for s in MANUAL_SOURCES)]
    SeverityCode = Literal[*(s.value for s in Severity)]
    SourceCode = Literal[*(s.value for s in Source)]


class CasePath(BaseModel):
    number: str = Field(pattern=NUMBER, description="投诉编号（8 位数字）")


class AttachmentPath(CasePath):
    attachment_id: int = Field(ge=1, le=2**31 - 1)


class ListQuery(BaseModel):
    """The ledger's filters (handlers/ledger.py), and cursor paging in received order, newest first."""

    office: str | None = Field(None, max_length=64, description="归口部门代码；all（默认）为调用者可见的全部；"
                                                                 "none 为尚未分派归口部门的")
    status: Status | None = Field(None, description="状态，或 open（未办结）")
    category: str | None = Field(None, max_length=64)
    severity: SeverityCode | None = None
    department: str | None = Field(None, max_length=64, description="承办部门代码")
    source: SourceCode | None = None
    overdue: bool = False
    received_from: dt.date | None = Field(None, description="受理日期起（含），Asia/Shanghai")
    received_to: dt.date | None = Field(None, description="受理日期止（含）")
    q: str | None = Field(None, max_length=50, description="关键词（同台账：看不到的内容搜不到）")
    number: str | None = Field(None, pattern=r"^\d{1,8}$", description="编号或其前缀（如 2602）")
    cursor: str | None = Field(None, max_length=200, description="上一页的 next_cursor")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


def _encode_cursor(complaint: Complaint) -> str:
    raw = f"{complaint.received_at.astimezone(dt.UTC).isoformat()}|{complaint.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, ident = raw.partition("|")
        at = dt.datetime.fromisoformat(moment)
        if at.tzinfo is None or not ident.isdigit():
            raise ValueError(raw)
        return at, int(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise invalid("cursor", kind="cursor") from None


def _ledger_query(query: ListQuery) -> LedgerQuery:
    args: dict[str, Any] = {
        "office": query.office or ALL_OFFICES, "status": query.status, "category": query.category,
        "severity": query.severity, "department": query.department, "source": query.source,
        "overdue": "1" if query.overdue else None, "q": query.q, "number": query.number,
        "from": query.received_from.isoformat() if query.received_from else None,
        "to": query.received_to.isoformat() if query.received_to else None,
    }
    categories = [o.code for o in runtime().settings.policy.form.options_for("category")]
    try:
        return replace(LedgerQuery.parse({k: v for k, v in args.items() if v is not None}, categories=categories),
                       sort="received", descending=True)
    except LedgerQueryError as exc:
        raise invalid(None, reason=str(exc)) from None


@bp.get("/complaints", operation_id="list_complaints", summary="投诉列表（台账筛选，游标翻页）",
        responses={200: ComplaintPage})
def list_complaints(query: ListQuery) -> Any:
    rt = runtime()
    ledger = _ledger_query(query)
    after = _decode_cursor(query.cursor) if query.cursor else None
    now = rt.clock()
    with rt.db.read_sessions() as s:
        staff = caller(s)
        try:
            select = ledger_select(s, staff, ledger, now=now, settings=rt.settings.policy.workflow)
        except LedgerQueryError as exc:
            raise invalid("department" if query.department else "office", reason=str(exc)) from None
        if after is not None:
            at, ident = after
            select = select.where(sa.or_(Complaint.received_at < at,
                                         sa.and_(Complaint.received_at == at, Complaint.id < ident)))
        found = list(s.scalars(select.limit(query.limit + 1)))
        page = found[:query.limit]
        rows = reader_rows(s, staff, page, now=now, settings=rt.settings.policy.workflow)
        more = len(found) > query.limit
        body = ComplaintPage(items=[summary(r) for r in rows],
                             next_cursor=_encode_cursor(page[-1]) if more and page else None)
    return body.model_dump(mode="json")


def _visible(s: Session, staff: Staff, number: str) -> Complaint:
    complaint = find_visible(s, staff, number=number)
    if complaint is None:
        raise not_found("complaint")
    return complaint


@bp.get("/complaints/<number>", operation_id="get_complaint", summary="投诉详情（按调用者权限打码）",
        responses={200: ComplaintDetail, 404: ErrorModel})
def get_complaint(path: CasePath) -> Any:
    rt = runtime()
    with rt.db.transaction() as s:
        staff = caller(s)
        complaint = _visible(s, staff, path.number)
        body = detail(s, staff, complaint, rt.settings.policy)
        audit.record(s, audit.CASE_VIEWED, now=rt.clock(), origin=origin(), actor=staff, complaint=complaint,
                     personal_data=body.identity_shown or body.full_phone_shown,
                     details={"identity": body.identity_shown, "full_phone": body.full_phone_shown, "via": "api"})
    return body.model_dump(mode="json")


# -- registering a complaint from another channel -----------------------------------------------------


class CreateHeader(BaseModel):
    idempotency_key: str | None = Field(
        None, alias="Idempotency-Key", min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
        description="幂等键：同一键、同一内容的重试只登记一次，返回同一投诉；同一键、不同内容返回 409")


Answer = Annotated[str, Field(max_length=2000)] | Annotated[list[Annotated[str, Field(max_length=64)]],
                                                           Field(max_length=20)]


class CreateComplaint(BaseModel):
    """A complaint taken by another channel, with the intake form's answers (``[form]`` of tousu.toml)."""

    model_config = ConfigDict(extra="forbid")

    source: ManualSource = Field(description="投诉来源：phone 电话/热线、government 政府平台（12345）、oa、email…")
    received_at: AwareDatetime = Field(description="实际收到时间（带时区），不得晚于现在、不得早于一年前")
    answers: dict[Annotated[str, Field(max_length=64)], Answer] = Field(
        max_length=40, description="表单各步骤的答案，键为步骤 key（category、description、phone…）；"
                                   "选择题给选项代码（数组），其余给文本")
    note: str | None = Field(None, max_length=2000, description="登记备注（仅内部可见）")


class Created(BaseModel):
    number: str
    status: str
    visible: bool = Field(description="调用者能否查看该投诉（按类型转给其他归口部门时为 false）")
    replayed: bool = Field(description="true：同一幂等键的重试，返回的是第一次登记的投诉")


def _body_hash(body: CreateComplaint) -> str:
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _replay(s: Session, key: str, digest: str) -> str | None:
    """The number an earlier request with ``key`` filed (None if none); 409 if its body differed."""
    seen = s.scalar(sa.select(ApiIdempotency).where(ApiIdempotency.token_id == token_id(),
                                                    ApiIdempotency.key == key))
    if seen is None:
        return None
    if seen.body_hash != digest:
        raise ApiError(409, "idempotency_conflict", key=key)
    complaint = s.get(Complaint, seen.complaint_id) if seen.complaint_id is not None else None
    if complaint is None:
        raise not_found("complaint")
    return complaint.number


def _created(s: Session, staff: Staff, number: str, replayed: bool) -> dict[str, Any]:
    complaint = s.scalar(sa.select(Complaint).where(Complaint.number == number))
    assert complaint is not None
    visible = find_visible(s, staff, complaint_id=complaint.id) is not None
    return Created(number=number, status=complaint.status.value, visible=visible,
                   replayed=replayed).model_dump(mode="json")


@bp.post("/complaints", operation_id="create_complaint", summary="登记投诉（电话、12345、OA 等渠道）",
         responses={201: Created, 200: Created, 403: ErrorModel, 409: ErrorModel})
def create_complaint(header: CreateHeader, body: CreateComplaint) -> Any:
    rt = runtime()
    ctx = rt.context()
    policy = rt.settings.policy
    entry = read_entry(policy.form, {k: v for k, v in body.answers.items()}, today=ctx.today)
    if not entry.ok:
        first = sorted(entry.errors)[0]
        raise invalid(f"answers.{first}", reason=entry.errors[first])
    key: str | None = header.idempotency_key
    digest = _body_hash(body)
    for attempt in range(2):
        try:
            with rt.db.transaction() as s:
                staff = caller(s)
                if key is not None:
                    number = _replay(s, key, digest)
                    if number is not None:
                        return _created(s, staff, number, replayed=True), 200
                    claim = ApiIdempotency(token_id=token_id(), key=key, body_hash=digest, created_at=ctx.now)
                    s.add(claim)
                    s.flush()  # the unique (token, key): a concurrent twin waits here, then fails and replays
                try:
                    complaint = register_manual(s, staff, ctx, source=body.source, received_at=body.received_at,
                                                answers=entry.answers, note=body.note)
                except IncompleteDraft as exc:
                    raise invalid(f"answers.{exc.keys[0]}", kind="missing") from None
                except WorkflowError as exc:
                    raise from_workflow(exc) from None
                if key is not None:
                    claim.complaint_id = complaint.id
                return _created(s, staff, complaint.number, replayed=False), 201
        except sa.exc.IntegrityError:
            if key is None or attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# -- deadlines, timeline, attachments ---------------------------------------------------------------


class DeadlineItem(BaseModel):
    label: str
    milestone: str
    due_at: dt.datetime
    status: str
    state: str
    extended: bool
    left: int | None = Field(description="剩余（负数为超期）；单位见 unit；已满足或取消时为 null")
    unit: Literal["working_days", "minutes"]
    met_at: dt.datetime | None
    breached_at: dt.datetime | None


class Deadlines(BaseModel):
    items: list[DeadlineItem]


@bp.get("/complaints/<number>/deadlines", operation_id="get_deadlines", summary="处理时限",
        responses={200: Deadlines, 404: ErrorModel})
def get_deadlines(path: CasePath) -> Any:
    rt = runtime()
    with rt.db.read_sessions() as s:
        complaint = _visible(s, caller(s), path.number)
        rows = list(s.scalars(sa.select(Deadline).where(Deadline.complaint_id == complaint.id)
                              .order_by(Deadline.due_at, Deadline.id)))
        items = [DeadlineItem(label=r.deadline.label, milestone=r.deadline.milestone, due_at=r.deadline.due_at,
                              status=r.deadline.status.value, state=r.state.value, extended=r.deadline.extended,
                              left=r.left, unit="working_days" if r.working_days else "minutes",
                              met_at=r.deadline.met_at, breached_at=r.deadline.breached_at)
                 for r in deadline_rows(s, complaint, rows, rt.clock(), rt.settings.policy)]
    return Deadlines(items=items).model_dump(mode="json")


@bp.get("/complaints/<number>/timeline", operation_id="get_timeline", summary="时间线（按调用者权限打码）",
        responses={200: Timeline, 404: ErrorModel})
def get_timeline(path: CasePath) -> Any:
    rt = runtime()
    with rt.db.read_sessions() as s:
        staff = caller(s)
        complaint = _visible(s, staff, path.number)
        body = timeline(s, staff, complaint, rt.settings.policy)
    return body.model_dump(mode="json")


class AttachmentItem(BaseModel):
    id: int
    kind: str
    created_at: dt.datetime
    downloaded: bool = Field(description="文件已保存在服务器上，可通过 file 地址下载")


class Attachments(BaseModel):
    items: list[AttachmentItem]


@bp.get("/complaints/<number>/attachments", operation_id="list_attachments", summary="附件列表",
        responses={200: Attachments, 404: ErrorModel})
def list_attachments(path: CasePath) -> Any:
    rt = runtime()
    with rt.db.read_sessions() as s:
        complaint = _visible(s, caller(s), path.number)
        rows = s.scalars(sa.select(Attachment).where(Attachment.complaint_id == complaint.id).order_by(Attachment.id))
        items = [AttachmentItem(id=a.id, kind=a.kind.value, created_at=a.created_at,
                                downloaded=stored_file(a) is not None) for a in rows]
    return Attachments(items=items).model_dump(mode="json")


_FILE = {"description": "附件文件", "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                      "format": "binary"}}}}


@bp.get("/complaints/<number>/attachments/<int:attachment_id>/file", operation_id="download_attachment",
        summary="下载附件", responses={200: _FILE, 404: ErrorModel})
def download_attachment(path: AttachmentPath) -> Any:
    rt = runtime()
    with rt.db.transaction() as s:
        staff = caller(s)
        complaint = _visible(s, staff, path.number)
        found = s.get(Attachment, path.attachment_id)
        if found is None or found.complaint_id != complaint.id:
            raise not_found("attachment")
        stored = stored_file(found)
        if stored is None:
            raise not_found("file")
        audit.record(s, ATTACHMENT_VIEWED, now=rt.clock(), origin=origin(), actor=staff, complaint=complaint,
                     personal_data=True, details={"attachment_id": found.id, "kind": found.kind.value, "via": "api"})
    return send_file(stored, mimetype="application/octet-stream", as_attachment=True,
                     download_name=f"{path.number}-{path.attachment_id}{stored.suffix}", max_age=0)


__all__ = ["CasePath", "bp"]
