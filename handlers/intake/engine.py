"""The intake conversation: apply one message to this follower's draft and say what comes next.

The engine is a loop over the form (handlers/intake/form.py): it asks the first applicable step that has
no answer yet, applies the reply to it, and when none is left shows the summary. Everything else is
around that loop:

* commands anywhere (``取消`` ``上一步`` ``跳过`` ``帮助`` ``人工``; at the summary ``确认`` and ``修改N``);
* a refused answer re-asks the same step with the parser's hint, keeping every earlier answer;
* photos, files and voice are kept as the draft's attachments at any step, a location can answer the
  address step, voice with recognition text is typed text;
* a draft idle for more than ``intake.idle_minutes`` is offered ``继续`` / ``重新开始``, and one idle for
  more than ``intake.purge_days`` is dropped;
* a first message that already says a lot pre-fills what extraction finds (handlers/text/extract.py).

All state is the follower's ``IntakeSession`` row, locked by the router and saved through the caller's
session; nothing here commits.

人工 (a phone call): the request is the row's ``callback_requested_at``; the whole number is the draft's
``phone`` answer or, without a draft, ``notes.callback_phone`` (the WeCom notice to the office masks
it, so the console shows these rows). A complaint filed from such a draft has ``callback_requested``; a
request made after filing marks the customer's open complaint and adds a ``callback_requested`` event.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.classify import (
    category_route,
    department_name,
    head_userids,
    named_staff_department,
    preset_for,
    promise_conditions,
)
from handlers.context import HandlerContext
from handlers.intake import commands as cmd
from handlers.intake.fields import is_free_text_choice, parse_answer, to_json
from handlers.intake.form import Form, Step
from handlers.intake.modes import ModeEvent
from handlers.intake.notes import Notes, Retries
from handlers.intake.settings import IntakeSettings
from handlers.intake.state import ConversationRow, Draft, delete_draft_attachments, draft_attachments
from handlers.intake.submit import attachment_summary, submit_complaint
from handlers.intake.summary import render_summary
from handlers.messages import IncomingMessage, Reply
from handlers.privacy import mask_openid, mask_phone, mask_phones_in
from handlers.render import render_message
from handlers.sla.calendar_store import load_calendar
from handlers.sla.promises import Opening, customer_promises, next_opening
from handlers.text import Parsed, clean_text, parse_free_text, parse_phone
from handlers.text.choices import find_terms
from handlers.text.extract import extract, find_in_answer, product_in
from handlers.text.intent import intent_of, is_complaint_like, leading_yes_or_no
from handlers.text.words import yes_or_no
from handlers.workflow.notify import card_title, case_link, customer_case_link
from handlers.workflow.transitions import Actor, record_event
from storage.models import (
    Attachment,
    AttachmentKind,
    Complaint,
    ComplaintStatus,
    Department,
    IntakeMode,
)
from storage.outbox import queue_staff_text

log = logging.getLogger("tousu.intake")

MEDIA_KINDS = {"image": AttachmentKind.IMAGE, "video": AttachmentKind.VIDEO, "file": AttachmentKind.FILE}
#: A message this long (or one extraction finds something in) is worth offering a complaint for.
SUBSTANTIVE_CHARS = 6
#: A first message shorter than this is not taken as the description.
DESCRIPTION_SEED_CHARS = 8
RETRIES_BEFORE_HUMAN = 3
#: A first message stating this many complaint fields starts the draft without asking "您是要投诉吗？".
START_AT_ONCE_FIELDS = 2


def message_text(message: IncomingMessage) -> str | None:
    """What the customer typed: text, or voice with WeChat's recognition (counts as typed)."""
    if message.kind == "text":
        return message.text or ""
    if message.kind == "voice" and message.text:
        return message.text
    return None


def is_substantive(text: str | None, ctx: HandlerContext) -> bool:
    """A message that says something (not "你好"): long enough, or it states a complaint field."""
    if not text:
        return False
    cleaned = clean_text(text)
    if len(cleaned) >= SUBSTANTIVE_CHARS and any(ch.isalpha() for ch in cleaned):
        return True
    return not _extract(cleaned, ctx).is_empty


# ---------------------------------------------------------------------------------------------
# Entry points used by the router
# ---------------------------------------------------------------------------------------------


def handle(session: Session, row: ConversationRow, message: IncomingMessage, ctx: HandlerContext) -> Reply | None:
    """Intake's answer when this follower has an intake conversation going; None otherwise.

    None also when a pending offer ("您是要投诉吗？") is answered with something else: the offer is
    dropped and the router carries on with the message as if nothing had been pending.
    """
    draft = Draft(row)
    if draft.mode in (IntakeMode.NONE, IntakeMode.FAQ_MENU):
        return None
    settings = ctx.policy.intake
    form = ctx.policy.form
    idle = ctx.now - draft.last_seen
    text = message_text(message)
    if idle > settings.purge_after:
        _discard(session, draft, ctx)
        return None
    if draft.mode is IntakeMode.OFFER:
        if idle > settings.idle_after:
            _discard(session, draft, ctx)
            return None
        return _answer_offer(session, draft, message, ctx, form)
    if draft.mode is IntakeMode.CALLBACK_PHONE:
        if idle <= settings.idle_after:
            return _answer_callback_phone(session, draft, message, ctx, form, settings)
        if draft.move(ModeEvent.RETURN) is IntakeMode.NONE:
            draft.save(ctx.now)
            return None
    if draft.mode in (IntakeMode.FILLING, IntakeMode.SUMMARY) and idle > settings.idle_after and not (
        cmd.is_(text, cmd.CONTINUE) or cmd.is_(text, cmd.RESTART) or cmd.is_(text, cmd.CANCEL)
        or _answers_open_step(draft, form, text, ctx)
    ):
        return _offer_resume(session, draft, message, ctx, form, settings)
    if draft.mode is IntakeMode.RESUME:
        return _answer_resume(session, draft, message, ctx, form, settings)
    return _fill(session, draft, message, ctx, form, settings)


def start(
    session: Session, row: ConversationRow, ctx: HandlerContext, *, seed_text: str | None = None,
    started_at: dt.datetime | None = None, notes: Sequence[str] = (),
) -> Reply:
    """Begin a new draft (投诉, 我要投诉, the menu), pre-filled from ``seed_text`` when given."""
    draft = Draft(row)
    form = ctx.policy.form
    recent = draft.mode is IntakeMode.NONE and draft.callback_requested_at is not None and (
        ctx.now - draft.callback_requested_at <= ctx.policy.intake.idle_after
    )
    callback_phone = draft.notes.callback_phone if recent else None
    draft.reset(keep_callback=recent)
    draft.notes.callback_phone = None
    draft.move(ModeEvent.START)
    draft.started_at = started_at or ctx.now
    understood: list[str] = []
    if callback_phone is not None and form.has("phone"):  # the number just given for the call-back
        parsed = parse_phone(callback_phone, today=ctx.today)
        if parsed.accepted:
            _store(draft, form.step("phone"), to_json(parsed.value), parsed.display)
    if seed_text:
        understood = _prefill(draft, form, seed_text, ctx)
    intro = render_message("intake/start", ctx=ctx, understood=understood)
    return _advance(session, draft, ctx, form, before=[intro, *notes], handler="intake_start")


def continue_or_start(session: Session, row: ConversationRow, ctx: HandlerContext) -> Reply:
    """The 我要投诉 menu click: an unfinished draft continues where it stopped, else a new one starts."""
    draft = Draft(row)
    if draft.mode is IntakeMode.CALLBACK_PHONE:  # the menu, while we wait for a phone number: back to the draft
        draft.move(ModeEvent.RETURN)
        draft.save(ctx.now)
    if draft.mode is IntakeMode.OFFER:
        return start(session, row, ctx, seed_text=draft.notes.offer_text or None, started_at=draft.notes.offer_at)
    if draft.mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME):
        if draft.mode is IntakeMode.RESUME:
            draft.move(ModeEvent.RETURN)
        form = ctx.policy.form
        note = render_message("intake/note/still_filling", ctx=ctx)
        return _current(session, draft, ctx, form, before=[note])
    return start(session, row, ctx)


def offer(session: Session, row: ConversationRow, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    """Something that reads like a complaint arrived while nothing was pending.

    If extraction finds at least two complaint fields in it (a category word alone may be praise:
    "服务真好"), and it does not merely ask (…怎么样啊), the draft starts at once with what was found
    filled in; otherwise we ask "您是要投诉吗？" and keep the text, which is pre-filled on 是. Photos and
    files sent out of the blue are kept with the offer.
    """
    draft = Draft(row)
    text = message_text(message)
    if text is not None and len(_extract(clean_text(text), ctx).displays) >= START_AT_ONCE_FIELDS and not (
        _QUESTION.search(clean_text(text)) and not is_complaint_like(text, ctx.policy.understanding)
    ):  # "你们的铝板质量到底怎么样啊" names goods and quality but asks: 您是要投诉吗？ first
        return start(session, row, ctx, seed_text=text)
    draft.reset()
    draft.move(ModeEvent.OFFER)
    draft.notes = Notes(offer_text=clean_text(text, fold=False)[:1000] if text else "", offer_at=ctx.now)
    if text is None:
        _attach(session, draft, message, ctx)
    draft.save(ctx.now)
    return Reply([render_message("intake/offer", ctx=ctx, media=text is None)], handler="intake_offer")


#: A message that asks (…怎么样啊, …吗？): when nothing in it complains, it is asked about before a form starts.
_QUESTION = re.compile(r"(?:怎么样|如何|吗|呢|么|[?？])[啊呀呢吗?？\s]*$")


def request_callback(
    session: Session, row: ConversationRow, message: IncomingMessage, ctx: HandlerContext
) -> Reply:
    """人工: record that the customer wants a phone call, tell staff, and say when to expect it."""
    draft = Draft(row)
    return _request_callback(session, draft, ctx, ctx.policy.form, ctx.policy.intake)


# ---------------------------------------------------------------------------------------------
# Filling in the form
# ---------------------------------------------------------------------------------------------


def _fill(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form,
    settings: IntakeSettings,
) -> Reply:
    text = message_text(message)
    if message.kind in MEDIA_KINDS or (message.kind == "voice" and text is None):
        return _media(session, draft, message, ctx, form, settings)
    if message.kind == "location":
        return _location(session, draft, message, ctx, form, settings)
    if text is None:
        note = render_message("intake/note/unsupported", ctx=ctx)
        return _current(session, draft, ctx, form, before=[note])
    command = cmd.command_of(text)
    if command == cmd.CANCEL:
        return _cancel(session, draft, ctx)
    if command == cmd.HUMAN:
        return _request_callback(session, draft, ctx, form, settings)
    if cmd.is_(text, cmd.RESTART):
        delete_draft_attachments(session, draft.openid)
        return start(session, draft.row, ctx)
    if command == cmd.HELP:
        return _current(session, draft, ctx, form, before=[render_message("intake/help", ctx=ctx)])
    if command == cmd.START or cmd.is_(text, cmd.CONTINUE):
        return _current(session, draft, ctx, form, before=[render_message("intake/note/still_filling", ctx=ctx)])
    if draft.mode is IntakeMode.SUMMARY:
        return _answer_summary(session, draft, text, command, ctx, form)
    step = _current_step(draft, form)
    if step is None:
        return _advance(session, draft, ctx, form)
    if command == cmd.BACK:
        return _back(session, draft, ctx, form)
    if command == cmd.SKIP or (
        cmd.is_(text, cmd.SOFT_SKIP) and not step.required and not step.allow_none
    ):
        return _skip(session, draft, step, ctx, form)
    if step.parser == "evidence":
        return _answer_evidence(session, draft, step, text, ctx, form)
    return _answer(session, draft, step, text, ctx, form)


#: Parsers whose answers cannot be mistaken for something else: such an answer after a pause answers the step.
_UNMISTAKABLE = frozenset({"phone", "date", "quantity", "batch"})


def _answers_open_step(draft: Draft, form: Form, text: str | None, ctx: HandlerContext) -> bool:
    """A phone number typed after 30 minutes at the phone step is the answer, not a reason to ask 继续？"""
    step = _current_step(draft, form) if draft.mode is IntakeMode.FILLING and text else None
    if step is None or step.parser not in _UNMISTAKABLE:
        return False
    return parse_answer(step, text or "", today=ctx.today).accepted


def _current_step(draft: Draft, form: Form) -> Step | None:
    editing = draft.notes.editing
    if editing is not None and form.has(editing):
        return form.step(editing)
    return form.next_step(draft.answers)


def _answer(session: Session, draft: Draft, step: Step, text: str, ctx: HandlerContext, form: Form) -> Reply:
    open_keys = _open_together(draft, step, form)
    if open_keys:
        return _answer_together(session, draft, step, text, open_keys, ctx, form)
    parsed = parse_answer(step, text, today=ctx.today)
    if not parsed.accepted and _other_in_words(step, text):
        cleaned = clean_text(text)
        named = [code for code in find_terms(cleaned, step.options) if code != "other"]
        if not named and len(cleaned) <= _SHORT_ANSWER:  # a short answer to the question: one-letter words count
            named = [o.code for o in step.options if o.code != "other" and any(
                len(word) == 1 and word in cleaned for word in o.synonyms)]
        if named:  # "快点来修", "派人来修一下": an option's word inside a sentence (修 → 维修)
            labels = {o.code: o.label for o in step.options}
            _store(draft, step, named, "、".join(labels[code] for code in named))
            return _advance(session, draft, ctx, form)
        # a several-choice step (诉求) answered in words none of its options has ("改善伙食"): 其他, words kept
        words = clean_text(text, fold=False)[:100]
        other = next(o for o in step.options if o.code == "other")
        _store(draft, step, ["other"], f"{other.label}（{words}）")
        draft.answers["demand_words"] = words
        return _advance(session, draft, ctx, form)
    if not parsed.accepted:
        return _refuse(session, draft, step, parsed.hint, ctx, form)
    value, display = parsed.value, parsed.display
    seeds = step.seeds_description and step.parser == "choice" and is_free_text_choice(step, text)
    if seeds and form.has("description") and "description" not in draft.answers:
        words = clean_text(text, fold=False)[:200]
        described = form.step("description")
        if len(clean_text(text)) >= max(DESCRIPTION_SEED_CHARS, described.min_length):
            # "开卷的时候发现表面全是划痕": the problem and where it was found answer the description too (issue 13)
            seed = draft.notes.description_seed
            told = parse_free_text(f"{seed}。{words}" if seed else words, today=ctx.today,
                                   min_length=described.min_length, max_length=described.max_length)
            if told.accepted:
                draft.notes.description_seed = None
                _store(draft, described, told.value, told.display)
        else:
            draft.notes.description_seed = words
    if step.key == "description" and draft.notes.description_seed:
        seed, draft.notes.description_seed = draft.notes.description_seed, None
        if isinstance(value, str) and seed not in value:
            combined = parse_free_text(f"{seed}。{value}", today=ctx.today, max_length=step.max_length)
            value, display = combined.value, combined.display
    _store(draft, step, value, display)
    return _advance(session, draft, ctx, form)


#: An answer to a choice question this short is read for one-letter option words too (快点来修 → 维修).
_SHORT_ANSWER = 8
#: Steps whose own value is looked for inside the answer (the rest of the words then say nothing about them).
_FOUND_IN_ANSWER = frozenset({"phone", "date", "quantity", "batch"})


def _open_together(draft: Draft, step: Step, form: Form) -> list[str]:
    """The steps asked in the same question as ``step`` (all of them again when it is edited from the summary)."""
    if draft.notes.editing == step.key:
        applicable = {s.key for s in form.applicable(draft.answers)}
        return [key for key in step.together if key in applicable]
    return form.together_open(step, draft.answers)


def _answer_together(
    session: Session, draft: Draft, step: Step, text: str, open_keys: list[str], ctx: HandlerContext, form: Form
) -> Reply:
    """One answer to a question that asks several facts ("6061铝板 2mm 批号2311-08"): each one stated is kept.

    The asked step takes what it finds of its own kind, else the words left over; optional facts the answer
    does not state count as not given, a required one is asked next on its own (issue 13)."""
    findable = step.parser in _FOUND_IN_ANSWER or step.key == "spec_model"
    found, rest = find_in_answer(text, [*open_keys, *([step.key] if findable else [])], today=ctx.today)
    for key in open_keys:
        if key in found:
            value, display = found[key]
            _store(draft, form.step(key), to_json(value), display)
    if step.key == "spec_model" and form.has("product_name") and draft.answers.get("product_name"):
        product = product_in(rest)  # "6061铝板 2mm" after "铝板有划痕": the more precise name is kept
        known = str(draft.answers["product_name"])
        if product and known in product and product != known:
            _store(draft, form.step("product_name"), product, product)
        if product and rest.replace(product, "").strip() == "":
            rest = ""
    if step.key == "spec_model" and found and not re.search(r"[0-9A-Za-z]", rest):
        rest = ""  # "标签上写的批号是 2311-02": the words around the batch are no specification
    if step.key in found:
        value, display = found[step.key]
        parsed = Parsed.ok(to_json(value), display)
    elif rest:
        parsed = parse_answer(step, rest, today=ctx.today)
    elif found and draft.notes.editing == step.key and step.key in draft.answers:
        parsed = Parsed.ok(draft.answers[step.key], draft.displays.get(step.key, ""))  # only the others changed
    elif not step.required and found:
        parsed = Parsed.ok(None, render_message("intake/note/skipped_display", ctx=ctx))
    else:
        parsed = parse_answer(step, text, today=ctx.today)
    if not parsed.accepted:
        return _refuse(session, draft, step, parsed.hint, ctx, form)
    _store(draft, step, parsed.value, parsed.display)
    _skip_unstated(draft, [key for key in open_keys if key not in found], ctx, form)
    return _advance(session, draft, ctx, form)


def _skip_unstated(draft: Draft, keys: Sequence[str], ctx: HandlerContext, form: Form) -> None:
    """Optional facts a together-question asked and the answer left out: not given (a required one stays open)."""
    for key in keys:
        member = form.step(key)
        if not member.required and key not in draft.answers:
            _store(draft, member, None, render_message("intake/note/skipped_display", ctx=ctx))


def _other_in_words(step: Step, text: str) -> bool:
    cleaned = clean_text(text)
    return (
        step.multi and any(o.code == "other" for o in step.options) and len(cleaned) >= 2
        and not re.fullmatch(r"[0-9\s,、]+", cleaned) and cmd.command_of(text) is None
        and yes_or_no(text) is None
    )


def _store(draft: Draft, step: Step, value: Any, display: str) -> None:
    if step.key == "demands":  # a new demand answer: earlier own words (→ 其他) no longer apply
        draft.answers.pop("demand_words", None)
    draft.answers[step.key] = value
    draft.displays[step.key] = display
    draft.notes.retries = None
    draft.notes.previous.pop(step.key, None)
    if draft.notes.editing == step.key:
        draft.notes.editing = None


def _refuse(session: Session, draft: Draft, step: Step, hint: str, ctx: HandlerContext, form: Form) -> Reply:
    retries = draft.notes.retries
    count = retries.count + 1 if retries is not None and retries.step == step.key else 1
    draft.notes.retries = Retries(step.key, count)
    if step.parser == "choice" and step.options:  # the question lists the options again: say so, not twice
        hint = render_message("intake/note/choice_again", ctx=ctx)
    before = [render_message("intake/note/refused", ctx=ctx, hint=hint)]
    if count >= RETRIES_BEFORE_HUMAN:
        before.append(render_message("intake/note/offer_human", ctx=ctx))
    return _ask(session, draft, step, ctx, form, before=before, handler="intake_refused")


def _skip(session: Session, draft: Draft, step: Step, ctx: HandlerContext, form: Form) -> Reply:
    if step.required:
        before = [render_message("intake/note/required", ctx=ctx, step=step)]
        return _ask(session, draft, step, ctx, form, before=before, handler="intake_refused")
    _store(draft, step, None, render_message("intake/note/skipped_display", ctx=ctx))
    _skip_unstated(draft, form.together_open(step, draft.answers), ctx, form)
    return _advance(session, draft, ctx, form)


def _back(session: Session, draft: Draft, ctx: HandlerContext, form: Form) -> Reply:
    """上一步: re-ask the answered step before the open one (in form order); its old answer is shown."""
    if draft.notes.editing is not None:
        draft.notes.editing = None
        return _show_summary(session, draft, ctx, form)
    current = _current_step(draft, form) if draft.mode is IntakeMode.FILLING else None
    answered = [s for s in form.applicable(draft.answers) if s.key in draft.answers]
    if current is not None:
        keys = [s.key for s in form.applicable(draft.answers)]
        position = keys.index(current.key) if current.key in keys else len(keys)
        answered = [s for s in answered if keys.index(s.key) < position]
    if not answered:
        step = current or form.next_step(draft.answers)
        if step is None:
            return _advance(session, draft, ctx, form)
        return _ask(session, draft, step, ctx, form, before=[render_message("intake/note/first_step", ctx=ctx)])
    step = answered[-1]
    # a fact asked with an earlier question (批号 with the product): that question is asked again, whole
    lead = next((s for s in answered if step.key in s.together), None)
    for key in ([lead.key, *(k for k in lead.together if k in draft.answers)] if lead else [step.key]):
        shown = draft.displays.pop(key, None)
        if shown:
            draft.notes.previous[key] = shown
        draft.answers.pop(key)
    if "demands" not in draft.answers:
        draft.answers.pop("demand_words", None)
    draft.notes.retries = None
    return _advance(session, draft, ctx, form)


def _answer_evidence(
    session: Session, draft: Draft, step: Step, text: str, ctx: HandlerContext, form: Form
) -> Reply:
    if cmd.is_(text, cmd.DONE):
        attachments = draft_attachments(session, draft.openid)
        if not attachments:
            if step.required:
                return _refuse(session, draft, step, render_message("intake/note/evidence_needed", ctx=ctx),
                               ctx, form)
            return _skip(session, draft, step, ctx, form)
        _store(draft, step, len(attachments), attachment_summary(attachments))
        return _advance(session, draft, ctx, form)
    if cmd.is_(text, cmd.SOFT_SKIP):
        return _skip(session, draft, step, ctx, form)
    return _refuse(session, draft, step, render_message("intake/note/evidence_hint", ctx=ctx), ctx, form)


# ---------------------------------------------------------------------------------------------
# Media and location
# ---------------------------------------------------------------------------------------------


def _attach(session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext) -> Attachment:
    meta: dict[str, Any] = {"msg_id": message.msg_id}
    if message.kind == "location" and message.location is not None:
        kind = AttachmentKind.LOCATION
        meta |= {"latitude": message.location.latitude, "longitude": message.location.longitude,
                 "label": message.location.label}
    elif message.kind == "voice":
        kind = AttachmentKind.VOICE
        meta["format"] = message.raw.get("Format")
    else:
        kind = MEDIA_KINDS.get(message.kind, AttachmentKind.FILE)
        for key in ("Title", "Description", "FileKey", "ThumbMediaId"):
            if message.raw.get(key):
                meta[key.lower()] = str(message.raw[key])[:200]
    attachment = Attachment(
        draft_openid=draft.openid, kind=kind, media_id=message.media_id, url=message.pic_url, meta=meta,
        created_at=ctx.now,
    )
    session.add(attachment)
    session.flush()
    return attachment


def _attach_within_limit(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, settings: IntakeSettings
) -> bool:
    if _attachment_count(session, draft.openid) >= settings.max_attachments:
        return False
    _attach(session, draft, message, ctx)
    return True


def _attachment_count(session: Session, openid: str) -> int:
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(Attachment)
        .where(Attachment.draft_openid == openid, Attachment.complaint_id.is_(None))
    ) or 0)


def _media(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form,
    settings: IntakeSettings,
) -> Reply:
    count = _attachment_count(session, draft.openid)
    if count >= settings.max_attachments:
        before = [render_message("intake/note/attachments_full", ctx=ctx, limit=settings.max_attachments)]
        return _current(session, draft, ctx, form, before=before)
    _attach(session, draft, message, ctx)
    kind = "voice" if message.kind == "voice" else message.kind
    if draft.mode is IntakeMode.SUMMARY:
        note = render_message("intake/note/media_saved", ctx=ctx, kind=kind, count=count + 1, evidence=False)
        draft.save(ctx.now)
        return Reply([note + "\n" + render_message("intake/summary_hint", ctx=ctx)], handler="intake_media")
    step = _current_step(draft, form)
    if message.kind == "voice":
        before = [render_message("intake/note/voice_unrecognised", ctx=ctx)]
        return _current(session, draft, ctx, form, before=before, handler="intake_media")
    if step is not None and step.parser == "evidence":
        draft.save(ctx.now)
        ack = render_message("intake/note/media_saved", ctx=ctx, kind=kind, count=count + 1, evidence=True)
        return Reply([ack], handler="intake_media")
    before = [render_message("intake/note/media_saved", ctx=ctx, kind=kind, count=count + 1, evidence=False)]
    return _current(session, draft, ctx, form, before=before, handler="intake_media")


def _location(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form,
    settings: IntakeSettings,
) -> Reply:
    location = message.location
    step = _current_step(draft, form) if draft.mode is IntakeMode.FILLING else None
    if step is not None and step.parser == "address" and location is not None:
        label = location.label.strip() or f"{location.latitude:.5f},{location.longitude:.5f}"
        value = {"label": label[: step.max_length], "latitude": location.latitude, "longitude": location.longitude}
        _store(draft, step, value, label[:60])
        return _advance(session, draft, ctx, form)
    return _media(session, draft, message, ctx, form, settings)


# ---------------------------------------------------------------------------------------------
# Summary, edit, submit
# ---------------------------------------------------------------------------------------------


def _answer_summary(
    session: Session, draft: Draft, text: str, command: str | None, ctx: HandlerContext, form: Form
) -> Reply:
    missing = form.next_step(draft.answers)
    if missing is not None:  # the form changed under the draft (configuration): ask what is new
        return _advance(session, draft, ctx, form)
    if cmd.is_yes(text):
        return _submit(session, draft, ctx, form)
    if command == cmd.BACK:
        return _back(session, draft, ctx, form)
    number = cmd.edit_target(text)
    keys = draft.notes.summary_keys
    if number is not None and 1 <= number <= len(keys) and form.has(keys[number - 1]):
        key = keys[number - 1]
        draft.move(ModeEvent.ASK)
        draft.notes.editing = key
        previous = draft.displays.get(key)
        return _ask(session, draft, form.step(key), ctx, form, previous=previous, handler="intake_edit")
    draft.save(ctx.now)
    return Reply([render_message("intake/summary_hint", ctx=ctx, count=len(keys))], handler="intake_summary")


def _show_summary(session: Session, draft: Draft, ctx: HandlerContext, form: Form, before: Sequence[str] = ()) -> Reply:
    draft.move(ModeEvent.SHOW_SUMMARY)
    draft.step = None
    attachments = draft_attachments(session, draft.openid)
    text, keys = render_summary(draft, form, attachments, ctx, before=before)
    draft.notes.summary_keys = keys
    draft.save(ctx.now)
    return Reply([text], handler="intake_summary")


def _submit(session: Session, draft: Draft, ctx: HandlerContext, form: Form) -> Reply:
    complaint = submit_complaint(session, draft, ctx)
    reply = render_acknowledgement(session, complaint, ctx)
    draft.reset()
    draft.save(ctx.now)
    return Reply([reply], handler="intake_submit")


def render_acknowledgement(session: Session, complaint: Complaint, ctx: HandlerContext) -> str:
    """已受理: the number, what happens next, and the configured preset's limits in plain words."""
    route = category_route(complaint.category, ctx.policy)
    preset = preset_for(route, ctx.policy)
    conditions = promise_conditions(complaint.category, ctx.policy)
    calendar = load_calendar(session, ctx.policy.calendar)
    promises = customer_promises(preset, complaint.severity, conditions=conditions,
                                 received_on_working_day=calendar.is_working_day(complaint.received_at))
    return render_message(
        "intake/submitted", ctx=ctx, number=complaint.number, promises=promises,
        expect=callback_expectation(session, ctx),
        lead_office=department_name(session, route.lead_office, ctx.policy),
        callback=complaint.callback_requested, link=customer_case_link(complaint, now=ctx.now),
    )


def _cancel(session: Session, draft: Draft, ctx: HandlerContext) -> Reply:
    delete_draft_attachments(session, draft.openid)
    draft.reset()
    draft.save(ctx.now)
    return Reply([render_message("intake/cancelled", ctx=ctx)], handler="intake_cancel")


def _discard(session: Session, draft: Draft, ctx: HandlerContext) -> None:
    delete_draft_attachments(session, draft.openid)
    draft.reset()
    draft.save(ctx.now)


# ---------------------------------------------------------------------------------------------
# Offer, idle resume
# ---------------------------------------------------------------------------------------------


def _answer_offer(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form
) -> Reply | None:
    text = message_text(message)
    offered = draft.notes.offer_text or ""
    offered_at = draft.notes.offer_at or ctx.now
    if text is None and message.kind in (*MEDIA_KINDS, "voice", "location"):
        _attach_within_limit(session, draft, message, ctx, ctx.policy.intake)
        draft.save(ctx.now)
        return Reply([render_message("intake/offer", ctx=ctx, media=True)], handler="intake_offer")
    if text is None:
        _discard(session, draft, ctx)
        return None
    command = cmd.command_of(text)
    answer = leading_yes_or_no(text)
    if command == cmd.START or cmd.is_yes(text) or answer is True:
        rest = _after_yes(text)
        seed = f"{offered} {rest}".strip()[:1000] if rest and is_substantive(rest, ctx) else offered
        return start(session, draft.row, ctx, seed_text=seed or None, started_at=offered_at)
    if command == cmd.CANCEL or cmd.is_no(text) or answer is False:
        _discard(session, draft, ctx)
        kind = intent_of(text, ctx.policy.understanding) or intent_of(offered, ctx.policy.understanding)
        if kind is not None:  # "不是，问价格的", "不是不是，就是表扬一下小王"
            return answer_non_complaint(session, draft.row, kind, f"{offered} {text}", ctx)
        return Reply([render_message("intake/offer_declined", ctx=ctx)], handler="intake_offer")
    if command is None and is_substantive(text, ctx):
        combined = f"{offered} {clean_text(text, fold=False)}".strip()[:1000]
        return start(session, draft.row, ctx, seed_text=combined, started_at=offered_at)
    _discard(session, draft, ctx)
    return None


_YES_WORDS = re.compile(r"^[\s,，。.!！~]*"
                        r"(?:当然|肯定|必须|没错|对的|对|嗯+|恩+|是+的?|好的?|确定|确认|可以|行|ok|yes)?"
                        r"[\s,，。.!！~]*(?:是|的|啊|呀|我)*[\s,，。.!！~]*(?:要|想)?(?:投诉|登记)?[\s,，。.!！~]*",
                        re.IGNORECASE)


def _after_yes(text: str) -> str:
    """What follows the yes in "是的，投诉 昨天又划伤了两张": said about the complaint, kept with the offer."""
    return _YES_WORDS.sub("", clean_text(text, fold=False), count=1).strip()


def answer_non_complaint(
    session: Session, row: ConversationRow, kind: str, text: str, ctx: HandlerContext
) -> Reply:
    """Praise or a price/product enquiry: answered, nothing started (issue 13).

    Praise is passed to the office that hears from customers (``intake.callback_office``) as a staff
    message, phone numbers masked; an enquiry gets a pointer to sales (the service phone)."""
    draft = Draft(row)
    if draft.mode is IntakeMode.OFFER:
        draft.reset()
    draft.save(ctx.now)
    if kind == "praise":  # to the praised person's department when the org chart knows the name, else the office
        named = named_staff_department(session, text, ctx.policy)
        recipients = head_userids(session, named, ctx.policy) if named else []
        office = ctx.policy.intake.callback_office
        recipients = recipients or head_userids(session, office, ctx.policy)
        if recipients:
            said = mask_phones_in(clean_text(text, fold=False))[:300]
            note = render_message("intake/staff_praise", ctx=ctx, text=said)
            queue_staff_text(session, recipients, note, now=ctx.now,
                             dedupe_key=f"praise:{draft.openid}:{int(ctx.now.timestamp())}")
        return Reply([render_message("intake/praise_thanks", ctx=ctx)], handler="praise")
    return Reply([render_message("intake/sales_pointer", ctx=ctx, service_phone=_service_phone(ctx))],
                 handler="sales")


def _offer_resume(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form,
    settings: IntakeSettings,
) -> Reply:
    if message.kind in MEDIA_KINDS or (message.kind == "voice" and message_text(message) is None):
        _attach_within_limit(session, draft, message, ctx, settings)
    draft.move(ModeEvent.IDLE)
    return _resume_prompt(session, draft, ctx, form)


def _resume_prompt(session: Session, draft: Draft, ctx: HandlerContext, form: Form) -> Reply:
    step = _current_step(draft, form)
    answered = sum(1 for s in form.applicable(draft.answers) if s.key in draft.answers)
    draft.save(ctx.now)
    return Reply(
        [render_message("intake/resume_offer", ctx=ctx, answered=answered, step=step)], handler="intake_resume"
    )


def _answer_resume(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form,
    settings: IntakeSettings,
) -> Reply:
    text = message_text(message)
    choice = cmd.normalise(text) if text is not None else None
    if cmd.is_(text, cmd.CONTINUE) or choice == "1" or cmd.command_of(text) == cmd.START:
        draft.move(ModeEvent.RETURN)
        return _current(session, draft, ctx, form)
    if cmd.is_(text, cmd.RESTART) or choice == "2":
        delete_draft_attachments(session, draft.openid)
        return start(session, draft.row, ctx)
    if cmd.is_(text, cmd.CANCEL):
        return _cancel(session, draft, ctx)
    if cmd.command_of(text) == cmd.HUMAN:
        return _request_callback(session, draft, ctx, form, settings)
    if message.kind in MEDIA_KINDS or (message.kind == "voice" and text is None):
        _attach_within_limit(session, draft, message, ctx, settings)
    return _resume_prompt(session, draft, ctx, form)


# ---------------------------------------------------------------------------------------------
# 人工: a phone call
# ---------------------------------------------------------------------------------------------


def callback_expectation(session: Session, ctx: HandlerContext) -> Opening:
    """When staff will call: within N minutes in working hours, else after the next start of work, counted
    on the company calendar (official 调休 plus the company's exceptions from the database)."""
    settings = ctx.policy.intake
    calendar = load_calendar(session, ctx.policy.calendar)
    return next_opening(ctx.now, calendar, settings.work_start, settings.work_end, settings.callback_minutes)


def _latest_complaint(session: Session, openid: str) -> Complaint | None:
    return session.scalar(
        sa.select(Complaint).where(Complaint.openid == openid).order_by(Complaint.registered_at.desc(),
                                                                       Complaint.id.desc()).limit(1)
    )


def _request_callback(
    session: Session, draft: Draft, ctx: HandlerContext, form: Form, settings: IntakeSettings
) -> Reply:
    expectation = callback_expectation(session, ctx)
    in_draft = draft.mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME)
    recent = draft.callback_requested_at is not None and ctx.now - draft.callback_requested_at <= settings.idle_after
    if draft.callback_requested_at is not None and (in_draft or recent):
        note = render_message("intake/callback_recorded", ctx=ctx, again=True, expect=expectation,
                              phone=None, service_phone=_service_phone(ctx))
        if in_draft:
            return _current(session, draft, ctx, form, before=[note], handler="callback")
        draft.save(ctx.now)
        return Reply([note], handler="callback")
    phone = (draft.answers.get("phone") or {}).get("e164") if in_draft else None
    complaint = None
    if not in_draft:
        complaint = _latest_complaint(session, draft.openid)
        if complaint is not None and complaint.status == ComplaintStatus.CLOSED:
            complaint = None
        phone = complaint.phone if complaint is not None else None
    if phone is None:
        draft.move(ModeEvent.CALLBACK)
        draft.save(ctx.now)
        return Reply([render_message("intake/callback_ask_phone", ctx=ctx, expect=expectation)], handler="callback")
    _record_callback(session, draft, ctx, settings, phone, complaint, in_draft)
    note = render_message("intake/callback_recorded", ctx=ctx, again=False, expect=expectation,
                          phone=mask_phone(phone, missing="未留"), service_phone=_service_phone(ctx))
    if in_draft:
        return _current(session, draft, ctx, form, before=[note], handler="callback")
    draft.save(ctx.now)
    return Reply([note], handler="callback")


def _answer_callback_phone(
    session: Session, draft: Draft, message: IncomingMessage, ctx: HandlerContext, form: Form,
    settings: IntakeSettings,
) -> Reply:
    text = message_text(message)
    return_mode = draft.notes.return_mode or IntakeMode.NONE
    if text is None and message.kind != "event":
        if return_mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME) and (
            message.kind in (*MEDIA_KINDS, "voice", "location")
        ):
            _attach_within_limit(session, draft, message, ctx, settings)
        draft.save(ctx.now)
        expectation = callback_expectation(session, ctx)
        return Reply([render_message("intake/callback_ask_phone", ctx=ctx, expect=expectation)], handler="callback")
    if text is None or cmd.is_(text, cmd.CANCEL):
        draft.move(ModeEvent.RETURN)
        note = render_message("intake/callback_cancelled", ctx=ctx)
        if return_mode in (IntakeMode.FILLING, IntakeMode.SUMMARY):
            return _current(session, draft, ctx, form, before=[note], handler="callback")
        if return_mode is IntakeMode.RESUME:
            return _resume_prompt(session, draft, ctx, form)
        draft.reset()
        draft.save(ctx.now)
        return Reply([note], handler="callback")
    parsed = parse_phone(text, today=ctx.today)
    if not parsed.accepted or parsed.value is None:
        draft.save(ctx.now)
        expectation = callback_expectation(session, ctx)
        return Reply([render_message("intake/callback_ask_phone", ctx=ctx, expect=expectation, hint=parsed.hint)],
                     handler="callback")
    draft.move(ModeEvent.RETURN)
    in_draft = return_mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME)
    if in_draft and form.has("phone") and draft.answers.get("phone") is None:
        _store(draft, form.step("phone"), to_json(parsed.value), parsed.display)
    complaint = None if in_draft else _latest_complaint(session, draft.openid)
    if complaint is not None and complaint.status == ComplaintStatus.CLOSED:
        complaint = None
    _record_callback(session, draft, ctx, settings, parsed.value.e164, complaint, in_draft)
    note = render_message("intake/callback_recorded", ctx=ctx, again=False, expect=callback_expectation(session, ctx),
                          phone=mask_phone(parsed.value.e164), service_phone=_service_phone(ctx))
    if return_mode in (IntakeMode.FILLING, IntakeMode.SUMMARY):
        return _current(session, draft, ctx, form, before=[note], handler="callback")
    if return_mode is IntakeMode.RESUME:
        draft.move(ModeEvent.RETURN)
        return _current(session, draft, ctx, form, before=[note], handler="callback")
    draft.reset(keep_callback=True)
    draft.save(ctx.now)
    return Reply([note], handler="callback")


def _record_callback(
    session: Session, draft: Draft, ctx: HandlerContext, settings: IntakeSettings, phone: str,
    complaint: Complaint | None, in_draft: bool,
) -> None:
    """Mark the request (on the draft, or on the customer's open complaint) and tell the office."""
    office = settings.callback_office
    category_label = None
    draft.callback_requested_at = ctx.now
    if not in_draft:  # kept on the row (masked in the notice, whole here) until a draft starts or it is purged
        draft.notes.callback_phone = phone
    if in_draft:
        category = draft.answers.get("category")
        if category:
            code = category[0] if isinstance(category, list) else str(category)
            office = category_route(code, ctx.policy).lead_office
            category_label = ctx.policy.category_label(code)
    elif complaint is not None:
        complaint.callback_requested = True
        record_event(session, complaint, "callback_requested", Actor.customer(draft.openid), ctx.now,
                     details={"phone": mask_phone(phone, missing="未留")})
        if complaint.lead_office_id is not None:
            department = session.get(Department, complaint.lead_office_id)
            if department is not None:
                office = department.code
    recipients = head_userids(session, office, ctx.policy)
    if not recipients:
        log.warning("callback request from %s: no head on record for %s", mask_openid(draft.openid), office)
        return
    text = render_message(
        "intake/staff_callback", ctx=ctx, phone=mask_phone(phone, missing="未留"), complaint=complaint,
        category=category_label,
        expect=callback_expectation(session, ctx),
    )
    queue_staff_text(session, recipients, text, now=ctx.now,
                     dedupe_key=f"callback:{draft.openid}:{int(ctx.now.timestamp())}",
                     complaint_id=complaint.id if complaint is not None else None,
                     # about a case: a card that opens it (a draft has no page yet: plain text)
                     title=card_title(complaint) if complaint is not None else None,
                     url=case_link(complaint) if complaint is not None else None)


def _service_phone(ctx: HandlerContext) -> str | None:
    return ctx.policy.company.service_phone


# ---------------------------------------------------------------------------------------------
# Asking
# ---------------------------------------------------------------------------------------------


def _advance(
    session: Session, draft: Draft, ctx: HandlerContext, form: Form, *, before: Sequence[str] = (),
    handler: str = "intake",
) -> Reply:
    """Ask the next unanswered step, or show the summary when the form is complete."""
    step = _current_step(draft, form)
    if step is None:
        draft.notes.editing = None
        return _show_summary(session, draft, ctx, form, before=before)
    previous = draft.notes.previous.get(step.key)
    return _ask(session, draft, step, ctx, form, before=before, previous=previous, handler=handler)


def _current(
    session: Session, draft: Draft, ctx: HandlerContext, form: Form, *, before: Sequence[str] = (),
    handler: str = "intake",
) -> Reply:
    """Say ``before`` and repeat the open question (or the summary's instructions)."""
    if draft.mode is IntakeMode.SUMMARY and form.next_step(draft.answers) is None:
        return _show_summary(session, draft, ctx, form, before=before)
    if draft.mode is IntakeMode.SUMMARY:
        draft.move(ModeEvent.ASK)
    return _advance(session, draft, ctx, form, before=before, handler=handler)


def _ask(
    session: Session, draft: Draft, step: Step, ctx: HandlerContext, form: Form, *, before: Sequence[str] = (),
    previous: str | None = None, handler: str = "intake",
) -> Reply:
    draft.step = step.key
    draft.move(ModeEvent.ASK)
    draft.save(ctx.now)
    return Reply([question_text(draft, step, ctx, form, before=before, previous=previous)], handler=handler)


def question_text(
    draft: Draft, step: Step, ctx: HandlerContext, form: Form, *, before: Sequence[str] = (),
    previous: str | None = None,
) -> str:
    together = _open_together(draft, step, form)
    prompt = step.prompt or render_message(step.template_name, ctx=ctx, answers=draft.answers, together=together)
    number, total = form.position(step.key, draft.answers)
    return render_message(
        "intake/question", ctx=ctx, before=[b for b in before if b], prompt=prompt, step=step,
        options=[(index, option.label) for index, option in enumerate(step.options, 1)],
        progress=(number, total) if "category" in draft.answers and step.key != "category"
        and draft.notes.editing != step.key else None,
        previous=previous,
        seed=draft.notes.description_seed if step.key == "description" else None,
        editing=draft.notes.editing == step.key,
    )


# ---------------------------------------------------------------------------------------------
# Pre-filling from a first message
# ---------------------------------------------------------------------------------------------


def _extract(text: str, ctx: HandlerContext) -> Any:
    form = ctx.policy.form
    return extract(
        text, today=ctx.today,
        category_options=form.options_for("category"),
        problem_type_options=form.options_for("problem_type"),
        demand_options=form.options_for("demands"),
        quality_categories=ctx.policy.quality_categories,
        understanding=ctx.policy.understanding,
    )


def _prefill(draft: Draft, form: Form, text: str, ctx: HandlerContext) -> list[str]:
    """Fill the steps extraction finds in ``text``; returns the "已识别" lines to show back."""
    found = _extract(clean_text(text), ctx)
    values: dict[str, Any] = {
        "category": [found.category] if found.category else None,
        "phone": found.phone,
        "product_name": found.product_name,
        "batch": list(found.batch) or None,
        "purchase_date": found.purchase_date,
        "quantity": found.quantity,
        "problem_type": [found.problem_type] if found.problem_type else None,
        "demands": list(found.demands) or None,
        "complainant_name": found.complainant_name,
    }
    understood: list[str] = []
    for step in form.steps:
        value = values.get(step.key)
        display = found.displays.get(step.key)
        if value is None or display is None:
            continue
        if step.parser == "choice" and not _valid_choice(step, value):
            continue
        _store(draft, step, to_json(value), display)
        understood.append(f"{step.label}：{display}")
    if found.demand_words and "demands" in draft.answers:
        draft.answers["demand_words"] = found.demand_words
    if form.has("description") and "description" not in draft.answers:
        body = _strip_start_words(clean_text(text, fold=False))  # the customer's words, punctuation as typed
        step = form.step("description")
        if _is_vague(body, found):  # "铝版质量太差了": kept, and one question asks for the details
            draft.notes.description_seed = body[:200]
        elif len(body) >= max(DESCRIPTION_SEED_CHARS, step.min_length):
            parsed = parse_free_text(body, today=ctx.today, min_length=step.min_length, max_length=step.max_length)
            if parsed.accepted:
                _store(draft, step, parsed.value, parsed.display)
                understood.append(f"{step.label}：{parsed.display}")
    return understood


#: A first message shorter than this that names no problem type, product or date is a headline, not a description.
VAGUE_CHARS = 12


def _is_vague(body: str, found: Any) -> bool:
    named = ("problem_type", "product_name", "purchase_date", "quantity", "batch", "demands")
    return len(body) < VAGUE_CHARS and not any(key in found.displays for key in named)


def _valid_choice(step: Step, value: Any) -> bool:
    codes = {option.code for option in step.options}
    chosen = value if isinstance(value, list) else [value]
    return bool(chosen) and all(code in codes for code in chosen) and (step.multi or len(chosen) == 1)


def _strip_start_words(text: str) -> str:
    for word in ("我要投诉", "我想投诉", "投诉一下", "投诉"):
        if text.startswith(word):
            return text[len(word):].lstrip("，,：:。 ")
    return text

