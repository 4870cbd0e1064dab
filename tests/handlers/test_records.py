"""Record keeping: a closed case is kept ``retention_years`` after closing (Asia/Shanghai days), then listed;
it is destroyed only after management's approval on the case; destruction keeps the figures and removes the
personal data and the evidence files. `tousu records purge [--dry-run]` runs it. A follower who unsubscribes
loses their draft, never their filed cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import main
from handlers import audit
from handlers.evidence import remove_files
from handlers.intake import forget_customer
from handlers.records import (
    APPROVED,
    AUDIT_APPROVED,
    DESTROYED,
    approve_destruction,
    destroy_approved,
    due_cases,
)
from handlers.workflow.errors import CaseChanged, PermissionDenied, PreconditionFailed
from handlers.workflow.transitions import Actor, log_event
from storage.models import (
    Attachment,
    AttachmentKind,
    AuditEvent,
    Complaint,
    ComplaintStatus,
    Deadline,
    DeadlineStatus,
    Investigation,
    PerformanceKind,
    PerformanceRecord,
    Severity,
    Staff,
    Survey,
    SurveyStatus,
    TimelineEvent,
)
from tests.handlers.test_workflow_support import local, make_complaint, make_world

YEARS = 3
CLOSED = local(2023, 3, 1, 9, 30)  # closed on 1 March 2023, Asia/Shanghai
LAST_KEPT_DAY = local(2026, 2, 28, 23, 59)  # still inside the 3 years
FIRST_DUE_DAY = local(2026, 3, 1, 0, 0)  # due from the first moment of 1 March 2026, Shanghai time


def _closed_case(world, files: Path, *, number: str, closed_at: dt.datetime = CLOSED,
                 retain_until: dt.date | None = dt.date(2026, 3, 1)) -> Complaint:
    """A closed case with everything destruction must handle: personal data in the record and in texts, a
    survey comment, investigation notes, a timeline note, an evidence file, a performance record."""
    s = world.session
    c = make_complaint(world, number=number, received_at=closed_at - dt.timedelta(days=10),
                       complainant_name="洛阳某某机械厂", contact_person="王工", phone="+8613800138000",
                       address="洛阳市涧西区某路1号", description="划痕，请打 13900139000 找王工",
                       usage_scenario="车间", loss="约三万元", severity=Severity.MAJOR, open_deadlines=False)
    c.status = ComplaintStatus.CLOSED
    c.closed_at = closed_at
    c.retain_until = retain_until
    c.handling_department_id = world.dept("production").id
    c.responsible_staff_id = world["zhao.lei"].id
    c.result_text = "已更换，王工签收"
    c.satisfaction_stars, c.satisfaction_score, c.satisfaction_comment = 5, 100, "王工很满意"
    s.add(Investigation(complaint_id=c.id, started_at=closed_at - dt.timedelta(days=8), findings="王工说明情况",
                        cause="production_process", cause_note="电话 13900139000"))
    survey = Survey(complaint_id=c.id, round=0, status=SurveyStatus.ANSWERED, sent_at=closed_at,
                    remind_at=closed_at, expires_at=closed_at, answered_at=closed_at, stars=5, score=100,
                    comment="王工很满意", channel="wechat")
    s.add(survey)
    s.flush()
    s.add(PerformanceRecord(kind=PerformanceKind.PRAISE, complaint_id=c.id, survey_id=survey.id,
                            staff_id=world["zhao.lei"].id, department_id=world.dept("production").id, stars=5,
                            at=closed_at, note="客户王工表扬"))
    log_event(s, c, "progress_note", Actor.of(world["li.na"]), closed_at - dt.timedelta(days=5),
              {"note": "已致电 13900139000"})
    attachment = Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, meta={})
    s.add(attachment)
    s.flush()
    relative = f"{attachment.id // 1000:03d}/{attachment.id}.jpg"
    (files / relative).parent.mkdir(parents=True, exist_ok=True)
    (files / relative).write_bytes(b"\xff\xd8\xff photo")
    attachment.meta = {"path": relative}
    s.flush()
    return c


@pytest.fixture
def world(db, app_config):
    with db.transaction() as s:
        w = make_world(s, app_config["COMPANY"])
    return w


def _staff(s, userid: str) -> Staff:
    return s.scalars(sa.select(Staff).where(Staff.wecom_userid == userid)).one()


def _numbers(db, now: dt.datetime) -> list[str]:
    with db.read_sessions() as s:
        return [c.number for c in due_cases(s, now=now, years=YEARS)]


def test_kept_until_the_years_are_over_in_shanghai_days(db, world, tmp_path) -> None:
    with db.transaction() as s:
        world.session = s
        _closed_case(world, tmp_path, number="23030001")
        # closed later the same day in UTC terms, but 2 March in Shanghai: due a day later
        _closed_case(world, tmp_path, number="23030002", closed_at=local(2023, 3, 2, 0, 30),
                     retain_until=dt.date(2026, 3, 2))
        # kept longer: its retain_until (set when the setting was 5 years) wins
        _closed_case(world, tmp_path, number="23030003", retain_until=dt.date(2028, 3, 1))
        # still open: never due
        open_case = make_complaint(world, number="23030004", received_at=local(2023, 1, 5))
        open_case.status = ComplaintStatus.INVESTIGATING
    assert _numbers(db, LAST_KEPT_DAY) == []
    assert _numbers(db, FIRST_DUE_DAY) == ["23030001"]
    assert _numbers(db, local(2026, 3, 2, 8, 0)) == ["23030001", "23030002"]
    assert _numbers(db, local(2028, 3, 1, 8, 0)) == ["23030001", "23030003", "23030002"]  # by closing time


def test_not_destroyed_without_approval(db, world, tmp_path) -> None:
    with db.transaction() as s:
        world.session = s
        _closed_case(world, tmp_path, number="23030001")
    with db.transaction() as s:
        report = destroy_approved(s, now=FIRST_DUE_DAY, years=YEARS, dry_run=False)
    assert [c.number for c in report.waiting] == ["23030001"] and report.destroyed == [] and report.files == []
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == "23030001"))
        assert c.complainant_name == "洛阳某某机械厂" and c.phone == "+8613800138000"
        assert s.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


def test_only_management_approves_and_only_due_cases(db, world, tmp_path) -> None:
    with db.transaction() as s:
        world.session = s
        case = _closed_case(world, tmp_path, number="23030001")
        young = _closed_case(world, tmp_path, number="24030001", closed_at=local(2024, 3, 1),
                             retain_until=dt.date(2027, 3, 1))
        ids = {"due": (case.id, case.version), "young": (young.id, young.version)}
    with db.transaction() as s:
        for userid in ("li.na", "zhao.lei", "zhang.wei"):  # office head, handling head, general office head
            staff = _staff(s, userid)
            with pytest.raises(PermissionDenied):
                approve_destruction(s, staff, *ids["due"], now=FIRST_DUE_DAY, years=YEARS, origin=audit.CLI)
        boss = _staff(s, "wu.fang")
        with pytest.raises(PreconditionFailed):
            approve_destruction(s, boss, *ids["young"], now=FIRST_DUE_DAY, years=YEARS, origin=audit.CLI)
        with pytest.raises(CaseChanged):  # a stale page
            approve_destruction(s, boss, ids["due"][0], ids["due"][1] - 1, now=FIRST_DUE_DAY, years=YEARS,
                                origin=audit.CLI)
    with db.transaction() as s:
        boss = _staff(s, "wu.fang")
        approve_destruction(s, boss, *ids["due"], now=FIRST_DUE_DAY, years=YEARS, origin=audit.CLI)
    with db.read_sessions() as s:
        (listed,) = due_cases(s, now=FIRST_DUE_DAY, years=YEARS)
        assert listed.approved_by == "吴芳" and listed.approved_at is not None
        event = s.scalar(sa.select(TimelineEvent).where(TimelineEvent.action == APPROVED))
        assert event.complaint_id == ids["due"][0] and event.details["by"] == "吴芳"
        trail = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == AUDIT_APPROVED))
        assert trail.actor_label == "吴芳" and trail.subject == "23030001"
    with db.transaction() as s, pytest.raises(PreconditionFailed):  # approved once only
        boss = _staff(s, "wu.fang")
        version = s.get(Complaint, ids["due"][0]).version
        approve_destruction(s, boss, ids["due"][0], version, now=FIRST_DUE_DAY, years=YEARS, origin=audit.CLI)


def _approve(db, world, number: str, at: dt.datetime = FIRST_DUE_DAY) -> None:
    with db.transaction() as s:
        boss = _staff(s, "wu.fang")
        c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
        approve_destruction(s, boss, c.id, c.version, now=at, years=YEARS, origin=audit.CLI)


def test_destruction_keeps_figures_and_removes_personal_data_and_files(db, world, tmp_path) -> None:
    with db.transaction() as s:
        world.session = s
        c = _closed_case(world, tmp_path, number="23030001")
        s.add(Deadline(complaint_id=c.id, preset="general", milestone="whole_case", label="整体处理时限",
                       anchor_event="received", anchor_at=c.received_at, met_by="closed", severity=Severity.MAJOR,
                       due_at=CLOSED, status=DeadlineStatus.MET, met_at=CLOSED - dt.timedelta(days=1)))
        photo = tmp_path / s.scalar(sa.select(Attachment).where(Attachment.complaint_id == c.id)).meta["path"]
        kept = _closed_case(world, tmp_path, number="23030002")  # due too, not approved: untouched
    _approve(db, world, "23030001")
    with db.transaction() as s:
        report = destroy_approved(s, now=FIRST_DUE_DAY, years=YEARS, dry_run=False)
    assert report.destroyed == ["23030001"] and [w.number for w in report.waiting] == ["23030002"]
    assert remove_files(tmp_path, report.files) == 1
    assert not photo.exists()
    with db.read_sessions() as s:
        c = s.scalar(sa.select(Complaint).where(Complaint.number == "23030001"))
        # personal data gone
        assert (c.complainant_name, c.contact_person, c.phone, c.address, c.openid) == ("", None, None, None, None)
        assert (c.description, c.usage_scenario, c.loss, c.result_text, c.satisfaction_comment) == (
            "", None, None, None, None)
        assert s.scalar(sa.select(sa.func.count()).select_from(Attachment)
                        .where(Attachment.complaint_id == c.id)) == 0
        inv = s.scalar(sa.select(Investigation).where(Investigation.complaint_id == c.id))
        assert inv.findings is None and inv.cause_note is None and inv.cause == "production_process"
        survey = s.scalar(sa.select(Survey).where(Survey.complaint_id == c.id))
        assert survey.comment is None and (survey.stars, survey.score) == (5, 100)
        record = s.scalar(sa.select(PerformanceRecord).where(PerformanceRecord.complaint_id == c.id))
        assert record.note == "" and record.kind is PerformanceKind.PRAISE
        dump = repr([e.details for e in s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id))])
        assert "13900139000" not in dump and "王工" not in dump
        # figures kept
        assert (c.number, c.category, c.severity, c.status) == ("23030001", "product_quality", Severity.MAJOR,
                                                                 ComplaintStatus.CLOSED)
        assert (c.closed_at, c.received_at) == (CLOSED, CLOSED - dt.timedelta(days=10))
        assert c.handling_department_id == world.dept("production").id
        assert (c.satisfaction_stars, c.satisfaction_score) == (5, 100)
        deadline = s.scalar(sa.select(Deadline).where(Deadline.complaint_id == c.id,
                                                      Deadline.milestone == "whole_case"))
        assert deadline.status is DeadlineStatus.MET and deadline.met_at < deadline.due_at
        actions = [e.action for e in s.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id)
                                               .order_by(TimelineEvent.id))]
        assert actions[-2:] == [APPROVED, DESTROYED] and "progress_note" in actions  # every row kept
        # the other case is whole, and no longer due twice
        other = s.get(Complaint, kept.id)
        assert other.phone == "+8613800138000" and other.description.startswith("划痕")
        assert [d.number for d in due_cases(s, now=FIRST_DUE_DAY, years=YEARS)] == ["23030002"]
    with db.transaction() as s:  # a second run destroys nothing more
        assert destroy_approved(s, now=FIRST_DUE_DAY, years=YEARS, dry_run=False).destroyed == []


def test_approval_before_a_reopening_does_not_count(db, world, tmp_path) -> None:
    with db.transaction() as s:
        world.session = s
        _closed_case(world, tmp_path, number="23030001")
    _approve(db, world, "23030001")
    with db.transaction() as s:  # closed again later (as after a reopening): the old approval is void
        c = s.scalar(sa.select(Complaint).where(Complaint.number == "23030001"))
        c.closed_at = FIRST_DUE_DAY + dt.timedelta(hours=1)
        c.retain_until = None
    later = FIRST_DUE_DAY.replace(year=2029) + dt.timedelta(days=2)
    with db.transaction() as s:
        report = destroy_approved(s, now=later, years=YEARS, dry_run=False)
    assert report.destroyed == [] and [c.number for c in report.waiting] == ["23030001"]


@pytest.fixture
def tousu(db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TOUSU_ATTACHMENT_DIR", str(tmp_path / "files"))
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return lambda *args: CliRunner().invoke(main, list(args))


def test_purge_command(db, world, tousu, tmp_path) -> None:
    """Real time: cases closed four years ago are due today, whatever today is."""
    files = tmp_path / "files"
    today = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        world.session = s
        for number in ("22010001", "22010002"):
            _closed_case(world, files, number=number, closed_at=today - dt.timedelta(days=4 * 366),
                         retain_until=None)
    _approve(db, world, "22010001", at=today)
    dry = tousu("records", "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "22010001" in dry.output and "将销毁" in dry.output and "22010002  " in dry.output
    assert "待批准（不销毁）" in dry.output and "演练模式" in dry.output
    assert len(list(files.rglob("*.jpg"))) == 2
    with db.read_sessions() as s:
        assert s.scalar(sa.select(Complaint.phone).where(Complaint.number == "22010001")) == "+8613800138000"
    done = tousu("records", "purge")
    assert done.exit_code == 0, done.output
    assert "destroyed 1 approved (1 evidence files removed)" in done.output
    assert len(list(files.rglob("*.jpg"))) == 1
    with db.read_sessions() as s:
        phones = dict(s.execute(sa.select(Complaint.number, Complaint.phone)).all())
    assert phones == {"22010001": None, "22010002": "+8613800138000"}


def test_unsubscribing_keeps_filed_cases(db, world, tmp_path) -> None:
    openid = "oCUSTOMER0000000000000001"
    with db.transaction() as s:
        world.session = s
        c = _closed_case(world, tmp_path, number="23030001")
        assert c.openid == openid
        s.add(Attachment(draft_openid=openid, kind=AttachmentKind.IMAGE, meta={}))  # an unfinished draft's photo
    with db.transaction() as s:
        forget_customer(s, openid)
    with db.read_sessions() as s:
        kept = s.scalar(sa.select(Complaint).where(Complaint.number == "23030001"))
        assert kept is not None and kept.openid == openid and kept.phone == "+8613800138000"
        assert s.scalar(sa.select(sa.func.count()).select_from(Attachment)
                        .where(Attachment.complaint_id == kept.id)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(Attachment)
                        .where(Attachment.draft_openid == openid, Attachment.complaint_id.is_(None))) == 0


def test_two_purges_at_once_destroy_each_case_once(db, world, tmp_path) -> None:
    """Each run locks a case and checks again under the lock, so a case is destroyed (and audited) once."""
    from tests.conftest import run_concurrently

    with db.transaction() as s:
        world.session = s
        for i in range(3):
            _closed_case(world, tmp_path, number=f"2303000{i}")
    for i in range(3):
        _approve(db, world, f"2303000{i}")

    def purge() -> list[str]:
        with db.transaction() as s:
            return destroy_approved(s, now=FIRST_DUE_DAY, years=YEARS, dry_run=False).destroyed

    results, errors = run_concurrently(purge, [(), ()])
    assert errors == []
    assert sorted(n for r in results for n in r) == ["23030000", "23030001", "23030002"]
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)
                        .where(TimelineEvent.action == DESTROYED)) == 3


def test_destruction_removes_the_cases_sent_messages_and_their_dev_sink_rows(db, world, tmp_path) -> None:
    """The outbox and dev sink rows of a destroyed case (texts to the customer and to staff) go with it; another
    case's stay. (Rows older than ``message_log_days`` are emptied anyway: tests/handlers/test_message_log.py.)"""
    from storage.models import DevSinkMessage, OutboxChannel, OutboxMessage, OutboxStatus
    from storage.outbox import queue_customer_text, queue_staff_text

    with db.transaction() as s:
        world.session = s
        ids = {}
        for number in ("23030001", "23030002"):
            c = _closed_case(world, tmp_path, number=number)
            for key, message in (
                ("customer", queue_customer_text(s, "oCUSTOMER0000000000000001", "王工您好，结果如下",
                                                 now=CLOSED, dedupe_key=f"wf:{c.id}:closed", complaint_id=c.id)),
                ("staff", queue_staff_text(s, ["zhao.lei"], "王工的投诉已办结", now=CLOSED,
                                           dedupe_key=f"wf:{c.id}:staff", complaint_id=c.id)),
            ):
                assert message is not None
                message.status = OutboxStatus.SENT
                s.add(DevSinkMessage(channel=OutboxChannel.WECHAT_CUSTOM, recipient=message.recipient,
                                     payload=message.payload, outbox_id=message.id, created_at=CLOSED))
                ids[(number, key)] = message.id
    _approve(db, world, "23030001")
    with db.transaction() as s:
        assert destroy_approved(s, now=FIRST_DUE_DAY, years=YEARS, dry_run=False).destroyed == ["23030001"]
    with db.read_sessions() as s:
        outbox = set(s.scalars(sa.select(OutboxMessage.id)))
        sink = set(s.scalars(sa.select(DevSinkMessage.outbox_id)))
    assert outbox == sink == {ids[("23030002", "customer")], ids[("23030002", "staff")]}
