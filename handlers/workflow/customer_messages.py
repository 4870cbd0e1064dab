"""Template messages (模板消息) for customer messages about a case: ``[wechat_templates]`` in tousu.toml.

A 客服消息 reaches a customer only within 48 h of their last message (WECHAT.md); outside it WeChat answers
45015 and the dispatcher falls back to the template message queued with it. Each *purpose* of a customer
message has its own template, chosen in the Official Account's console (公众号后台 → 模板消息), configured as::

    [wechat_templates.result]
    template_id = "Xy…"                     # the id WeChat gave the template
    fields = { character_string1 = "number", thing2 = "notice", time3 = "sent_at" }

``fields`` maps each keyword of the template (WeChat names them by type and position: ``thing1``,
``time2``, ``character_string3``, ``phrase4`` …; old templates use ``keyword1`` …) to one of the case
variables below. The message's ``url`` is always the customer's case page (``notify.customer_case_link``).

=================  =========================================================  ===========================
variable           value                                                      fits
=================  =========================================================  ===========================
``number``         投诉编号 (``2602-0001``)                                    every type but time/date
``notice``         what this message says, in a few words (处理结果已反馈)      thing, keyword
``status``         the case's state in plain words (处置中, 已办结)              thing, phrase, keyword
``category``       投诉类型 (from the form's options)                           thing, keyword
``summary``        the start of the complaint's description                    thing, keyword
``detail``         the start of the message's own content (the result, the    thing, keyword
                   progress note, the reason for an extension)
``company``        the company's name (``[company] name``)                     thing, keyword
``received_at``    when the complaint reached us                               time, date, thing, keyword
``sent_at``        when this message was queued                                time, date, thing, keyword
``due_at``         the case's deadline (办结时限), 待定 when it has none          time, date, thing, keyword
``new_due_at``     an extension question's proposed deadline (else ``due_at``) time, date, thing, keyword
=================  =========================================================  ===========================

Values are cut to what each keyword type accepts (thing 20 characters, phrase 5, character_string 32…),
so a long result never earns a 47003. WeChat ignores ``first`` and ``remark`` since 2023: they are refused.
A purpose without a template is allowed: outside the 48 h window its messages become a staff task to phone
the customer (``handlers.workflow.tasks``), as do messages whose template send fails for good.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.config import PolicyError
from handlers.sla.calendar import SHANGHAI

#: The purposes a customer message about a case can have (the subtables of ``[wechat_templates]``).
RESULT = "result"  # 处理结果
SURVEY = "survey"  # 满意度评价
EXTENSION_QUESTION = "extension_question"  # 延期征询
STATUS_CHANGE = "status_change"  # 进度通知: every other message about a case
PURPOSES = (RESULT, SURVEY, EXTENSION_QUESTION, STATUS_CHANGE)

#: The purpose of each message template (templates/messages/workflow/<name>) sent to customers; a name
#: starting with ``survey`` is a survey, anything else not listed a status change.
TEMPLATE_PURPOSES: Mapping[str, str] = {
    "result": RESULT,
    "extension_request": EXTENSION_QUESTION,
}

TIME_VARIABLES = frozenset({"received_at", "sent_at", "due_at", "new_due_at"})
TEXT_VARIABLES = frozenset({"notice", "status", "category", "summary", "detail", "company"})
VARIABLES = frozenset({"number"}) | TIME_VARIABLES | TEXT_VARIABLES

# Keyword types (the name before the digits) and the longest value each accepts, in characters.
# time/date take a formatted time; None: no documented limit (old-style keywordN).
_LIMITS: Mapping[str, int | None] = {
    "thing": 20, "phrase": 5, "character_string": 32, "time": None, "date": None, "keyword": None,
}
# Which variables fit which type (a time in a phrase field, or a description in a time field, is 47003).
_FITS: Mapping[str, frozenset[str]] = {
    "thing": VARIABLES,
    "keyword": VARIABLES,
    "phrase": frozenset({"status"}),
    "character_string": frozenset({"number"}),
    "time": TIME_VARIABLES,
    "date": TIME_VARIABLES,
}
_KEY = re.compile(r"^(?P<type>[a-z_]+?)(?P<n>\d+)$")
_IGNORED_KEYS = ("first", "remark")


@dataclass(frozen=True)
class WeChatTemplate:
    """One purpose's template: its id and which case variable fills which keyword."""

    template_id: str
    fields: Mapping[str, str]  # keyword (thing1) → variable (number)

    def data(self, variables: Mapping[str, str]) -> dict[str, dict[str, str]]:
        """The ``data`` of a template send: each keyword's value, cut to what its type accepts."""
        out: dict[str, dict[str, str]] = {}
        for key, variable in self.fields.items():
            out[key] = {"value": _fit(_key_type(key), variables.get(variable) or "—")}
        return out


@dataclass(frozen=True)
class WeChatTemplates:
    """``[wechat_templates]``: the template per purpose; a purpose may have none."""

    by_purpose: Mapping[str, WeChatTemplate] = field(default_factory=dict)

    def get(self, purpose: str) -> WeChatTemplate | None:
        return self.by_purpose.get(purpose)


def purpose_of(template: str) -> str:
    """The purpose of the customer message rendered from ``templates/messages/workflow/<template>``."""
    if template.startswith("survey"):
        return SURVEY
    return TEMPLATE_PURPOSES.get(template, STATUS_CHANGE)


def parse_wechat_templates(raw: Mapping[str, Any]) -> WeChatTemplates:
    """Check ``[wechat_templates]``; `PolicyError` names the key (``wechat_templates.result.fields.time2``)."""
    found: dict[str, WeChatTemplate] = {}
    for purpose, table in raw.items():
        where = f"wechat_templates.{purpose}"
        if purpose not in PURPOSES:
            raise PolicyError(f"{where}: unknown purpose; known: {', '.join(PURPOSES)}")
        if not isinstance(table, Mapping):
            raise PolicyError(f"{where}: expected a table [{where}]")
        unknown = set(table) - {"template_id", "fields"}
        if unknown:
            raise PolicyError(f"{where}.{sorted(unknown)[0]}: unknown setting; known: template_id, fields")
        template_id = table.get("template_id")
        if not isinstance(template_id, str) or not template_id.strip():
            raise PolicyError(f"{where}.template_id: required, the template's id from 公众号后台 (text)")
        fields = table.get("fields")
        if not isinstance(fields, Mapping) or not fields:
            raise PolicyError(f"{where}.fields: required, a table of keyword = variable "
                              f"(e.g. {{ thing1 = \"notice\" }})")
        checked: dict[str, str] = {}
        for key, variable in fields.items():
            checked[key] = _check_field(f"{where}.fields.{key}", key, variable)
        found[purpose] = WeChatTemplate(template_id=template_id.strip(), fields=checked)
    return WeChatTemplates(by_purpose=found)


def _check_field(where: str, key: str, variable: Any) -> str:
    if key in _IGNORED_KEYS:
        raise PolicyError(f"{where}: WeChat ignores first/remark since 2023; map the template's keywords")
    kind = _key_type(key)
    if kind is None:
        raise PolicyError(f"{where}: not a template keyword; expected a type and a number "
                          f"({', '.join(sorted(_LIMITS))}, e.g. thing1)")
    if not isinstance(variable, str) or variable not in VARIABLES:
        raise PolicyError(f"{where}: unknown variable {variable!r}; known: {', '.join(sorted(VARIABLES))}")
    if variable not in _FITS[kind]:
        raise PolicyError(f"{where}: a {kind} keyword cannot hold {variable!r}; it fits "
                          f"{', '.join(sorted(_FITS[kind]))}")
    return variable


def _key_type(key: str) -> str | None:
    match = _KEY.match(key)
    if match is None or match["type"] not in _LIMITS:
        return None
    return match["type"]


def _fit(kind: str | None, value: str) -> str:
    value = " ".join(value.split())  # WeChat refuses control characters (line breaks) in a value
    limit = _LIMITS.get(kind or "", None)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def template_time(moment: dt.datetime | None) -> str:
    """A time as WeChat's time/date keywords accept it: ``2026年2月24日 23:59`` (Asia/Shanghai)."""
    if moment is None:
        return "待定"
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


__all__ = [
    "EXTENSION_QUESTION",
    "PURPOSES",
    "RESULT",
    "STATUS_CHANGE",
    "SURVEY",
    "VARIABLES",
    "WeChatTemplate",
    "WeChatTemplates",
    "parse_wechat_templates",
    "purpose_of",
    "template_time",
]
