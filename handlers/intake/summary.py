"""The numbered summary (请核对) shown before submitting, kept within one WeChat text (2048 bytes).

Long answers are abbreviated here only; the draft keeps them whole. When the whole summary would not
fit, every line is cut shorter until it does.
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

_CAPS = (40, 24, 14, 8, 4)


def abbreviate(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def render_summary(
    draft: Draft, form: Form, attachments: Sequence[Attachment], ctx: HandlerContext, *, before: Sequence[str] = ()
) -> tuple[str, list[str]]:
    """The summary text and the step keys its numbers stand for (for 修改N)."""
    from handlers.intake.submit import attachment_summary

    items: list[tuple[str, str, str]] = []
    for step in form.applicable(draft.answers):
        evidence = step.parser == "evidence"
        display = attachment_summary(attachments) if evidence else draft.displays.get(step.key, "")
        items.append((step.key, step.label, display))
    keys = [key for key, _, _ in items]
    text = ""
    for cap in _CAPS:
        lines = [(index, label, abbreviate(display, cap)) for index, (_, label, display) in enumerate(items, 1)]
        text = render_message(
            "intake/summary", ctx=ctx, before=[b for b in before if b], items=lines,
            callback=draft.callback_requested_at is not None,
        )
        if len(text.encode()) <= WECHAT_TEXT_LIMIT:
            break
    return text, keys
