"""Property: any sequence of messages never raises, every reply fits one WeChat text, the state stays valid."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from handlers.config import load_policy
from storage.db import Database
from storage.models import Complaint, IntakeMode, IntakeSession, OutboxMessage
from storage.numbering import period_of
from tests.handlers.test_intake_chat import QUALITY_ANSWERS, Chat

_openids = itertools.count(1)

WORDS = [
    "投诉", "我要投诉", "取消", "上一步", "返回", "跳过", "帮助", "人工", "确认", "继续", "重新开始", "好了", "查询",
    "是", "不是", "无", "没有", "不知道", "1", "2", "3", "7", "9", "2 4", "2、4", "改1", "修改3", "改15", "改99",
    "13800138000", "0379-6733 3626", "+86 138 0013 8000转12", "上个月15号", "昨天", "2026-12-31", "3吨", "两箱",
    "表面有划痕", "更换和赔偿", "你好", "26110001", "客服电话多少？", "今天天气真的很不错啊",
    "上周买的6061铝板批次2311-08表面全是划痕，要求换货，电话13800138000",
    "板材开裂，工人被割伤，损失约8万元，准备找记者曝光", *QUALITY_ANSWERS,
]
TEXT = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=40),
    st.text(alphabet="划痕铝板批次电话要求退货赔偿吨件月日号0123456789-/ ，。！？", max_size=60),
    st.builds(lambda n: "很长的描述" * n, st.integers(min_value=100, max_value=700)),
)
SCRIPT = ["投诉", *QUALITY_ANSWERS, "跳过", "确认"]
ACTION = st.one_of(
    st.tuples(st.just("script"), st.integers(min_value=1, max_value=len(SCRIPT))),
    st.tuples(st.just("script_from_here"), st.integers(min_value=1, max_value=len(SCRIPT) - 1)),
    st.tuples(st.just("text"), TEXT),
    st.tuples(st.just("voice"), st.one_of(st.none(), TEXT)),
    st.tuples(st.just("image"), st.just("")),
    st.tuples(st.just("location"), st.sampled_from(["河南省洛阳市涧西区某某路8号", ""])),
    st.tuples(st.just("click"), st.sampled_from(["COMPLAIN", "STATUS", "FAQ", "OTHER"])),
    st.tuples(st.just("wait"), st.sampled_from([5, 31, 60 * 24 * 8])),
    st.tuples(st.just("event"), st.sampled_from(["subscribe", "unsubscribe"])),
)


def check_state(db: Database, company: dict[str, Any], openid: str) -> None:
    with db.read_sessions() as s:
        row = s.scalar(sa.select(IntakeSession).where(IntakeSession.openid == openid))
    if row is None:
        return
    event(f"mode {IntakeMode(row.mode).value}")
    form = load_policy(company).form
    mode = IntakeMode(row.mode)
    answers, displays, notes = row.answers, row.displays, row.notes
    # demand_words: a demand in the complainant's own words, kept beside 其他 (issue 13)
    assert set(answers) <= {step.key for step in form.steps} | {"demand_words"}
    assert set(displays) <= set(answers)
    if mode is IntakeMode.NONE:
        assert answers == {} and row.step is None
    if mode is IntakeMode.FILLING:
        assert row.step is not None and form.has(row.step)
        step = form.step(row.step)
        assert step.applies(answers)
        assert row.step not in answers or notes.get("editing") == row.step
    if mode is IntakeMode.SUMMARY:
        assert form.next_step(answers) is None and form.missing_required(answers) == []
        assert notes.get("summary_keys")
    if mode is IntakeMode.RESUME:
        assert notes.get("resume_mode") in (IntakeMode.FILLING.value, IntakeMode.SUMMARY.value)
    if mode is IntakeMode.CALLBACK_PHONE:
        assert "return_mode" in notes
    if mode is IntakeMode.OFFER:
        assert "offer_text" in notes
    for key, value in answers.items():
        if key == "demand_words":
            assert isinstance(value, str) and value and "other" in answers.get("demands", [])
            continue
        step = form.step(key)
        if value is None:
            assert not step.required or step.allow_none
        elif step.parser == "choice":
            codes = {option.code for option in step.options}
            assert isinstance(value, list) and value and set(value) <= codes
            assert step.multi or len(value) == 1
        elif step.parser == "phone":
            assert value["e164"].startswith("+86")
        elif step.parser in ("text", "name", "contact"):
            assert isinstance(value, str) and 0 < len(value) <= 1000


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(actions=st.lists(ACTION, max_size=30))
def test_any_sequence_of_messages(db: Database, company_config: dict[str, Any], actions: list[tuple[str, Any]]) -> None:
    openid = f"oProperty{next(_openids):07d}"
    chat = Chat(db, company_config, openid=openid, now=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    for kind, value in actions:
        if kind == "script":
            chat.say(*SCRIPT[:value])
        elif kind == "script_from_here":
            chat.say(*SCRIPT[value:])
        elif kind == "text":
            chat.send(value)
        elif kind == "voice":
            chat.voice(value)
        elif kind == "image":
            chat.image()
        elif kind == "location":
            chat.location(value)
        elif kind == "click":
            chat.click(value)
        elif kind == "event":
            chat.event(value)
        else:
            chat.advance(minutes=value)
            continue
        assert all(len(reply.encode()) <= 2048 for reply in chat.replies)
        check_state(db, company_config, openid)
    with db.read_sessions() as s:
        split = s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == openid, OutboxMessage.dedupe_key.like("reply:%")))
        assert split == 0, "every reply fits one message: nothing was split into the outbox"
        for complaint in s.scalars(sa.select(Complaint).where(Complaint.openid == openid)):
            assert complaint.number[:4] == period_of(complaint.registered_at) and len(complaint.number) == 8
            assert complaint.description and complaint.received_at <= complaint.registered_at
            event("a complaint was filed")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(answers=st.lists(TEXT, min_size=15, max_size=40))
def test_answering_anything_at_every_step(db: Database, company_config: dict[str, Any], answers: list[str]) -> None:
    """Long free-form runs through the whole form: the summary (with long answers) still fits."""
    openid = f"oProperty{next(_openids):07d}"
    chat = Chat(db, company_config, openid=openid, now=dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    chat.send("投诉")
    for answer in answers:
        chat.send(answer)
        check_state(db, company_config, openid)
    assert all(len(reply.encode()) <= 2048 for reply in chat.replies)
