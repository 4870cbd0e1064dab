"""常见问题 (FAQ, seed 003): answer common questions in the chat before a complaint is needed.

Entries live in the ``faq_entry`` table (question, keywords, answer); staff maintain them (console). An
empty table is filled with the seed entries on first use: the ``[[faq]]`` entries of tousu.toml when
there are any, else :data:`DEFAULT_ENTRIES`. Disable an entry (``active = false``) rather than delete it.

A message matches an entry when it contains one of its keywords and reads like a question (or is short):
a long statement that happens to contain "电话" is a complaint, not a question about phone numbers. The
entry with the most (then the longest) keywords found wins. Answers may contain ``{service_phone}``,
``{company}``, ``{working_hours}`` and ``{time_limits}``, filled in from the policy: ``{time_limits}`` lists
what each kind of complaint is promised, from the presets that apply (``templates/messages/faq/time_limits``),
so the FAQ never promises a limit the acknowledgement would contradict.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.config import PolicyError
from handlers.context import HandlerContext
from handlers.intake import commands as cmd
from handlers.intake.modes import ModeEvent
from handlers.intake.state import ConversationRow, Draft
from handlers.messages import Reply
from handlers.render import render_message
from handlers.sla.promises import customer_promises
from handlers.text import clean_text
from handlers.text.intent import is_complaint_like
from storage.models import FaqEntry, IntakeMode, Severity

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

#: Messages up to this long may match without a question word ("退货流程", "工作时间").
SHORT_MESSAGE = 15
MENU_LIMIT = 9
_QUESTION = re.compile(r"[?？]|吗|怎么|怎样|如何|什么|多久|多长|哪|几|是否|能不能|能否|可不可以|可以|可否|请问|咋")


@dataclass(frozen=True)
class FaqSeed:
    question: str
    keywords: tuple[str, ...]
    answer: str


DEFAULT_ENTRIES: tuple[FaqSeed, ...] = (
    FaqSeed(
        "投诉处理需要多长时间？",
        ("多长时间", "多久", "几天", "时限", "什么时候处理", "什么时候能处理", "多快", "期限"),
        "{time_limits}",
    ),
    FaqSeed(
        "怎么查询投诉进度？",
        ("进度", "处理到哪", "怎么查", "查询方法", "处理结果", "有结果"),
        "回复“查询”即可查看您提交的全部投诉；也可以直接发送投诉编号（如 26110001），或点菜单“进度查询”。",
    ),
    FaqSeed(
        "投诉需要准备哪些材料？",
        ("材料", "证据", "凭证", "需要提供", "准备什么", "要准备"),
        "请准备：产品名称和规格型号、生产批次号（见产品标签或质保书）、采购日期和数量，以及问题部位的照片或视频。"
        "质保书、送货单、检测报告也可以拍照发送。",
    ),
    FaqSeed(
        "怎么联系人工客服？",
        ("人工客服", "客服电话", "服务电话", "联系电话", "热线", "打电话", "联系方式", "电话多少"),
        "回复“人工”，工作人员会给您回电；也可以直接拨打服务电话 {service_phone}。",
    ),
    FaqSeed(
        "你们的工作时间？",
        ("工作时间", "上班时间", "几点上班", "几点下班", "营业时间", "周末", "节假日"),
        "工作日 {working_hours} 有专人处理投诉（节假日按国家安排，含调休）。非工作时间也可以在这里提交，"
        "我们上班后第一时间处理。",
    ),
    FaqSeed(
        "我的信息会保密吗？",
        ("保密", "隐私", "泄露", "匿名", "打击报复"),
        "会。投诉人的信息和投诉内容只有处理您投诉的人员能看到，内部通知中的电话号码也会隐藏。",
    ),
    FaqSeed(
        "对处理结果不满意怎么办？",
        ("不满意", "重新处理", "再次投诉", "不认可", "结果不行"),
        "处理结果反馈后我们会请您评价。如果不满意，请在评价时说明原因，或回复“人工”，我们会重新调查处理，直到问题解决。",
    ),
    FaqSeed(
        "退换货怎么办理？",
        ("退换货", "退货流程", "换货流程", "怎么退货", "怎么换货", "能退货", "能换货", "退款流程"),
        "退换货需要先核实问题：请回复“投诉”登记，诉求选择“退货”或“更换”，并附上照片。核实后我们会与您商定退换方案。",
    ),
)


def parse_faq_seeds(configured: Sequence[Any]) -> tuple[FaqSeed, ...]:
    """Read and check the ``[[faq]]`` entries (once, in ``handlers.config.load_policy``); none: the built-in ones."""
    if not configured:
        return DEFAULT_ENTRIES
    seeds: list[FaqSeed] = []
    for index, item in enumerate(configured):
        if not isinstance(item, Mapping) or not item.get("question") or not item.get("answer"):
            raise PolicyError(f"faq[{index}]: needs question, keywords and answer")
        unknown = set(item) - {"question", "keywords", "answer"}
        if unknown:
            raise PolicyError(f"faq[{index}].{sorted(unknown)[0]}: unknown setting")
        keywords = item.get("keywords") or []
        if not isinstance(keywords, list) or not keywords:
            raise PolicyError(f"faq[{index}].keywords: a non-empty list of words")
        seeds.append(FaqSeed(str(item["question"]), tuple(str(k) for k in keywords), str(item["answer"])))
    return tuple(seeds)


def seed_faq(session: Session, seeds: Sequence[FaqSeed]) -> int:
    """Insert the entries whose question is not there yet; returns how many were added."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for position, seed in enumerate(seeds, 1):
        new_id = session.scalar(
            insert(FaqEntry)
            .values(question=seed.question, keywords=list(seed.keywords), answer=seed.answer, active=True,
                    position=position)
            .on_conflict_do_nothing(index_elements=["question"])
            .returning(FaqEntry.id)
        )
        added += new_id is not None
    if added:
        invalidate_cache()
    return added


def ensure_seeded(session: Session, seeds: Sequence[FaqSeed]) -> None:
    """Seed an empty FAQ table (once: any row, active or not, means staff have taken over)."""
    if session.scalar(sa.select(FaqEntry.id).limit(1)) is None:
        seed_faq(session, seeds)


@dataclass(frozen=True)
class _Keyed:
    """What matching needs of an entry, as a plain value safe to keep between transactions."""

    id: int
    keywords: tuple[str, ...]
    position: int


# The FAQ is read on nearly every free-text message and changes rarely, so each process keeps the active
# entries, keyed by database URL, with the table's *stamp*: its row count and latest ``updated_at``. A process
# trusts its copy for `RECHECK_SECONDS`, then reads the stamp again (one aggregate over a few dozen rows) and
# reloads the entries when it differs. An edit made in this process (the console) drops the copy at once; an
# edit made through another process (another gunicorn worker, the CLI) is in force everywhere within
# `RECHECK_SECONDS`. Reading the stamp on every message instead was a database round trip inside the
# message's transaction, which on SQLite holds the one writer (make bench). Edits go through the functions
# below, which move ``updated_at`` strictly past the current stamp (`_next_stamp`), so two workers' clocks
# disagreeing cannot leave an edit unseen; entries are disabled, never deleted, so the count only grows.
RECHECK_SECONDS = 1.0
_STAMP = sa.select(sa.func.count(FaqEntry.id), sa.func.max(FaqEntry.updated_at))


@dataclass(frozen=True)
class _Copy:
    stamp: tuple[int, Any]
    checked: float  # time.monotonic() when the stamp was last read
    entries: tuple[_Keyed, ...]


_cache: dict[str, _Copy] = {}
_cache_lock = threading.Lock()


def invalidate_cache() -> None:
    """Forget the cached entries of every database (an edit in this process; tests that recreate a database)."""
    with _cache_lock:
        _cache.clear()


def _active(session: Session, seeds: Sequence[FaqSeed], *, clock: Callable[[], float] = time.monotonic,
            ) -> tuple[_Keyed, ...]:
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    now = clock()
    cached = _cache.get(key)
    if cached is not None and now - cached.checked < RECHECK_SECONDS:
        return cached.entries
    count, latest = session.execute(_STAMP).one()
    stamp = (int(count or 0), latest)
    if cached is not None and cached.stamp == stamp:
        entries = cached.entries
    else:
        if not count:
            ensure_seeded(session, seeds)
            count, latest = session.execute(_STAMP).one()
            stamp = (int(count or 0), latest)
        rows = session.execute(
            sa.select(FaqEntry.id, FaqEntry.keywords, FaqEntry.position)
            .where(FaqEntry.active.is_(True)).order_by(FaqEntry.position, FaqEntry.id)
        ).all()
        entries = tuple(
            _Keyed(row.id, tuple(str(k).lower() for k in row.keywords or [] if str(k)), row.position)
            for row in rows
        )
    with _cache_lock:
        _cache[key] = _Copy(stamp, now, entries)
    return entries


def match(session: Session, text: str | None, ctx: HandlerContext) -> FaqEntry | None:
    """The entry ``text`` asks about, or None."""
    if not text:
        return None
    s = clean_text(text).lower()
    long_or_complaining = len(s) > SHORT_MESSAGE or is_complaint_like(s, ctx.policy.understanding)
    if not s or (long_or_complaining and not _QUESTION.search(s)):
        return None  # "打你们客服电话三天了都没人接" is a complaint, not a question about the phone number
    best: tuple[int, int, int] | None = None
    found: _Keyed | None = None
    for entry in _active(session, ctx.policy.faq):
        hits = [k for k in entry.keywords if k in s]
        if not hits:
            continue
        score = (len(hits), max(len(h) for h in hits), -entry.position)
        if best is None or score > best:
            best, found = score, entry
    return session.get(FaqEntry, found.id) if found is not None else None


@dataclass(frozen=True)
class KindLimits:
    """The promised limits of one kind of complaint: the categories sharing one SLA preset."""

    labels: tuple[str, ...]
    by_severity: tuple[tuple[str, tuple[str, ...]], ...]  # (severity label, promises)


def category_groups(policy: CompanyPolicy) -> dict[tuple[str, frozenset[str]], list[tuple[str, str]]]:
    """The form's categories grouped by what decides their limits: (SLA preset key, conditions) →
    [(code, label)], in the form's order (the FAQ's {time_limits} and the console's 时限 page)."""
    groups: dict[tuple[str, frozenset[str]], list[tuple[str, str]]] = {}
    for option in policy.form.options_for("category"):
        key = (policy.workflow.preset_key_for(option.code), policy.workflow.conditions_for(option.code))
        groups.setdefault(key, []).append((option.code, option.label))
    return groups


def limits_by_kind(policy: CompanyPolicy) -> list[KindLimits]:
    """What each kind of complaint is promised, derived from the presets that apply to its categories
    (the same `customer_promises` the acknowledgement uses), for an answer given before the category is known."""
    kinds: list[KindLimits] = []
    for (preset_key, conditions), options in category_groups(policy).items():
        labels = [label for _code, label in options]
        preset = policy.workflow.preset(preset_key)
        by_severity = tuple(
            (preset.severity_labels[severity], tuple(p.text for p in customer_promises(
                preset, severity, conditions=conditions)))
            for severity in Severity
        )
        kinds.append(KindLimits(tuple(labels), by_severity))
    return kinds


#: The placeholders an answer may use, with what each becomes (shown to staff in the FAQ editor).
PLACEHOLDERS: dict[str, str] = {
    "{service_phone}": "服务电话（[company] service_phone）",
    "{company}": "公司名称",
    "{working_hours}": "工作时间，如 08:30–17:30",
    "{time_limits}": "各类投诉承诺的处理时限（按在用的时限预设生成）",
}
_PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}")


def fill(answer: str, ctx: HandlerContext) -> str:
    """Fill the placeholders of an answer (plain replacement: answers are data, never templates)."""
    intake = ctx.policy.intake
    values = {
        "{service_phone}": ctx.policy.company.service_phone or "（请回复“人工”）",
        "{company}": ctx.company_name,
        "{working_hours}": f"{intake.work_start:%H:%M}–{intake.work_end:%H:%M}",
    }
    if "{time_limits}" in answer:
        values["{time_limits}"] = render_message(
            "faq/time_limits", ctx=ctx, kinds=limits_by_kind(ctx.policy), working_hours=values["{working_hours}"]
        )
    for key, value in values.items():
        answer = answer.replace(key, value)
    return answer


def answer(entry: FaqEntry, ctx: HandlerContext) -> Reply:
    return Reply([render_message("faq/answer", ctx=ctx, question=entry.question, answer=fill(entry.answer, ctx))],
                 handler="faq")


def show_menu(session: Session, row: ConversationRow, ctx: HandlerContext) -> Reply:
    """The 常见问题 menu: the questions, numbered; the next message's number picks one."""
    ensure_seeded(session, ctx.policy.faq)
    entries = list(session.scalars(
        sa.select(FaqEntry).where(FaqEntry.active.is_(True)).order_by(FaqEntry.position, FaqEntry.id)
        .limit(MENU_LIMIT)
    ))
    draft = Draft(row)
    if not entries:
        return Reply([render_message("faq/empty", ctx=ctx)], handler="faq_menu")
    if draft.mode is IntakeMode.NONE or draft.mode is IntakeMode.FAQ_MENU:
        draft.reset()
        draft.move(ModeEvent.OPEN_FAQ)
        draft.notes.faq_ids = [e.id for e in entries]
        draft.save(ctx.now)
    return Reply([render_message("faq/menu", ctx=ctx, questions=[e.question for e in entries])], handler="faq_menu")


def answer_menu_choice(session: Session, row: ConversationRow, text: str | None, ctx: HandlerContext) -> Reply | None:
    """A number after the FAQ menu answers that question (the menu stays open for another number);
    anything else, or a number after the idle time, ends the menu and returns None."""
    draft = Draft(row)
    ids = draft.notes.faq_ids
    number = cmd.edit_target(text) if text is not None and cmd.normalise(text).isdigit() else None
    fresh = ctx.now - draft.last_seen <= ctx.policy.intake.idle_after
    entry = session.get(FaqEntry, ids[number - 1]) if fresh and number is not None and 1 <= number <= len(ids) else None
    if entry is None or not entry.active:
        draft.reset()
        draft.save(ctx.now)
        return None
    draft.save(ctx.now)
    reply = answer(entry, ctx)
    return Reply([reply.texts[0] + "\n" + render_message("faq/more", ctx=ctx)], handler="faq")


# -- editing (the console's 常见问题库) ---------------------------------------------------------------

QUESTION_MAX = 200  # FaqEntry.question is VARCHAR(200)
ANSWER_MAX = 2000
KEYWORD_MAX = 30
KEYWORDS_MAX = 40
_KEYWORD_SPLIT = re.compile(r"[,，、;；\s]+")


class FaqError(ValueError):
    """An entry the editor refuses; ``field`` names the form field, the message is for staff (Chinese)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class FaqInput:
    """An entry as staff typed it, checked by `check_entry`."""

    question: str
    keywords: tuple[str, ...]
    answer: str
    position: int | None = None


def parse_keywords(text: str) -> tuple[str, ...]:
    """``"退货, 换货、退款"`` → ("退货", "换货", "退款"): commas (either width), 、, ; or spaces separate;
    repeats dropped, order kept."""
    words: list[str] = []
    for word in _KEYWORD_SPLIT.split(text or ""):
        word = word.strip()
        if word and word not in words:
            words.append(word)
    return tuple(words)


def unknown_placeholders(answer: str) -> list[str]:
    """The ``{…}`` in ``answer`` that `fill` would not replace (a typo would reach the customer as is)."""
    found = [token for token in _PLACEHOLDER_RE.findall(answer) if token not in PLACEHOLDERS]
    stray = _PLACEHOLDER_RE.sub("", answer)
    if "{" in stray or "}" in stray:
        found.append("{" if "{" in stray else "}")
    return list(dict.fromkeys(found))


def check_entry(session: Session, data: FaqInput, *, entry_id: int | None = None) -> FaqInput:
    """The entry cleaned, or `FaqError` for the first field staff must correct."""
    question = clean_text(data.question or "", fold=False)
    answer_text = (data.answer or "").strip().replace("\r\n", "\n")
    keywords = tuple(dict.fromkeys(k for k in (clean_text(k).lower() for k in data.keywords) if k))
    if not question:
        raise FaqError("question", "请填写问题")
    if len(question) > QUESTION_MAX:
        raise FaqError("question", f"问题不能超过 {QUESTION_MAX} 个字")
    if not keywords:
        raise FaqError("keywords", "至少填写一个关键词（客户消息包含其中之一即匹配）")
    if len(keywords) > KEYWORDS_MAX:
        raise FaqError("keywords", f"关键词不能超过 {KEYWORDS_MAX} 个")
    too_long = next((k for k in keywords if len(k) > KEYWORD_MAX), None)
    if too_long is not None:
        raise FaqError("keywords", f"关键词“{too_long[:KEYWORD_MAX]}…”太长（不超过 {KEYWORD_MAX} 个字）")
    if not answer_text:
        raise FaqError("answer", "请填写答案")
    if len(answer_text) > ANSWER_MAX:
        raise FaqError("answer", f"答案不能超过 {ANSWER_MAX} 个字")
    unknown = unknown_placeholders(answer_text)
    if unknown:
        raise FaqError("answer", f"答案中有无法识别的占位符 {'、'.join(unknown)}；可用：{'、'.join(PLACEHOLDERS)}")
    if data.position is not None and not 0 <= data.position <= 9999:
        raise FaqError("position", "序号应为 0–9999")
    clash = session.scalar(sa.select(FaqEntry.id).where(FaqEntry.question == question))
    if clash is not None and clash != entry_id:
        raise FaqError("question", "已有相同的问题（可编辑或重新启用那一条）")
    return FaqInput(question, keywords, answer_text, data.position)


def list_entries(session: Session, seeds: Sequence[FaqSeed]) -> list[FaqEntry]:
    """Every entry for the editor, in menu order, disabled ones last (an empty table is seeded first, so
    staff edit what customers are answered with)."""
    ensure_seeded(session, seeds)
    return list(session.scalars(
        sa.select(FaqEntry).order_by(FaqEntry.active.desc(), FaqEntry.position, FaqEntry.id)
    ))


def get_entry(session: Session, entry_id: int) -> FaqEntry | None:
    return session.get(FaqEntry, entry_id)


def _next_stamp(session: Session, now: dt.datetime) -> dt.datetime:
    """``now``, or just past the table's latest ``updated_at`` if that is later (another clock). Every edit
    stamps itself here, so this is also where this process's copy of the entries is dropped."""
    invalidate_cache()
    latest = session.scalar(sa.select(sa.func.max(FaqEntry.updated_at)))
    return now if latest is None or latest < now else latest + dt.timedelta(microseconds=1)


def create_entry(session: Session, data: FaqInput, *, now: dt.datetime) -> FaqEntry:
    """A new active entry (last in the menu unless a position is given). Flushes."""
    clean = check_entry(session, data)
    position = clean.position
    if position is None:
        position = (session.scalar(sa.select(sa.func.max(FaqEntry.position))) or 0) + 1
    stamp = _next_stamp(session, now)
    entry = FaqEntry(question=clean.question, keywords=list(clean.keywords), answer=clean.answer, active=True,
                     position=position, created_at=now, updated_at=stamp)
    session.add(entry)
    session.flush()
    return entry


def update_entry(session: Session, entry: FaqEntry, data: FaqInput, *, now: dt.datetime) -> dict[str, Any]:
    """Change an entry's question, keywords, answer or position; returns what changed (for the audit)."""
    clean = check_entry(session, data, entry_id=entry.id)
    after = {"question": clean.question, "keywords": list(clean.keywords), "answer": clean.answer,
             "position": entry.position if clean.position is None else clean.position}
    changes = {name: {"before": getattr(entry, name), "after": value}
               for name, value in after.items() if getattr(entry, name) != value}
    if changes:
        for name, value in after.items():
            setattr(entry, name, value)
        entry.updated_at = _next_stamp(session, now)
        session.flush()
    return changes


def set_active(session: Session, entry: FaqEntry, active: bool, *, now: dt.datetime) -> bool:
    """Enable or disable an entry (disabled: never matched, not in the menu); False when already so."""
    if entry.active == active:
        return False
    entry.active = active
    entry.updated_at = _next_stamp(session, now)
    session.flush()
    return True
