"""常见问题库: add, edit, disable through the console, placeholders checked, every change audited — and in force
for the next customer message in *every* process: an edit made through one app instance is answered by a
second instance sharing the database (two gunicorn workers), with no wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from bot import create_app
from bot.wechat_sim import WeChatSide
from handlers import faq
from handlers.config import load_policy
from handlers.context import HandlerContext
from storage.models import AuditEvent, FaqEntry
from tests.bot.console.admin_support import make_people, post_form, signed_in, texts
from tests.bot.console.support import csrf_token


def _entry(db, question: str) -> FaqEntry:
    with db.read_sessions() as s:
        entry = s.scalar(sa.select(FaqEntry).where(FaqEntry.question == question))
        assert entry is not None
        return entry


def _save(client, url: str, **fields: str) -> Any:
    page = client.get(url)
    assert page.status_code == 200
    data = {"question": "", "keywords": "", "answer": "", "position": "", **fields}
    return client.post(url, data={**data, "csrf_token": csrf_token(page.text)})


def _audit(db) -> list[tuple[str, str | None, str | None]]:
    with db.read_sessions() as s:
        return [(e.action, e.actor_label, e.subject) for e in s.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("faq.%")).order_by(AuditEvent.id))]


def test_the_list_shows_the_seeded_entries_and_an_office_clerk_edits_one(app, db, world) -> None:
    make_people(db, world)
    client = signed_in(app, "li.na")
    listing = client.get("/console/admin/faq/")
    assert listing.status_code == 200
    assert "你们的工作时间？" in listing.text and "{working_hours}" in listing.text  # seeded on first view
    entry = _entry(db, "你们的工作时间？")

    response = _save(client, f"/console/admin/faq/{entry.id}", question="你们的工作时间？",
                     keywords="工作时间，上班时间、 几点上班 周六", answer="工作日 {working_hours}；周六上午值班。",
                     position="2")
    assert response.status_code == 302
    saved = _entry(db, "你们的工作时间？")
    assert saved.keywords == ["工作时间", "上班时间", "几点上班", "周六"] and saved.position == 2
    assert saved.answer == "工作日 {working_hours}；周六上午值班。"
    after = texts(client.get("/console/admin/faq/").text)
    assert "已保存“你们的工作时间？”" in after
    assert _audit(db) == [("faq.updated", "李娜", f"faq:{entry.id}")]


def test_adding_and_disabling_an_entry(app, db, world) -> None:
    make_people(db, world)
    client = signed_in(app, "root")
    response = _save(client, "/console/admin/faq/new", question="能开发票吗？", keywords="发票、开票",
                     answer="可以，{company}开具增值税发票。")
    assert response.status_code == 302
    entry = _entry(db, "能开发票吗？")
    assert entry.active and entry.keywords == ["发票", "开票"]
    assert entry.position == len(faq.DEFAULT_ENTRIES) + 1  # the built-in entries were seeded first; it comes last

    response = post_form(client, f"/console/admin/faq/{entry.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert not _entry(db, "能开发票吗？").active
    listing = texts(client.get("/console/admin/faq/").text)
    assert "已停用“能开发票吗？”" in listing and "已停用" in listing
    post_form(client, f"/console/admin/faq/{entry.id}/active", {"active": "1"})
    assert _entry(db, "能开发票吗？").active
    assert [a for a, _, _ in _audit(db)] == ["faq.created", "faq.disabled", "faq.enabled"]


def test_the_editor_refuses_unknown_placeholders_duplicates_and_empty_fields(app, db, world) -> None:
    make_people(db, world)
    client = signed_in(app, "li.na")
    client.get("/console/admin/faq/")  # seeds
    refused = {
        "unknown placeholder": ({"question": "发票？", "keywords": "发票", "answer": "见 {invoice_link}"},
                                "{invoice_link}"),
        "stray brace": ({"question": "发票？", "keywords": "发票", "answer": "电话 {service_phone"},
                        "无法识别的占位符"),
        "duplicate": ({"question": "你们的工作时间？", "keywords": "时间", "answer": "x"}, "已有相同的问题"),
        "no keyword": ({"question": "发票？", "keywords": " 、 ", "answer": "有"}, "至少填写一个关键词"),
        "no answer": ({"question": "发票？", "keywords": "发票", "answer": "  "}, "请填写答案"),
        "no question": ({"question": "", "keywords": "发票", "answer": "有"}, "请填写问题"),
    }
    for name, (fields, message) in refused.items():
        response = _save(client, "/console/admin/faq/new", **fields)
        assert response.status_code == 400, name
        assert message in texts(response.text), name
        assert fields["keywords"].strip(" 、") in response.text, "what was typed is kept"
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(FaqEntry)) == len(faq.DEFAULT_ENTRIES)
    assert _audit(db) == []


def test_every_placeholder_the_editor_accepts_is_filled_in(db, company_config) -> None:
    ctx = HandlerContext(now=dt.datetime(2026, 2, 13, 2, tzinfo=dt.UTC), policy=load_policy(company_config))
    answer = " ".join(faq.PLACEHOLDERS)
    assert faq.unknown_placeholders(answer) == []
    filled = faq.fill(answer, ctx)
    assert "{" not in filled and "}" not in filled


def _ask(wechat: WeChatSide, app: Any, text: str, openid: str = "oFaqAsker000000000000000001") -> str:
    """Send ``text`` to ``app``'s /wechat as WeChat's servers would; the reply's text."""
    signed = wechat.sign(wechat.text(openid, text))
    response = app.test_client().post("/wechat", query_string=signed.params, data=signed.body,
                                      content_type="text/xml")
    assert response.status_code == 200
    return str(wechat.open_reply(response.data).get("Content", ""))


def test_an_edit_through_one_instance_is_answered_by_another_at_once(db, world, app_config, wechat) -> None:
    """Two app instances on one database in one process: instance B has answered (and cached) the FAQ before
    instance A's console edits it; B's very next answer uses the edit (an edit drops this process's copy):
    new answer, new keyword, a disabled entry no longer answering. Another process sees an edit within
    `faq.RECHECK_SECONDS` (tests/handlers/test_faq.py)."""
    make_people(db, world)
    worker_a = create_app(app_config, database=db)
    worker_b = create_app(app_config, database=db)
    assert "08:30–17:30" in _ask(wechat, worker_b, "你们几点上班？")  # B caches the seeded entries
    assert "0379-6000 0000" in _ask(wechat, worker_b, "客服电话多少？")

    console = signed_in(worker_a, "li.na")
    hours = _entry(db, "你们的工作时间？")
    phone = _entry(db, "怎么联系人工客服？")
    assert _save(console, f"/console/admin/faq/{hours.id}", question="你们的工作时间？", keywords="几点上班、周六值班",
                 answer="周六上午也有人值班（{working_hours}）。", position="5").status_code == 302
    assert post_form(console, f"/console/admin/faq/{phone.id}/active", {"active": "0"}).status_code == 302

    assert "周六上午也有人值班" in _ask(wechat, worker_b, "你们几点上班？")
    assert "周六上午也有人值班" in _ask(wechat, worker_b, "周六值班吗？")  # a keyword added in A
    assert "0379-6000 0000" not in _ask(wechat, worker_b, "客服电话多少？")  # disabled in A


def test_an_edit_stamped_by_a_slower_clock_is_still_seen(db, company_config) -> None:
    """The cache compares the table's stamp; an edit made by a process whose clock is behind moves the stamp
    forward anyway, so no worker keeps an old copy."""
    policy = load_policy(company_config)
    ctx = HandlerContext(now=dt.datetime(2026, 2, 13, 2, tzinfo=dt.UTC), policy=policy)
    with db.transaction() as s:
        assert faq.match(s, "你们几点上班？", ctx) is not None  # seeded (real clock) and cached
    with db.transaction() as s:
        entry = s.scalar(sa.select(FaqEntry).where(FaqEntry.question == "你们的工作时间？"))
        assert entry is not None
        latest = s.scalar(sa.select(sa.func.max(FaqEntry.updated_at)))
        long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
        faq.update_entry(s, entry, faq.FaqInput(entry.question, ("营业时间",), entry.answer), now=long_ago)
        assert entry.updated_at > latest
    with db.transaction() as s:
        assert faq.match(s, "你们几点上班？", ctx) is None  # the old keyword is gone everywhere
        found = faq.match(s, "营业时间？", ctx)
        assert found is not None and found.question == "你们的工作时间？"
