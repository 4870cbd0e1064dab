"""The intake conversation (投诉受理对话): a follower files a complaint step by step in the chat.

Modules, in the order a message meets them:

* ``state``: the per-openid conversation row (locking, a working copy, unsubscribe, purge);
* ``modes``: where the conversation stands and the one table of its moves; ``notes``: the draft's typed notes;
* ``engine``: applies one message to the draft — steps, commands, media, idle resume, 人工;
* ``form``: the form as data (steps, parsers, conditions), with ``[form]`` overrides from tousu.toml;
* ``fields``: one step's answer, parsed (handlers.text) and kept as JSON, and written to the complaint;
* ``commands``: the words that steer (取消, 上一步, 跳过, 帮助, 人工, 确认, 修改N);
* ``summary``: the numbered 请核对 text within 2048 bytes;
* ``submit``: :func:`submit_complaint`, the draft becomes a numbered, routed complaint.
"""

from handlers.intake.engine import (
    answer_non_complaint,
    continue_or_start,
    handle,
    is_substantive,
    message_text,
    offer,
    request_callback,
    start,
)
from handlers.intake.form import Form, Step, build_form
from handlers.intake.settings import IntakeSettings
from handlers.intake.state import ConversationRow, Draft, forget_customer, lock_state, purge_stale_drafts
from handlers.intake.submit import IncompleteDraft, submit_complaint

__all__ = [
    "ConversationRow",
    "Draft",
    "Form",
    "IncompleteDraft",
    "IntakeSettings",
    "Step",
    "answer_non_complaint",
    "build_form",
    "continue_or_start",
    "forget_customer",
    "handle",
    "is_substantive",
    "lock_state",
    "message_text",
    "offer",
    "purge_stale_drafts",
    "request_callback",
    "start",
    "submit_complaint",
]
