"""The satisfaction survey (满意度评价): sent after the result, answered in the chat or on the case page, acted on.

The loop (DOMAIN.md, seeds 001, 003, 004):

1. `sweep_surveys` (a scheduler job, every minute) sends the survey a configured delay after a result was fed
   back to a complaint that came through WeChat: the case moves 已反馈 → 回访中 (``start_survey``), and the
   customer is asked for 1–5 stars, with a link to the case page where the stars can be given too.
2. The customer answers in the chat (`try_answer`, a pending-question flow the router runs before intake:
   ``5``, ``4 处理很及时``, ``★★★``, ``五星``, ``很满意``, ``不满意``…) or on the page. `answer_survey` records the
   first answer (stars, score = stars × ``score_per_star``, comment, channel) and applies the preset's rules:

   * satisfied (score ≥ ``[workflow].satisfied_score``, 85 by default) → close, once the follow-up visits
     (回访) the category needs are recorded (else a callback task for the missing ones);
   * below it → a supplementary-measures task (补充措施) or a reopen (重新处理), per preset;
   * fewer than ``callback_below_stars`` (3) → a callback task (电话回访) for the lead office and a note
     against the handler (批评教育);
   * ``notice_at_or_below_stars`` (2) or fewer → a notice to management (通报), recorded against the handler
     and the handling department;
   * ``praise_stars`` (5) → praise recorded for the handler (表扬).

   The first answer stands; a later one (chat or page) is kept as a comment beside it.
3. No answer: ONE reminder after ``remind_after``; then, when ``window`` has passed, the case closes as
   未评价 (never counted as satisfied).

Everything is per preset (``[survey.presets.<preset>]`` over ``[survey]``), parsed at start-up by
`parse_survey`. Locks follow the workflow's order: the complaint row first, then its survey.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.config import PolicyError
from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Reply
from handlers.render import render_message
from handlers.sla.calendar_store import load_calendar
from handlers.sla.presets import Duration, SlaError, Unit, add_duration
from handlers.workflow import notify, tasks
from handlers.workflow.operations import close_after_survey, load_complaint, reopen_after_survey
from handlers.workflow.transitions import Action, Actor, apply, log_event
from storage.models import (
    Complaint,
    ComplaintStatus,
    FollowUp,
    IntakeMode,
    PerformanceKind,
    PerformanceRecord,
    Source,
    Staff,
    Survey,
    SurveyStatus,
    TaskKind,
    TimelineEvent,
)

if TYPE_CHECKING:
    from handlers.intake.state import ConversationRow

HANDLER_NAME = "survey_answer"
SUPPLEMENTARY = "supplementary"
REOPEN = "reopen"
BELOW_THRESHOLD_ACTIONS: Final = frozenset({SUPPLEMENTARY, REOPEN})
CHANNELS: Final = frozenset({"wechat", "page"})
SWEEP_BATCH = 200

# -- configuration ([survey]) ---------------------------------------------------------------------------


_TWO_HOURS: Final = Duration(Unit.HOURS, 2)
_ONE_WORKDAY: Final = Duration(Unit.WORKDAYS, 1)
_THREE_WORKDAYS: Final = Duration(Unit.WORKDAYS, 3)


@dataclass(frozen=True)
class SurveyRules:
    """One preset's survey rules."""

    delay: Duration = _TWO_HOURS  # after the result is fed back
    remind_after: Duration = _ONE_WORKDAY  # after sending, the one reminder
    window: Duration = _THREE_WORKDAYS  # after sending, closed as 未评价 without an answer
    below_threshold: str = REOPEN  # supplementary | reopen
    callback_below_stars: int = 3  # fewer stars → callback task + note against the handler
    notice_at_or_below_stars: int = 2  # this many stars or fewer → notice to management
    praise_stars: int = 5  # this many stars → praise recorded


#: Built-in differences between the presets: seed 001 (nonferrous) asks for supplementary measures below
#: 85/100; seeds 003/004 start the handling again (直至客户满意).
PRESET_DEFAULTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "nonferrous-quality": {"below_threshold": SUPPLEMENTARY},
}


@dataclass(frozen=True)
class SurveySettings:
    """``[survey]``: parsed once at start-up by `parse_survey`."""

    enabled: bool = True
    score_per_star: int = 20
    satisfied_score: int = 85  # [workflow].satisfied_score: one threshold for the survey and for closing
    default: SurveyRules = field(default_factory=SurveyRules)
    presets: Mapping[str, SurveyRules] = field(default_factory=dict)
    follow_ups: Mapping[str, int] = field(default_factory=dict)  # category → 回访 visits required
    default_follow_ups: int = 0

    def rules_for(self, preset: str | None) -> SurveyRules:
        return self.presets.get(preset or "", self.default)

    def follow_ups_required(self, category: str | None) -> int:
        """How many follow-up visits (回访) a case of ``category`` needs before it closes (seed 003 第八条)."""
        return self.follow_ups.get(category or "", self.default_follow_ups)

    def score(self, stars: int) -> int:
        return min(100, stars * self.score_per_star)


_RULE_KEYS: Final = frozenset({"delay", "remind_after", "window", "below_threshold", "callback_below_stars",
                               "notice_at_or_below_stars", "praise_stars"})
_SURVEY_KEYS: Final = _RULE_KEYS | {"enabled", "score_per_star", "follow_ups", "presets"}


def _stars(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 6:
        raise PolicyError(f"{where}: expected a number of stars 0–6, got {value!r}")
    return value


def _rules(where: str, raw: Mapping[str, Any], base: SurveyRules) -> SurveyRules:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: expected a table")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise PolicyError(f"{where}.{sorted(unknown)[0]}: unknown setting; known: {', '.join(sorted(_RULE_KEYS))}")
    changes: dict[str, Any] = {}
    for key in ("delay", "remind_after", "window"):
        if key in raw:
            try:
                changes[key] = Duration.parse(raw[key])
            except (SlaError, TypeError, ValueError) as exc:
                raise PolicyError(f"{where}.{key}: {exc}") from None
    if "below_threshold" in raw:
        if raw["below_threshold"] not in BELOW_THRESHOLD_ACTIONS:
            raise PolicyError(f"{where}.below_threshold: expected \"supplementary\" or \"reopen\", "
                              f"got {raw['below_threshold']!r}")
        changes["below_threshold"] = raw["below_threshold"]
    for key in ("callback_below_stars", "notice_at_or_below_stars", "praise_stars"):
        if key in raw:
            changes[key] = _stars(f"{where}.{key}", raw[key])
    return replace(base, **changes)


def parse_survey(raw: Mapping[str, Any], *, presets: frozenset[str], satisfied_score: int) -> SurveySettings:
    """``[survey]`` of tousu.toml (``presets``: the SLA preset keys; ``satisfied_score``: ``[workflow]``'s)."""
    unknown = set(raw) - _SURVEY_KEYS
    if unknown:
        raise PolicyError(f"survey.{sorted(unknown)[0]}: unknown setting; known: {', '.join(sorted(_SURVEY_KEYS))}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PolicyError(f"survey.enabled: expected true or false, got {enabled!r}")
    per_star = raw.get("score_per_star", 20)
    if isinstance(per_star, bool) or not isinstance(per_star, int) or not 1 <= per_star <= 100:
        raise PolicyError(f"survey.score_per_star: expected a whole number 1–100, got {per_star!r}")
    default = _rules("survey", {k: v for k, v in raw.items() if k in _RULE_KEYS}, SurveyRules())
    overrides = raw.get("presets", {})
    if not isinstance(overrides, Mapping):
        raise PolicyError("survey.presets: expected tables [survey.presets.<preset>]")
    for key in overrides:
        if key not in presets:
            raise PolicyError(f"survey.presets.{key}: no SLA preset {key!r}; known: {', '.join(sorted(presets))}")
    rules: dict[str, SurveyRules] = {}
    for key in presets:
        # A built-in difference yields to the same rule set company-wide in [survey].
        built_in = {k: v for k, v in PRESET_DEFAULTS.get(key, {}).items() if k not in raw}
        base = _rules(f"survey.presets.{key}", built_in, default)
        rules[key] = _rules(f"survey.presets.{key}", overrides.get(key, {}), base)
    follow_ups = raw.get("follow_ups", {})
    if not isinstance(follow_ups, Mapping):
        raise PolicyError("survey.follow_ups: expected a table of category = number of visits")
    counts: dict[str, int] = {}
    for category, count in follow_ups.items():
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10:
            raise PolicyError(f"survey.follow_ups.{category}: expected a number of visits 0–10, got {count!r}")
        counts[str(category)] = count
    return SurveySettings(
        enabled=enabled, score_per_star=per_star, satisfied_score=satisfied_score, default=default, presets=rules,
        follow_ups={k: v for k, v in counts.items() if k != "default"}, default_follow_ups=counts.get("default", 0),
    )


def _settings(ctx: HandlerContext) -> SurveySettings:
    return ctx.policy.survey


# -- reading an answer -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    stars: int
    comment: str | None
    bare_number: bool = False  # just a digit ("4", "4 很及时"): also a valid answer to other questions


_SEPARATOR = r"[\s,，.。!！、:：;；~～\-—]"
_DIGIT = re.compile(rf"^(?P<n>[1-5])(?:\s*(?:颗星|星|分))?(?:{_SEPARATOR}+(?P<rest>.*)|$)", re.S)
_DIGIT_STAR = re.compile(r"^(?P<n>[1-5])\s*(?:颗星|星|分)(?:好评)?(?P<rest>.*)$", re.S)
_STAR_SIGNS = re.compile(r"^(?P<stars>[★⭐☆✩✰]+)(?P<rest>.*)$", re.S)
_CHINESE_STAR = re.compile(r"^(?P<n>[一二两三四五])\s*(?:颗)?星(?:级)?(?:好评)?(?P<rest>.*)$", re.S)
_CHINESE_NUMBERS: Final = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
# Longest first: 很不满意 before 不满意 before 满意.
_WORDS: Final = sorted({
    "非常不满意": 1, "很不满意": 1, "十分不满意": 1, "特别不满意": 1, "极不满意": 1, "差评": 1,
    "不满意": 2, "不太满意": 2, "不大满意": 2, "不是很满意": 2,
    "一般": 3, "还行": 3, "还可以": 3, "凑合": 3,
    "比较满意": 4, "基本满意": 4, "还算满意": 4, "较满意": 4,
    "满意": 5, "很满意": 5, "非常满意": 5, "十分满意": 5, "特别满意": 5, "好评": 5, "五星好评": 5,
}.items(), key=lambda pair: -len(pair[0]))
_PREFIX = re.compile(r"^(?:我|我们|本人)?(?:对(?:处理结果|结果|处理)?)?(?:表示|觉得|感觉)?")


def _rest(text: str | None) -> str | None:
    rest = re.sub(rf"^{_SEPARATOR}+", "", (text or "").strip())
    return rest[:1000] or None


def parse_rating(text: str | None) -> Rating | None:
    """1–5 stars and the comment after them from what a customer typed, or None when it is no rating.

    ``5``, ``4 处理很及时``, ``3星``, ``★★★``, ``★★★☆☆``, ``五星``, ``很满意``, ``不满意，太慢了``.
    """
    if not text:
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned:
        return None
    match = _DIGIT_STAR.match(cleaned)
    if match:
        return Rating(int(match["n"]), _rest(match["rest"]))
    match = _DIGIT.match(cleaned)
    if match:
        return Rating(int(match["n"]), _rest(match["rest"]), bare_number=True)
    match = _STAR_SIGNS.match(cleaned)
    if match:
        filled = sum(1 for sign in match["stars"] if sign in "★⭐")
        if 1 <= filled <= 5:
            return Rating(filled, _rest(match["rest"]))
        return None
    match = _CHINESE_STAR.match(cleaned)
    if match:
        return Rating(_CHINESE_NUMBERS[match["n"]], _rest(match["rest"]))
    body = _PREFIX.sub("", cleaned, count=1)
    for word, stars in _WORDS:
        if body.startswith(word):
            rest = body[len(word):]
            # "满意度怎么算" is a question, not an answer: a word must end the text or be followed by a break.
            if rest and not re.match(rf"^(?:{_SEPARATOR}|的|了|啊|呀|吧|哈)", rest):
                continue
            return Rating(stars, _rest(re.sub(r"^(?:的|了|啊|呀|吧|哈)+", "", rest)))
    return None


# -- sending, reminding, expiring ----------------------------------------------------------------------


@dataclass
class SweepReport:
    sent: int = 0
    reminded: int = 0
    expired: int = 0
    cancelled: int = 0

    @property
    def rows(self) -> int:
        return self.sent + self.reminded + self.expired + self.cancelled


def _fed_back_at(session: Session, complaint: Complaint) -> dt.datetime | None:
    return session.scalar(
        sa.select(sa.func.max(TimelineEvent.at))
        .where(TimelineEvent.complaint_id == complaint.id, TimelineEvent.action == Action.FEED_BACK_RESULT.value)
    )


def _after(duration: Duration, start: dt.datetime, session: Session, ctx: HandlerContext) -> dt.datetime:
    return add_duration(duration, start, load_calendar(session, ctx.policy.calendar)).astimezone(dt.UTC)


def answers_on_the_page(complaint: Complaint) -> bool:
    """Whether the customer can give the stars themselves: a WeChat follower (in the chat or on the case page),
    or a website visitor, who holds the case page's signed link from the end of the website form (seed 004
    四.5: the website's 五星评价 column). Phone, letter and walk-in customers are visited by staff instead."""
    return bool(complaint.openid) or complaint.source is Source.WEBSITE


def survey_candidates(session: Session, limit: int = SWEEP_BATCH) -> list[Complaint]:
    """Cases fed back (已反馈, or already 回访中 by a staff visit) to a customer who can answer themselves
    (`answers_on_the_page`) whose round has no survey yet."""
    has_survey = sa.exists().where(Survey.complaint_id == Complaint.id, Survey.round == Complaint.reopen_count)
    return list(session.scalars(
        sa.select(Complaint)
        .where(Complaint.status.in_([ComplaintStatus.RESOLVED, ComplaintStatus.SURVEYING]),
               sa.or_(Complaint.openid.is_not(None), Complaint.source == Source.WEBSITE), ~has_survey)
        .order_by(Complaint.id)
        .limit(limit)
    ))


def send_survey(session: Session, complaint: Complaint, *, ctx: HandlerContext) -> Survey | None:
    """Send this round's survey if its delay has passed (None if not yet, or already sent). Locks the case."""
    complaint = load_complaint(session, complaint.id)
    if complaint.status not in (ComplaintStatus.RESOLVED, ComplaintStatus.SURVEYING) or not answers_on_the_page(
            complaint):
        return None
    existing = session.scalar(sa.select(Survey).where(Survey.complaint_id == complaint.id,
                                                      Survey.round == complaint.reopen_count))
    if existing is not None:
        return None
    fed_back = _fed_back_at(session, complaint)
    if fed_back is None:
        return None
    rules = _settings(ctx).rules_for(complaint.sla_preset)
    if ctx.now < _after(rules.delay, fed_back, session, ctx):
        return None
    survey = Survey(
        complaint_id=complaint.id, round=complaint.reopen_count, status=SurveyStatus.SENT, sent_at=ctx.now,
        remind_at=_after(rules.remind_after, ctx.now, session, ctx),
        expires_at=_after(rules.window, ctx.now, session, ctx), later_answers=[], consequences=[],
    )
    session.add(survey)
    session.flush()
    details = {"survey": survey.id, "round": survey.round, "expires_at": survey.expires_at}
    if complaint.status is ComplaintStatus.RESOLVED:
        apply(session, complaint, Action.START_SURVEY, Actor.system(), ctx.now, details=details)
    else:
        log_event(session, complaint, "survey_sent", Actor.system(), ctx.now, details)
    notify.tell_customer(session, complaint, "survey/ask", now=ctx.now, policy=ctx.policy,
                         dedupe_key=f"survey:{survey.id}:ask",
                         company=ctx.company_name, expires=notify.local_time(survey.expires_at))
    return survey


def _due_reminders(session: Session, now: dt.datetime, limit: int) -> list[Survey]:
    return list(session.scalars(
        sa.select(Survey)
        .where(Survey.status == SurveyStatus.SENT, Survey.reminded_at.is_(None), Survey.remind_at <= now)
        .order_by(Survey.id).limit(limit)
    ))


def _due_expiries(session: Session, now: dt.datetime, limit: int) -> list[Survey]:
    return list(session.scalars(
        sa.select(Survey)
        .where(Survey.status == SurveyStatus.SENT, Survey.reminded_at.is_not(None), Survey.expires_at <= now)
        .order_by(Survey.id).limit(limit)
    ))


def _lock(session: Session, survey: Survey) -> tuple[Complaint, Survey]:
    complaint = load_complaint(session, survey.complaint_id)  # the lock order: the complaint first
    session.refresh(survey, with_for_update=True)
    return complaint, survey


def _cancel_if_moved_on(survey: Survey, complaint: Complaint, now: dt.datetime) -> bool:
    """A case staff closed or reopened meanwhile has nothing left to ask: the survey is withdrawn."""
    if complaint.status is ComplaintStatus.SURVEYING and complaint.reopen_count == survey.round:
        return False
    survey.status, survey.closed_at = SurveyStatus.CANCELLED, now
    return True


def remind(session: Session, survey: Survey, *, ctx: HandlerContext) -> bool:
    """The one reminder, if still unanswered and not yet reminded."""
    complaint, survey = _lock(session, survey)
    if survey.status is not SurveyStatus.SENT or survey.reminded_at is not None or ctx.now < survey.remind_at:
        return False
    if _cancel_if_moved_on(survey, complaint, ctx.now):
        return False
    survey.reminded_at = ctx.now
    # A reminder sent late (the worker was down) still leaves the customer the configured time to answer.
    gap = survey.expires_at - survey.remind_at
    survey.expires_at = max(survey.expires_at, ctx.now + gap)
    log_event(session, complaint, "survey_reminded", Actor.system(), ctx.now,
              {"survey": survey.id, "expires_at": survey.expires_at})
    notify.tell_customer(session, complaint, "survey/reminder", now=ctx.now, policy=ctx.policy,
                         dedupe_key=f"survey:{survey.id}:reminder", company=ctx.company_name,
                         expires=notify.local_time(survey.expires_at))
    return True


def expire(session: Session, survey: Survey, *, ctx: HandlerContext) -> bool:
    """After the reminder and the window without an answer: 未评价, and the case closes (never as satisfied)."""
    complaint, survey = _lock(session, survey)
    if survey.status is not SurveyStatus.SENT or survey.reminded_at is None or ctx.now < survey.expires_at:
        return False
    if _cancel_if_moved_on(survey, complaint, ctx.now):
        return False
    survey.status, survey.closed_at = SurveyStatus.EXPIRED, ctx.now
    log_event(session, complaint, "survey_expired", Actor.system(), ctx.now, {"survey": survey.id})
    close_after_survey(session, complaint, ctx=ctx, outcome="no_answer",
                       note=render_message("survey/no_answer_note", survey=survey,
                                           sent=notify.local_time(survey.sent_at),
                                           reminded=notify.local_time(survey.reminded_at)))
    return True


def withdraw_stale(session: Session, *, ctx: HandlerContext, limit: int = SWEEP_BATCH) -> int:
    """Surveys still waiting whose case staff closed or reopened by hand: withdrawn, so nothing asks again."""
    rows = session.execute(
        sa.select(Survey, Complaint)
        .join(Complaint, Complaint.id == Survey.complaint_id)
        .where(Survey.status == SurveyStatus.SENT,
               sa.or_(Complaint.status != ComplaintStatus.SURVEYING, Complaint.reopen_count != Survey.round))
        .limit(limit)
    ).all()
    withdrawn = 0
    for survey, _ in rows:
        complaint, survey = _lock(session, survey)
        if survey.status is SurveyStatus.SENT and _cancel_if_moved_on(survey, complaint, ctx.now):
            withdrawn += 1
    return withdrawn


def sweep_surveys(session: Session, *, ctx: HandlerContext, limit: int = SWEEP_BATCH) -> SweepReport:
    """One tick of the survey job: send what is due, remind, close the unanswered, withdraw the stale."""
    report = SweepReport()
    if not _settings(ctx).enabled:
        return report
    report.cancelled = withdraw_stale(session, ctx=ctx, limit=limit)
    for complaint in survey_candidates(session, limit):
        if send_survey(session, complaint, ctx=ctx) is not None:
            report.sent += 1
    for survey in _due_reminders(session, ctx.now, limit):
        if remind(session, survey, ctx=ctx):
            report.reminded += 1
    for survey in _due_expiries(session, ctx.now, limit):
        if expire(session, survey, ctx=ctx):
            report.expired += 1
    return report


# -- answering -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What an answer did: ``first`` False means it was kept as a later comment only."""

    survey: Survey
    complaint: Complaint
    first: bool
    stars: int | None
    consequences: tuple[str, ...] = ()


def follow_ups_done(session: Session, complaint: Complaint) -> int:
    """回访 recorded since the latest result was fed back (a reopened case counts its new round afresh)."""
    since = _fed_back_at(session, complaint)
    query = sa.select(sa.func.count()).select_from(FollowUp).where(FollowUp.complaint_id == complaint.id)
    if since is not None:
        query = query.where(FollowUp.at >= since)
    return int(session.scalar(query) or 0)


def answer_survey(
    session: Session,
    survey: Survey,
    *,
    ctx: HandlerContext,
    stars: int | None,
    comment: str | None,
    channel: str,
) -> Answer:
    """Record the customer's answer; the first one sets off the rules, a later one is kept as a comment.

    ``stars`` None is a comment without stars (the page's 补充意见), kept beside an answer already given.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown survey channel {channel!r}")
    if stars is not None and not 1 <= stars <= 5:
        raise ValueError(f"stars must be 1–5, got {stars!r}")
    complaint, survey = _lock(session, survey)
    text = (comment or "").strip()[:1000] or None
    actor = Actor.customer(complaint.openid)
    still_open = survey.status is SurveyStatus.SENT and not _cancel_if_moved_on(survey, complaint, ctx.now)
    if not still_open or stars is None:
        if stars is None and text is None:
            return Answer(survey, complaint, first=False, stars=None)
        later = {"at": ctx.now.isoformat(), "channel": channel, "stars": stars, "text": text}
        survey.later_answers = [*(survey.later_answers or []), later]
        log_event(session, complaint, "survey_comment", actor, ctx.now,
                  {"survey": survey.id, "stars": stars, "comment": text, "channel": channel})
        return Answer(survey, complaint, first=False, stars=stars)
    conf = _settings(ctx)
    score = conf.score(stars)
    survey.status, survey.answered_at, survey.channel = SurveyStatus.ANSWERED, ctx.now, channel
    survey.stars, survey.score, survey.comment = stars, score, text
    complaint.satisfaction_stars, complaint.satisfaction_score, complaint.satisfaction_comment = stars, score, text
    log_event(session, complaint, "survey_answered", actor, ctx.now,
              {"survey": survey.id, "stars": stars, "score": score, "comment": text, "channel": channel})
    consequences = _apply_rules(session, complaint, survey, ctx=ctx)
    survey.consequences = list(consequences)
    session.flush()
    return Answer(survey, complaint, first=True, stars=stars, consequences=consequences)


def _apply_rules(session: Session, complaint: Complaint, survey: Survey, *, ctx: HandlerContext) -> tuple[str, ...]:
    conf = _settings(ctx)
    rules = conf.rules_for(complaint.sla_preset)
    stars, score = survey.stars or 0, survey.score or 0
    done: list[str] = []
    handler = session.get(Staff, complaint.responsible_staff_id) if complaint.responsible_staff_id else None
    key = f"survey:{survey.id}"
    labels: dict[str, Any] = {"survey": survey, "stars": stars, "score": score, "comment": survey.comment,
              "threshold": conf.satisfied_score, "handler": handler}
    if stars >= rules.praise_stars:
        _record(session, complaint, survey, PerformanceKind.PRAISE, handler, ctx)
        notify.tell_staff(session, complaint, [s for s in [handler, *notify.department_heads(session, complaint)]
                                               if s is not None],
                          "survey/praise", now=ctx.now, title=f"客户五星好评 {complaint.number}",
                          dedupe_key=f"{key}:praise", **labels)
        done.append("praise")
    if stars < rules.callback_below_stars:
        _record(session, complaint, survey, PerformanceKind.CRITICISM, handler, ctx)
        tasks.open_task(session, complaint, TaskKind.CALLBACK, render_message("survey/task_callback", **labels),
                        now=ctx.now, dedupe_key=f"{key}:callback", details={"survey": survey.id, "stars": stars})
        done.append("callback")
    if stars <= rules.notice_at_or_below_stars:
        _record(session, complaint, survey, PerformanceKind.NOTICE, handler, ctx)
        notify.tell_staff(session, complaint, notify.management_staff(session, complaint), "survey/notice",
                          now=ctx.now, title=f"低分评价通报 {complaint.number}", dedupe_key=f"{key}:notice",
                          department=_department_name(session, complaint),
                          category=ctx.policy.category_label(complaint.category), **labels)
        done.append("notice")
    if score >= conf.satisfied_score:
        required = conf.follow_ups_required(complaint.category)
        visited = follow_ups_done(session, complaint)
        if visited >= required:
            close_after_survey(session, complaint, ctx=ctx, outcome="satisfied")
            done.append("close")
        else:
            tasks.open_task(session, complaint, TaskKind.CALLBACK,
                            render_message("survey/task_follow_ups", required=required, visited=visited, **labels),
                            now=ctx.now, dedupe_key=f"{key}:follow_ups",
                            details={"survey": survey.id, "required": required, "visited": visited})
            done.append("follow_ups")
    elif rules.below_threshold == SUPPLEMENTARY:
        tasks.open_task(session, complaint, TaskKind.SUPPLEMENTARY, render_message("survey/task_supplementary",
                                                                                   **labels),
                        now=ctx.now, dedupe_key=f"{key}:supplementary", details={"survey": survey.id, "score": score})
        done.append("supplementary")
    else:
        reopen_after_survey(session, complaint, ctx=ctx, reason=render_message("survey/reopen_reason", **labels))
        done.append("reopen")
    return tuple(done)


def _department_name(session: Session, complaint: Complaint) -> str | None:
    from storage.models import Department

    department = session.get(Department, complaint.handling_department_id) if complaint.handling_department_id else None
    return department.name if department is not None else None


def _record(session: Session, complaint: Complaint, survey: Survey, kind: PerformanceKind, handler: Staff | None,
            ctx: HandlerContext) -> None:
    """A praise, note or notice against the handler and the handling department (counted by the statistics)."""
    record = PerformanceRecord(
        kind=kind, complaint_id=complaint.id, survey_id=survey.id, staff_id=handler.id if handler else None,
        department_id=complaint.handling_department_id, stars=survey.stars, at=ctx.now,
        note=render_message(f"survey/record_{kind.value}", survey=survey, complaint=complaint),
    )
    session.add(record)
    session.flush()
    log_event(session, complaint, f"survey_{kind.value}", Actor.system(), ctx.now,
              {"survey": survey.id, "record": record.id, "stars": survey.stars,
               "staff_id": record.staff_id, "department_id": record.department_id})


# -- the chat flow ---------------------------------------------------------------------------------------

_NUMBER_IN_TEXT = re.compile(r"\d{8}")
# Modes in which the follower's bare numbers belong to another question (the intake form's choices, the FAQ
# menu): there only star signs, 星 and words answer the survey.
_NUMBER_MODES: Final = frozenset({IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME, IntakeMode.FAQ_MENU})


def open_surveys_for(session: Session, openid: str) -> list[tuple[Survey, Complaint]]:
    """Surveys this follower can still answer, oldest first."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        sa.select(Survey, Complaint)
        .join(Complaint, Complaint.id == Survey.complaint_id)
        .where(Complaint.openid == openid, Survey.status == SurveyStatus.SENT,
               Complaint.status == ComplaintStatus.SURVEYING, Complaint.reopen_count == Survey.round)
        .order_by(Survey.sent_at, Survey.id)
    ).all()]


def answered_surveys_for(session: Session, openid: str, now: dt.datetime) -> list[tuple[Survey, Complaint]]:
    """Surveys this follower answered whose window is still running: a second rating becomes a comment."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        sa.select(Survey, Complaint)
        .join(Complaint, Complaint.id == Survey.complaint_id)
        .where(Complaint.openid == openid, Survey.status == SurveyStatus.ANSWERED, Survey.expires_at >= now)
        .order_by(Survey.answered_at.desc(), Survey.id.desc())
    ).all()]


def _pick(rows: list[tuple[Survey, Complaint]], text: str) -> tuple[Survey, Complaint]:
    numbers = set(_NUMBER_IN_TEXT.findall(text))
    for survey, complaint in rows:
        if complaint.number in numbers:
            return survey, complaint
    return rows[0]


def try_answer(session: Session, row: ConversationRow, message: IncomingMessage, ctx: HandlerContext) -> Reply | None:
    """Answer a pending survey from this message, or None to let the other flows have it (``row``: the
    follower's conversation, locked by the router: in some of its modes a bare number answers the form)."""
    if message.kind not in ("text", "voice") or not message.text:
        return None
    # Words first: most messages are no rating, and this runs on every message a follower sends.
    text = _NUMBER_IN_TEXT.sub("", message.text).strip()
    rating = parse_rating(text)
    if rating is None:
        return None
    if rating.bare_number and row.mode in _NUMBER_MODES:
        return None
    pending = open_surveys_for(session, message.sender)
    if pending:
        survey, complaint = _pick(pending, message.text)
        answer = answer_survey(session, survey, ctx=ctx, stars=rating.stars, comment=rating.comment,
                               channel="wechat")
        others = [c for s, c in pending if s.id != survey.id]
        text = render_message("survey/thanks", complaint=complaint, answer=answer, stars=rating.stars,
                              comment=rating.comment, next_complaint=others[0] if others else None,
                              company=ctx.company_name)
        return Reply([text], handler=HANDLER_NAME)
    answered = answered_surveys_for(session, message.sender, ctx.now)
    if not answered:
        return None
    survey, complaint = _pick(answered, message.text)
    answer = answer_survey(session, survey, ctx=ctx, stars=rating.stars, comment=rating.comment, channel="wechat")
    return Reply([render_message("survey/later", complaint=complaint, answer=answer, survey=answer.survey)],
                 handler=HANDLER_NAME)


__all__ = [
    "HANDLER_NAME",
    "Answer",
    "Rating",
    "SurveyRules",
    "SurveySettings",
    "SweepReport",
    "answer_survey",
    "answered_surveys_for",
    "expire",
    "follow_ups_done",
    "open_surveys_for",
    "parse_rating",
    "parse_survey",
    "remind",
    "send_survey",
    "survey_candidates",
    "sweep_surveys",
    "try_answer",
    "withdraw_stale",
]
