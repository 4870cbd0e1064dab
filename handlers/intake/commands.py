"""Words that steer the conversation rather than answer a question (取消, 上一步, 跳过, 人工 …).

Only a whole message counts as a command: "我不知道批号" is an answer, "不知道" on an optional step is a
skip. The words are matched after the same clean-up the parsers use (full-width folded, punctuation
at the end dropped), so "取消。" and "ＯＫ" work.
"""

from __future__ import annotations

import re

from handlers.text import clean_text, to_number, yes_or_no

CANCEL = "cancel"  # 取消: drop the draft
BACK = "back"  # 上一步: re-answer the previous step
SKIP = "skip"  # 跳过: leave an optional step empty
SOFT_SKIP = "soft_skip"  # 不知道/没有: a skip on optional steps, an answer (refused or 无) elsewhere
HELP = "help"
HUMAN = "human"  # 人工: the customer wants a phone call
CONTINUE = "continue"  # an idle draft: go on
RESTART = "restart"  # an idle draft: start again
START = "start"  # 投诉 / 我要投诉
DONE = "done"  # at the evidence step: no more photos
STATUS = "status"  # 查询: the status query
FAQ = "faq"  # 常见问题: the FAQ menu, as the menu button opens it

_WORDS: dict[str, frozenset[str]] = {
    CANCEL: frozenset({"取消", "退出", "取消投诉", "不投诉了", "不想投诉了", "撤销", "放弃", "cancel", "quit"}),
    BACK: frozenset({"上一步", "返回", "返回上一步", "上一个", "上一题", "后退", "back"}),
    SKIP: frozenset({"跳过", "略过", "下一步", "下一个", "skip", "pass"}),
    SOFT_SKIP: frozenset({"不知道", "不清楚", "不记得", "忘了", "记不清", "没有", "无", "暂无", "没"}),
    HELP: frozenset({"帮助", "help", "?", "怎么用", "怎么填", "使用说明"}),
    HUMAN: frozenset({"人工", "转人工", "人工服务", "人工客服", "找人工", "客服", "打电话给我", "给我打电话", "回电"}),
    CONTINUE: frozenset({"继续", "继续填写", "接着填", "接着来"}),
    RESTART: frozenset({"重新开始", "重来", "重新填写", "从头开始", "重新填"}),
    START: frozenset({"投诉", "我要投诉", "我想投诉", "我要投诉!", "要投诉", "开始投诉", "投诉登记"}),
    DONE: frozenset({"好了", "好", "好的", "完成", "发完了", "发完", "完了", "就这些", "没了", "ok", "可以了", "完毕",
                     "提交", "传完了", "就这么多"}),
    STATUS: frozenset({"查询", "查进度", "进度", "进度查询", "查询进度", "我的投诉", "投诉进度", "查投诉"}),
    FAQ: frozenset({"常见问题", "常见问题解答", "问题解答", "faq", "常见问答"}),
}  # fmt: skip

# The order a word is looked up in when it belongs to several groups depends on the situation, so
# callers ask for the groups they accept (see `is_`), except for the context-free ones here.
_GLOBAL_ORDER = (CANCEL, BACK, SKIP, HELP, HUMAN, START, STATUS, FAQ)


def normalise(text: str) -> str:
    s = clean_text(text).lower()
    s = re.sub(r"[\s.。!！~～…,，、]+", "", s)
    return s.replace("？", "?")


def is_(text: str | None, group: str) -> bool:
    """True when the whole of ``text`` is one of ``group``'s words."""
    return text is not None and normalise(text) in _WORDS[group]


def is_yes(text: str | None) -> bool:
    """A yes (确认, 好的, 是的, 可以 …): confirms the summary and accepts the offer (see handlers.text.words)."""
    return yes_or_no(text) is True


def is_no(text: str | None) -> bool:
    """A no (不, 不用了, 算了 …): declines the offer."""
    return yes_or_no(text) is False


def command_of(text: str | None) -> str | None:
    """The context-free command ``text`` is (取消, 上一步, 跳过, 帮助, 人工, 投诉, 查询, 常见问题), if any."""
    if text is None:
        return None
    s = normalise(text)
    for group in _GLOBAL_ORDER:
        if s in _WORDS[group]:
            return group
    return None


_EDIT = re.compile(r"^(?:修改|改|更改|编辑|重填)?第?(?P<n>[0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:项|条|个|号)?$")


def edit_target(text: str | None) -> int | None:
    """At the summary: "修改3", "改3", "第3项" or plain "3" → 3."""
    if text is None:
        return None
    m = _EDIT.match(normalise(text))
    if m is None:
        return None
    number = to_number(m.group("n"))
    if number is None or number != number.to_integral_value():
        return None
    return int(number)
