"""FAQ: seeded entries answer matching questions before a complaint is offered; the menu lists them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from handlers import faq
from handlers.config import load_policy
from handlers.context import HandlerContext
from handlers.faq import DEFAULT_ENTRIES, RECHECK_SECONDS, FaqSeed, ensure_seeded, match, seed_faq
from storage.db import Database
from storage.models import FaqEntry
from tests.handlers.test_intake_chat import NOW, Chat


def _match(db: Database, company: dict[str, Any], text: str) -> str | None:
    with db.transaction() as s:
        entry = match(s, text, HandlerContext(now=NOW, policy=load_policy(company)))
        return entry.question if entry is not None else None


@pytest.mark.parametrize(("text", "question"), [
    ("投诉处理要多久？", "投诉处理需要多长时间？"),
    ("请问怎么查进度", "怎么查询投诉进度？"),
    ("要准备什么材料吗", "投诉需要准备哪些材料？"),
    ("客服电话多少", "怎么联系人工客服？"),
    ("你们几点上班", "你们的工作时间？"),
    ("我的信息会保密吗", "我的信息会保密吗？"),
    ("对结果不满意怎么办", "对处理结果不满意怎么办？"),
    ("怎么退货", "退换货怎么办理？"),
])
def test_questions_match_their_entry(db: Database, company_config: dict[str, Any], text: str, question: str) -> None:
    assert _match(db, company_config, text) == question


@pytest.mark.parametrize("text", [
    "上周买的铝板表面全是划痕，要求换货，电话13800138000，你们尽快处理",  # a complaint, not a question
    "你好",
    "",
])
def test_statements_and_greetings_do_not_match(db: Database, company_config: dict[str, Any], text: str) -> None:
    assert _match(db, company_config, text) is None


def test_seeding_happens_once(db: Database, company_config: dict[str, Any]) -> None:
    with db.transaction() as s:
        ensure_seeded(s, load_policy(company_config).faq)
        ensure_seeded(s, load_policy(company_config).faq)
        assert s.scalar(sa.select(sa.func.count()).select_from(FaqEntry)) == len(DEFAULT_ENTRIES)
        assert seed_faq(s, DEFAULT_ENTRIES) == 0, "existing questions are not inserted again"


def test_configured_seeds_replace_the_built_in_ones(db: Database, company_config: dict[str, Any]) -> None:
    company = company_config | {"faq": [{"question": "有发票吗？", "keywords": ["发票"], "answer": "有。"}]}
    assert _match(db, company, "能开发票吗") == "有发票吗？"
    assert _match(db, company, "投诉处理要多久？") is None


def test_disabled_entries_do_not_answer(db: Database, company_config: dict[str, Any]) -> None:
    with db.transaction() as s:
        ensure_seeded(s, load_policy(company_config).faq)
        s.execute(sa.update(FaqEntry).where(FaqEntry.question == "你们的工作时间？").values(active=False))
    assert _match(db, company_config, "你们几点上班") is None


def test_an_edit_made_by_another_process_is_in_force_within_the_recheck_interval(
        db: Database, company_config: dict[str, Any]) -> None:
    """Another process (a second gunicorn worker, the CLI) edits the table behind this process's copy: the
    copy answers until `RECHECK_SECONDS` have passed, then the stamp is read again and the edit is in force.
    Within the interval the copy costs no query at all."""
    ctx = HandlerContext(now=NOW, policy=load_policy(company_config))
    clock = [1000.0]

    def entries(s: sa.orm.Session) -> set[str]:
        found = faq._active(s, ctx.policy.faq, clock=lambda: clock[0])
        return {k for entry in found for k in entry.keywords}

    with db.transaction() as s:
        assert "几点上班" in entries(s)  # seeded and copied
    with db.transaction() as s:  # the other process, through no function of this one
        latest = s.scalar(sa.select(sa.func.max(FaqEntry.updated_at)))
        s.execute(sa.update(FaqEntry).where(FaqEntry.question == "你们的工作时间？")
                  .values(keywords=["营业时间"], updated_at=latest + dt.timedelta(seconds=1)))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        clock[0] += RECHECK_SECONDS / 2
        with db.transaction() as s:
            assert "几点上班" in entries(s), "within the interval the copy answers"
        assert not [q for q in statements if "faq_entry" in q], "and costs no query"
        clock[0] += RECHECK_SECONDS
        with db.transaction() as s:
            keywords = entries(s)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert "营业时间" in keywords and "几点上班" not in keywords


def test_staff_entries_win_over_seeding(db: Database, company_config: dict[str, Any]) -> None:
    with db.transaction() as s:
        seed_faq(s, [FaqSeed("自定义问题？", ("自定义",), "自定义答案")])
    assert _match(db, company_config, "自定义是什么") == "自定义问题？"
    assert _match(db, company_config, "投诉处理要多久？") is None, "a table with rows is never re-seeded"


def test_a_faq_answer_in_the_chat_fills_placeholders(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config)
    reply = chat.send("客服电话多少？")
    assert chat.handlers[-1] == "faq"
    assert "0379-6000 0000" in reply and "{service_phone}" not in reply and "回复“投诉”" in reply
    assert "08:30–17:30" in chat.send("你们几点上班？")


def test_the_faq_menu_and_its_numbers(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config)
    menu = chat.click("FAQ")
    assert "常见问题（回复序号查看）" in menu and "1. 投诉处理需要多长时间？" in menu
    reply = chat.send("2")
    assert "回复“查询”" in reply and "回复其他序号" in reply
    assert "保密" in chat.send("6")
    assert chat.handlers[-1] == "faq"
    chat.send("你好")
    assert chat.handlers[-1] == "help", "anything else closes the menu"
    chat.send("2")
    assert chat.handlers[-1] != "faq"


@pytest.mark.parametrize("typed", ["常见问题", "常见问题。", "FAQ"])
def test_typing_the_menu_buttons_words_opens_the_faq_menu(db: Database, company_config: dict[str, Any],
                                                          typed: str) -> None:
    chat = Chat(db, company_config)
    menu = chat.send(typed)
    assert chat.handlers[-1] == "faq_menu" and "1. 投诉处理需要多长时间？" in menu
    assert "保密" in chat.send("6")


def test_the_faq_menu_expires(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config)
    chat.click("FAQ")
    chat.advance(hours=1)
    chat.send("1")
    assert chat.handlers[-1] != "faq"


def test_the_faq_menu_during_a_draft_keeps_the_draft(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config)
    chat.say("投诉", "1")
    assert "常见问题" in chat.click("FAQ")
    assert "联系人" in chat.send("某厂"), "the draft goes on"
