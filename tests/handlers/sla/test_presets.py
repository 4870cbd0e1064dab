"""SLA presets and deadline arithmetic, with deadlines counted by hand on the 2026 calendar.

Working days after Fri 2026-02-13 (the last working day before the Spring Festival block):
  1 = Sat 2/14 (调休上班) · 2/15–2/23 off · 2 = Tue 2/24 · 3 = 2/25 · 4 = 2/26 · 5 = 2/27 ·
  6 = Sat 2/28 (调休上班) · 7 = 3/2 · 8 = 3/3 · 9 = 3/4 · 10 = 3/5 · 11 = 3/6 · 12 = 3/9 ·
  13 = 3/10 · 14 = 3/11 · 15 = Thu 3/12 · … 16 = 3/13 · 17–21 = 3/16–3/20 · 22–26 = 3/23–3/27 ·
  27 = 3/30 · 28 = 3/31 · 29 = 4/1 · 30 = Thu 4/2 (清明 4/4–4/6 comes after).
Working days after Wed 2026-09-30 (National Day 10/1–10/7 off):
  1 = Thu 10/8 · 2 = Fri 10/9 · 3 = Sat 10/10 (调休上班) · 10/11 Sun off · 4 = 10/12 · 5 = 10/13 ·
  6 = 10/14 · 7 = 10/15 · 8 = 10/16 · 9 = 10/19 · 10 = 10/20 · 11 = 10/21 · 12 = 10/22 ·
  13 = 10/23 · 14 = 10/26 · 15 = Tue 10/27 · 16 = 10/28 · 17 = 10/29 · 18 = 10/30 · 19–23 =
  11/2–11/6 · 24–28 = 11/9–11/13 · 29 = 11/16 · 30 = Tue 11/17.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.sla.calendar import SHANGHAI, WorkCalendar
from handlers.sla.presets import (
    ESCALATION_ROLES,
    AlertKind,
    Duration,
    SlaConfigError,
    SlaError,
    Unit,
    alerts,
    compute_due,
    deadlines_for_anchor,
    default_presets,
    get_preset,
    load_presets,
    parse_severity,
    reminder_times,
    reminders_between,
)
from handlers.sla.promises import customer_promises
from storage.models import Severity


def texts(promises: list) -> list[str]:
    return [p.text for p in promises]

CAL = WorkCalendar()
NONFERROUS = get_preset("nonferrous-quality")
GAS = get_preset("gas-utility")
GENERAL = get_preset("general")

BEFORE_SPRING = datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI)  # Fri, working day
BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI)  # Wed, working day


def eod(month: int, day: int, year: int = 2026) -> datetime:
    return datetime.combine(date(year, month, day), time(23, 59, 59), tzinfo=SHANGHAI)


def clock(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


# -- nonferrous-quality: every row of seed 001's table, 一般 and 重大 ------------------------------

NONFERROUS_BEFORE_SPRING = [
    # (milestone, severity, due) with the clock started at Fri 2026-02-13 10:00
    ("first_response", "general", clock(2, 13, 11)),  # working day: 1 h
    ("first_response", "major", clock(2, 13, 11)),
    ("registration", "general", clock(2, 13, 12)),  # 2 h
    ("registration", "major", clock(2, 13, 12)),
    ("investigation_organised", "general", eod(2, 24)),  # 2 wd
    ("investigation_organised", "major", eod(2, 14)),  # 1 wd: the 调休 Saturday
    ("site_visit", "general", eod(2, 25)),  # 3 wd
    ("site_visit", "major", eod(2, 25)),
    ("retest", "general", eod(2, 25)),  # 3 wd
    ("retest", "major", eod(2, 25)),
    ("investigation_report", "general", eod(2, 27)),  # 5 wd
    ("investigation_report", "major", eod(2, 25)),  # 3 wd
    ("plan_started", "general", eod(2, 24)),  # 2 wd after the report
    ("plan_started", "major", eod(2, 14)),  # 1 wd after approval
    ("result_feedback", "general", eod(2, 24)),  # 2 wd
    ("result_feedback", "major", eod(2, 24)),
    ("whole_case", "general", eod(3, 12)),  # 15 wd
    ("whole_case", "major", eod(4, 2)),  # 30 wd
    ("follow_up", "general", eod(2, 27)),  # 5 wd
    ("follow_up", "major", eod(2, 27)),
]

NONFERROUS_BEFORE_NATIONAL_DAY = [
    # clock started at Wed 2026-09-30 16:00
    ("first_response", "general", clock(9, 30, 17)),
    ("registration", "major", clock(9, 30, 18)),
    ("investigation_organised", "general", eod(10, 9)),  # 2 wd
    ("investigation_organised", "major", eod(10, 8)),  # 1 wd
    ("site_visit", "general", eod(10, 10)),  # 3 wd: the 调休 Saturday
    ("retest", "major", eod(10, 10)),
    ("investigation_report", "general", eod(10, 13)),  # 5 wd
    ("investigation_report", "major", eod(10, 10)),  # 3 wd
    ("plan_started", "general", eod(10, 9)),
    ("plan_started", "major", eod(10, 8)),
    ("result_feedback", "general", eod(10, 9)),
    ("whole_case", "general", eod(10, 27)),  # 15 wd
    ("whole_case", "major", eod(11, 17)),  # 30 wd
    ("follow_up", "major", eod(10, 13)),  # 5 wd
]


@pytest.mark.parametrize(("milestone", "severity", "due"), NONFERROUS_BEFORE_SPRING)
def test_nonferrous_table_before_the_spring_festival(milestone: str, severity: str, due: datetime) -> None:
    assert compute_due(NONFERROUS, milestone, BEFORE_SPRING, severity, CAL) == due


@pytest.mark.parametrize(("milestone", "severity", "due"), NONFERROUS_BEFORE_NATIONAL_DAY)
def test_nonferrous_table_before_national_day(milestone: str, severity: str, due: datetime) -> None:
    assert compute_due(NONFERROUS, milestone, BEFORE_NATIONAL_DAY, severity, CAL) == due


def test_nonferrous_rows_and_anchors_follow_seed_001() -> None:
    rows = {m.key: m for m in NONFERROUS.milestones}
    assert list(rows) == [
        "first_response",
        "registration",
        "investigation_organised",
        "site_visit",
        "retest",
        "investigation_report",
        "plan_started",
        "result_feedback",
        "whole_case",
        "follow_up",
    ]
    anchors = {key: (m.limit("general").anchor, m.limit("major").anchor) for key, m in rows.items()}
    assert anchors == {
        "first_response": ("received", "received"),
        "registration": ("received", "received"),
        "investigation_organised": ("registered", "registered"),
        "site_visit": ("site_visit_decided", "site_visit_decided"),
        "retest": ("sample_received", "sample_received"),
        "investigation_report": ("investigation_started", "investigation_started"),
        "plan_started": ("report_submitted", "plan_approved"),  # 重大: approval first
        "result_feedback": ("implementation_done", "implementation_done"),
        "whole_case": ("received", "received"),
        "follow_up": ("result_fed_back", "result_fed_back"),
    }
    assert rows["registration"].limit("major").note == "重大投诉需立即上报公司管理层"
    assert rows["registration"].limit("general").note == ""


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (clock(2, 13, 10), clock(2, 13, 11)),  # Fri, working day → 1 h
        (clock(2, 7, 9), clock(2, 7, 13)),  # Sat, ordinary weekend → 4 h
        (clock(2, 14, 9), clock(2, 14, 10)),  # Sat 2/14, 调休上班 → working day → 1 h
        (clock(2, 18, 9), clock(2, 18, 13)),  # Wed in the Spring Festival block → 4 h
        (clock(2, 13, 23, 30), clock(2, 14, 0, 30)),  # late on a working day: still 1 h of clock
        # 2026-02-14 16:30 UTC = Sun 2/15 00:30 in Shanghai, a day off → 4 h → 04:30
        (datetime(2026, 2, 14, 16, 30, tzinfo=UTC), clock(2, 15, 4, 30)),
    ],
    ids=["working-day", "weekend", "tiaoxiu-saturday", "holiday-weekday", "late-evening", "utc-input"],
)
def test_first_response_is_one_hour_on_working_days_and_four_otherwise(received: datetime, due: datetime) -> None:
    for severity in Severity:
        result = compute_due(NONFERROUS, "first_response", received, severity, CAL)
        assert result == due
        assert result.tzinfo is SHANGHAI


def test_first_response_follows_company_exceptions() -> None:
    # The company works Sat 2026-02-07: a complaint then gets the 1 h limit.
    cal = WorkCalendar({date(2026, 2, 7): True})
    assert compute_due(NONFERROUS, "first_response", clock(2, 7, 9), "general", cal) == clock(2, 7, 10)


def test_reminders_at_half_and_eighty_percent() -> None:
    # whole case, 15 wd from 2/13: 7.5 wd → noon of working day 8 (3/3); 12 wd → start of day 13 (3/10).
    assert reminder_times(NONFERROUS, "whole_case", BEFORE_SPRING, "general", CAL) == [
        clock(3, 3, 12),
        clock(3, 10, 0),
    ]
    # 2 wd from 2/13: 1 wd → start of working day 2 (2/24); 1.6 wd → 2/24 14:24. Never in the holiday.
    assert reminder_times(NONFERROUS, "investigation_organised", BEFORE_SPRING, "general", CAL) == [
        clock(2, 24, 0),
        clock(2, 24, 14, 24),
    ]
    # first response, 1 h window: 30 and 48 minutes in.
    assert reminder_times(NONFERROUS, "first_response", BEFORE_SPRING, "general", CAL) == [
        clock(2, 13, 10, 30),
        clock(2, 13, 10, 48),
    ]
    # on a weekend the window is 4 h: 2 h and 3 h 12 min in.
    assert reminder_times(NONFERROUS, "first_response", clock(2, 7, 9), "general", CAL) == [
        clock(2, 7, 11),
        clock(2, 7, 12, 12),
    ]


def test_escalation_chain_for_the_whole_case() -> None:
    chain = alerts(NONFERROUS, "whole_case", BEFORE_SPRING, "general", CAL)
    assert [(a.kind, a.at, a.recipient) for a in chain] == [
        (AlertKind.REMINDER, clock(3, 3, 12), "responsible"),
        (AlertKind.REMINDER, clock(3, 10, 0), "responsible"),
        (AlertKind.BREACH, clock(3, 13, 0), "department_head"),  # first second past 3/12 23:59:59
        (AlertKind.SUPERVISION, eod(3, 13), "management"),  # one working day later: Fri 3/13
    ]
    assert {a.milestone_key for a in chain} == {"whole_case"}


def test_supervision_delay_counts_working_days() -> None:
    # follow-up due Fri 2/27 (5 wd from 2/13); the next working day is the 调休 Saturday 2/28.
    chain = alerts(NONFERROUS, "follow_up", BEFORE_SPRING, "general", CAL)
    assert chain[-1].kind is AlertKind.SUPERVISION
    assert chain[-1].at == eod(2, 28)


def test_deadlines_an_event_creates() -> None:
    received = deadlines_for_anchor(NONFERROUS, "received", BEFORE_SPRING, "general", CAL)
    assert [(d.milestone.key, d.due) for d in received] == [
        ("first_response", clock(2, 13, 11)),
        ("registration", clock(2, 13, 12)),
        ("whole_case", eod(3, 12)),
    ]
    milestone, due = received[-1]  # unpacks as a pair
    assert (milestone.label, due) == ("整体处理时限", eod(3, 12))
    report = deadlines_for_anchor(NONFERROUS, "report_submitted", BEFORE_SPRING, "general", CAL)
    assert [(d.milestone.key, d.due) for d in report] == [("plan_started", eod(2, 24))]
    # 重大: the plan clock waits for management's approval
    assert deadlines_for_anchor(NONFERROUS, "report_submitted", BEFORE_SPRING, "major", CAL) == []
    approved = deadlines_for_anchor(NONFERROUS, "plan_approved", BEFORE_SPRING, "major", CAL)
    assert [(d.milestone.key, d.due) for d in approved] == [("plan_started", eod(2, 14))]
    assert deadlines_for_anchor(NONFERROUS, "note_added", BEFORE_SPRING, "general", CAL) == []


def test_customer_promises_in_plain_chinese() -> None:
    assert texts(customer_promises(NONFERROUS, "general")) == [
        "1小时（非工作日4小时）内与您联系",
        "如需现场核查，3个工作日内派员到达现场",
        "收到样品后3个工作日内完成复检",
        "15个工作日内办结",
        "处理结果反馈后5个工作日内回访",
    ]
    assert "30个工作日内办结" in texts(customer_promises(NONFERROUS, "重大"))


# -- gas-utility (seed 004) ----------------------------------------------------------------------


def test_gas_hand_over_applies_to_complex_cases_only() -> None:
    assert compute_due(GAS, "hand_over", clock(2, 13, 10), "major", CAL) == clock(2, 13, 10, 30)
    with pytest.raises(SlaError, match="hand_over"):
        compute_due(GAS, "hand_over", clock(2, 13, 10), "general", CAL)
    general = deadlines_for_anchor(GAS, "received", clock(2, 13, 10), "general", CAL)
    assert [d.milestone.key for d in general] == ["whole_case"]
    major = deadlines_for_anchor(GAS, "received", clock(2, 13, 10), "major", CAL)
    assert [d.milestone.key for d in major] == ["hand_over", "whole_case"]


@pytest.mark.parametrize(
    ("milestone", "severity", "anchor", "due"),
    [
        ("investigation_organised", "general", clock(2, 13, 10, 20), clock(2, 13, 12, 20)),  # 2 h
        ("investigation_organised", "major", clock(2, 13, 23), clock(2, 14, 1)),  # clock hours
        ("whole_case", "general", clock(2, 13, 10), eod(2, 14)),  # 1 wd: the 调休 Saturday
        ("whole_case", "general", clock(3, 6, 16), eod(3, 9)),  # Fri → Mon
        ("whole_case", "major", clock(2, 13, 10), eod(2, 27)),  # 5 wd
        ("whole_case", "major", BEFORE_NATIONAL_DAY, eod(10, 13)),  # 5 wd
        ("follow_up", "general", clock(2, 27, 17), clock(2, 27, 19)),  # 2 h after feedback
    ],
)
def test_gas_utility_rows(milestone: str, severity: str, anchor: datetime, due: datetime) -> None:
    assert compute_due(GAS, milestone, anchor, severity, CAL) == due


def test_gas_utility_promises_and_labels() -> None:
    assert texts(customer_promises(GAS, "general")) == ["1个工作日内处理完成", "处理完成后2小时内回访"]
    assert texts(customer_promises(GAS, "major")) == ["5个工作日内处理完成", "处理完成后2小时内回访"]
    assert GAS.severity_labels[Severity.MAJOR] == "较大、复杂投诉"


# -- general (seeds 000/002/003) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("milestone", "severity", "due"),
    [
        ("registration", "general", clock(10, 1, 16)),  # 24 clock hours, holiday or not
        ("investigation_report", "general", eod(10, 9)),  # 2 wd
        ("whole_case", "general", eod(10, 10)),  # 3 wd
        ("whole_case", "major", eod(10, 13)),  # 复杂: 5 wd
    ],
)
def test_general_rows_before_national_day(milestone: str, severity: str, due: datetime) -> None:
    assert compute_due(GENERAL, milestone, BEFORE_NATIONAL_DAY, severity, CAL) == due


def test_general_special_cases_have_a_ten_day_ceiling() -> None:
    # 特殊投诉最长不超过10个工作日: 10 wd from 9/30 is 10/20.
    assert compute_due(GENERAL, "whole_case", BEFORE_NATIONAL_DAY, "major", CAL, ceiling=True) == eod(10, 20)
    # without a ceiling in the rules, ceiling=True is the ordinary limit
    assert compute_due(NONFERROUS, "whole_case", BEFORE_SPRING, "general", CAL, ceiling=True) == eod(3, 12)


def test_general_quality_reply_only_for_quality_objections() -> None:
    plain = deadlines_for_anchor(GENERAL, "received", BEFORE_NATIONAL_DAY, "general", CAL)
    assert [d.milestone.key for d in plain] == ["registration", "whole_case"]
    quality = deadlines_for_anchor(
        GENERAL, "received", BEFORE_NATIONAL_DAY, "general", CAL, conditions={"quality_objection"}
    )
    assert [(d.milestone.key, d.due) for d in quality] == [
        ("registration", clock(10, 1, 16)),
        ("quality_reply", eod(10, 10)),  # 3 wd
        ("whole_case", eod(10, 10)),
    ]
    assert texts(customer_promises(GENERAL, "general")) == ["3个工作日内处理完毕"]
    assert texts(customer_promises(GENERAL, "major", conditions={"quality_objection"})) == [
        "质量异议3个工作日内给予答复",
        "5个工作日内处理完毕",
    ]


# -- configuration overrides ---------------------------------------------------------------------


def test_override_one_severity_keeps_the_other_and_the_anchor() -> None:
    presets = load_presets(
        {"nonferrous-quality": {"milestones": {"whole_case": {"general": "10wd"}, "plan_started": {"major": "2wd"}}}}
    )
    p = presets["nonferrous-quality"]
    assert compute_due(p, "whole_case", BEFORE_SPRING, "general", CAL) == eod(3, 5)  # 10 wd
    assert compute_due(p, "whole_case", BEFORE_SPRING, "major", CAL) == eod(4, 2)  # unchanged 30
    plan = p.milestone("plan_started").limit("major")
    assert (plan.duration, plan.anchor) == (Duration(Unit.WORKDAYS, 2), "plan_approved")
    assert plan.note == "方案须报公司管理层审批"
    # the built-in presets are untouched
    assert compute_due(NONFERROUS, "whole_case", BEFORE_SPRING, "general", CAL) == eod(3, 12)


def test_override_from_toml() -> None:
    doc = tomllib.loads(
        """
        [sla.presets.nonferrous-quality]
        reminder_fractions = [0.9, 0.5]
        escalation = { supervise_after = "24h", supervise_to = "lead_office" }

        [sla.presets.nonferrous-quality.milestones.investigation_report]
        limit = "4wd"                       # both severities

        [sla.presets.nonferrous-quality.milestones.site_visit]
        enabled = false

        [sla.presets.nonferrous-quality.milestones.first_response]
        limit = { unit = "hours", amount = 2, non_working_day_amount = 8 }

        [sla.presets.my-plant]
        base = "general"
        label = "本厂投诉处理"
        [sla.presets.my-plant.milestones.whole_case]
        major = { limit = "7wd", note = "复杂投诉7个工作日" }
        """
    )
    presets = load_presets(doc["sla"]["presets"])
    p = presets["nonferrous-quality"]
    assert p.reminder_fractions == (0.5, 0.9)
    assert compute_due(p, "investigation_report", BEFORE_SPRING, "general", CAL) == eod(2, 26)  # 4 wd
    assert compute_due(p, "investigation_report", BEFORE_SPRING, "major", CAL) == eod(2, 26)
    assert compute_due(p, "first_response", clock(2, 7, 9), "general", CAL) == clock(2, 7, 17)  # 8 h
    with pytest.raises(SlaError, match="site_visit"):
        p.milestone("site_visit")
    # 督办 24 clock hours after the breach: 1 wd from 2/13 is due Sat 2/14 23:59:59 → Sun 2/15,
    # inside the holiday (the default, one working day, would have been Tue 2/24).
    chain = alerts(p, "investigation_organised", BEFORE_SPRING, "major", CAL)
    assert (chain[-1].at, chain[-1].recipient) == (eod(2, 15), "lead_office")
    default_chain = alerts(NONFERROUS, "investigation_organised", BEFORE_SPRING, "major", CAL)
    assert default_chain[-1].at == eod(2, 24)
    plant = presets["my-plant"]
    assert plant.label == "本厂投诉处理"
    assert compute_due(plant, "whole_case", BEFORE_NATIONAL_DAY, "major", CAL) == eod(10, 15)  # 7 wd
    assert compute_due(plant, "whole_case", BEFORE_NATIONAL_DAY, "general", CAL) == eod(10, 10)
    assert set(presets) == {"nonferrous-quality", "gas-utility", "general", "my-plant"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"general": {"milestones": {"whole_case": {"genral": "3wd"}}}}, "unknown key"),
        ({"general": {"milestones": {"whole_case": {"general": "3 days"}}}}, r"whole_case\.general\.limit"),
        ({"general": {"reminder_fractions": [0.5, 1.2]}}, "between 0 and 1"),
        ({"general": {"milestones": {"whole_case": {"general": "1.5wd"}}}}, "whole days"),
        ({"brand-new": {"milestones": {}}}, "label is required"),
        ({"copy": {"base": "nope"}}, "no preset 'nope'"),
        ({"general": {"milestones": {"new_step": {"limit": "2h"}}}}, "label is required"),
        ({"general": {"milestones": {"whole_case": {"promise": "尽快办结"}}}}, "must contain"),
        ({"general": {"milestones": {"whole_case": {"severities": "major"}}}}, "non-empty list"),
        ({"general": {"milestones": {"whole_case": {"severities": ["urgent"]}}}}, r"whole_case\.severities"),
        ({"general": {"milestones": {"whole_case": {"general": {"unit": "hours", "amount": "x"}}}}}, "general.limit"),
    ],
)
def test_bad_overrides_fail_loudly_with_their_path(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(SlaConfigError, match=message):
        load_presets(overrides)


def test_duration_parsing_and_labels() -> None:
    assert Duration.parse("30min") == Duration(Unit.HOURS, 0.5)
    assert Duration.parse("2h").label() == "2小时"
    assert Duration.parse("30min").label() == "30分钟"
    assert Duration.parse("3wd").label() == "3个工作日"
    assert Duration.parse({"unit": "minutes", "amount": 90}).label() == "90分钟"
    assert Duration.parse({"unit": "hours", "amount": 1, "non_working_day_amount": 4}).label() == (
        "1小时（非工作日4小时）"
    )


def test_severity_and_lookup_errors() -> None:
    assert parse_severity("一般") is Severity.GENERAL
    assert parse_severity("major") is Severity.MAJOR
    with pytest.raises(SlaError, match="severity"):
        parse_severity("urgent")
    with pytest.raises(SlaError, match="no SLA preset"):
        get_preset("nope")
    with pytest.raises(SlaError, match="no milestone"):
        compute_due(NONFERROUS, "nope", BEFORE_SPRING, "general", CAL)


def test_presets_are_frozen_and_built_once() -> None:
    assert default_presets() is default_presets()
    with pytest.raises(AttributeError):
        NONFERROUS.label = "x"  # type: ignore[misc]
    assert hash(NONFERROUS) == hash(load_presets()["nonferrous-quality"])


# -- properties ----------------------------------------------------------------------------------

ALL = [(p, m.key, sev) for p in default_presets().values() for m in p.milestones for sev in m.limits]
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))


@given(case=st.sampled_from(ALL), anchor=MOMENTS)
def test_every_deadline_is_after_its_anchor_and_reminders_fall_inside(case: tuple, anchor: datetime) -> None:
    preset, key, severity = case
    due = compute_due(preset, key, anchor, severity, CAL)
    assert due > anchor
    limit = preset.milestone(key).limit(severity)
    if limit.duration.unit is Unit.WORKDAYS:
        assert CAL.is_working_day(due.date())
        assert due.time() == time(23, 59, 59)
        assert CAL.working_days_between(anchor.astimezone(SHANGHAI).date(), due.date()) == limit.duration.amount
    reminders = reminder_times(preset, key, anchor, severity, CAL)
    assert reminders == sorted(reminders)
    assert all(anchor < r <= due for r in reminders)
    if limit.duration.unit is Unit.WORKDAYS:
        assert all(CAL.is_working_day(r.date()) for r in reminders)  # never inside a holiday block
    chain = alerts(preset, key, anchor, severity, CAL)
    assert [a.at for a in chain] == sorted(a.at for a in chain)


@given(anchor=MOMENTS)
def test_major_whole_case_is_never_shorter_than_general(anchor: datetime) -> None:
    for preset in default_presets().values():
        general = compute_due(preset, "whole_case", anchor, "general", CAL)
        assert compute_due(preset, "whole_case", anchor, "major", CAL) >= general


def test_an_escalation_recipient_must_be_a_known_role() -> None:
    with pytest.raises(SlaConfigError, match=r"sla\.presets\.general\.escalation\.breach_to: 'department_haed'"):
        load_presets({"general": {"escalation": {"breach_to": "department_haed"}}})
    assert {p.escalation.breach_to for p in default_presets().values()} <= set(ESCALATION_ROLES)


def test_one_reminder_rule_for_a_preset_window_and_an_extended_one() -> None:
    """`reminder_times` of a working-day limit is `reminders_between` its anchor and its due time."""
    due = compute_due(NONFERROUS, "whole_case", BEFORE_SPRING, "general", CAL)
    assert reminder_times(NONFERROUS, "whole_case", BEFORE_SPRING, "general", CAL) == reminders_between(
        BEFORE_SPRING, due, NONFERROUS.reminder_fractions, CAL, working_days=True
    )
    # a window shorter than one working day is split in clock time
    short_due = BEFORE_SPRING + timedelta(hours=4)
    assert reminders_between(BEFORE_SPRING, short_due, (0.5,), CAL, working_days=True) == [
        BEFORE_SPRING + timedelta(hours=2)
    ]
