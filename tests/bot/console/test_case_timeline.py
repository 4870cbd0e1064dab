"""The case page's timeline (处理记录) reads in Chinese: each detail's name from the field labels, each value by
its name (a severity, a time-limit preset, a category, a contact method, a task kind, a milestone…), yes/no as
是/否, moments in local time; no stored code reaches the page."""

from __future__ import annotations

import html as html_lib
import re

from handlers.workflow.tasks import open_task
from handlers.workflow.transitions import Actor, log_event
from storage.models import TaskKind
from tests.bot.console.case_support import post_action
from tests.bot.console.support import START, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import make_complaint


def _timeline_text(page: str) -> str:
    """The 处理记录 list as a reader sees it: tags gone, entities decoded, one space between words."""
    match = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert match, "no timeline on the page"
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_the_timeline_names_every_detail_and_value_in_chinese(client, db, world) -> None:
    with in_transaction(db, world) as w:
        complaint = make_complaint(w, received_at=START)  # writes 开始计时: the preset, the severity, the limits
        number, preset = complaint.number, w.policy.workflow.presets[complaint.sla_preset]
        log_event(w.session, complaint, "survey_answered", Actor.customer(complaint.openid), START,
                  {"survey": 1, "stars": 4, "score": 80, "comment": "处理及时", "channel": "page"})
        log_event(w.session, complaint, "answer_extension", Actor.customer(complaint.openid), START,
                  {"extension_id": 1, "consent": True, "answer": "同意", "deadline_moved": False})
        open_task(w.session, complaint, TaskKind.CALLBACK, "客户要求电话回访", now=START, dedupe_key="t:1")
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    assert post_action(client, number, "triage", valid="1", category="product_quality", severity="major",
                       urgent="y", lead_office=str(world.dept("quality_office").id)).status_code == 302
    assert post_action(client, number, "record_contact", method="phone", note="已电话联系").status_code == 302

    text = _timeline_text(client.get(f"/console/cases/{number}").text)

    # 开始计时: the preset by its name, the severity by its word, each limit by its milestone's name, local time
    assert "开始计时" in text and f"时限方案 {preset.label}" in text and "严重程度 一般" in text
    first = preset.milestones[0]
    assert f"设定时限 {first.label} 2026-02-13 11:00" in text  # 10:00 + 1 hour, Beijing time
    # triage: before → after in words, the lead office by name
    office = world.dept("quality_office").name
    assert "严重程度 一般 → 重大" in text and "紧急 否 → 是" in text and f"归口部门 — → {office}" in text
    # the contact method, the survey's channel and stars, the customer's consent, the task's kind
    assert "方式 电话" in text
    assert "客户评价" in text and "评价星级 4" in text and "方式 进度查询网页" in text
    assert "客户同意延期 是" in text and "时限已调整 否" in text
    assert "新建人工任务" in text and "任务类型 电话回访" in text
    # nothing stored shows through: no code, key, English yes/no or ISO timestamp
    for raw in (complaint.sla_preset, "general", "major", "preset", "severity", "consent", "stars", "callback",
                "page", "phone", "True", "False", "deadlines_", first.key, "survey_answered", "task_opened"):
        assert raw not in text, raw
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", text)
    assert re.findall(r"[A-Za-z_]{3,}", text) == []
