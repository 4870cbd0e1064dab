"""The numbered summary (请核对) shown before submitting: one phone screen, within one WeChat text (2048 bytes).

One numbered line per question: facts asked together (产品、规格、批号; 日期和数量; 称呼和电话) share a line
and a number (修改N asks that question again), and the optional facts not given are listed on one line at the
end by number (issue 13: a quality complaint's summary was 20 lines). Long answers are abbreviated here only;
the draft keeps them whole. When the whole summary would not fit one message, every line is cut shorter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from handlers.context import HandlerContext
from handlers.intake.form import Form
from handlers.render import WECHAT_TEXT_LIMIT, render_message
from storage.models import Attachment

if TYPE_CHECKING:
    from handlers.intake.state import Draft

#: Characters a line's answer is cut to: about one line of a 390 px phone first, shorter if the message is too long.
_CAPS = (22, 14, 8, 4)


def abbreviate(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def render_summary(
    draft: Draft, form: Form, attachments: Sequence[Attachment], ctx: HandlerContext, *, before: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """The summary text and the step keys its numbers stand for (for 修改N)."""
    from handlers.intake.submit import attachment_summary

    not_given = render_message("intake/note/skipped_display", ctx=ctx)
    steps = form.applicable(draft.answers)
    applicable = {step.key for step in steps}
    asked_with = {key for step in steps for key in step.together if key in applicable}
    rows: list[tuple[str, str, list[tuple[str, str]]]] = []  # (question key, label, [(key, answer)] given)
    for step in steps:
        if step.key in asked_with:
            continue
        parts: list[tuple[str, str]] = []
        for key in (step.key, *(k for k in step.together if k in applicable)):
            if form.step(key).parser == "evidence":
                shown = attachment_summary(attachments) if attachments else ""
            else:
                shown = draft.displays.get(key, "")
            if shown and shown != not_given:
                parts.append((key, shown))
        rows.append((step.key, step.label, parts))
    keys = [key for key, _, _ in rows]
    empty = [(index, label) for index, (_, label, parts) in enumerate(rows, 1) if not parts]
    text = ""
    for cap in _CAPS:
        lines = [
            (index, key, label, [(part, abbreviate(shown, cap)) for part, shown in parts])
            for index, (key, label, parts) in enumerate(rows, 1) if parts
        ]
        text = render_message(
            "intake/summary", ctx=ctx, before=[b for b in before if b], items=lines, empty=empty,
            callback=draft.callback_requested_at is not None,
        )
        if len(text.encode()) <= WECHAT_TEXT_LIMIT:
            break
    return text, keys
