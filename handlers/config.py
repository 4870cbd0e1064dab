"""The company policy (``tousu.toml``): every section parsed and checked once, into one frozen value.

`load_policy` is called at start-up of every process (web app, worker, each CLI command, through
``bot.config.load_settings``); a wrong key or value raises `PolicyError`, whose message is one line
naming the key path and what is wrong, and the process does not start. Handlers then read the parsed
sections from ``ctx.policy`` and never see the raw mapping.

Each section is parsed in exactly one place, beside the code that uses it:

=================================  ==============================================================
section                            parsed by
=================================  ==============================================================
``[company]``                      `parse_company` (here)
``[intake]``                       ``handlers.intake.settings.intake_settings``
``[form]``                         ``handlers.intake.form.build_form``
``[routing]``                      ``handlers.classify.parse_routing``
``[severity]``                     ``handlers.classify.parse_severity_rules``
``[[faq]]``                        ``handlers.faq.parse_faq_seeds``
``[understanding]``                ``handlers.text.intent.parse_understanding``
``[org]``                          ``handlers.org.parse_org``
``[console]``                      ``handlers.accounts.parse_console``
``[wechat_templates]``             ``handlers.workflow.customer_messages.parse_wechat_templates``
``[survey]``                       ``handlers.survey.parse_survey`` (after [sla]/[workflow]: it names presets)
``[website]``                      ``handlers.intake.website.parse_website`` (the public complaint page)
``[webhooks]``                     ``handlers.webhooks.parse_webhooks`` (signed POSTs of state changes)
``[sla]``, ``[workflow]``,         ``handlers.workflow.settings.parse_settings`` (the presets, the
``[calendar]``                     category → preset table and the calendar rules belong together)
=================================  ==============================================================

The section parsers import `PolicyError` from here, so this module imports them inside `load_policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from storage.base import SHANGHAI

if TYPE_CHECKING:
    from handlers.accounts import ConsolePolicy
    from handlers.classify import Routing, SeverityRules
    from handlers.faq import FaqSeed
    from handlers.intake.form import Form
    from handlers.intake.settings import IntakeSettings
    from handlers.intake.website import WebsiteSettings
    from handlers.org import OrgChart
    from handlers.sla.calendar_store import CalendarRules
    from handlers.stats.settings import StatsSettings
    from handlers.survey import SurveySettings
    from handlers.text.intent import Understanding
    from handlers.webhooks import WebhookPolicy
    from handlers.workflow.customer_messages import WeChatTemplates
    from handlers.workflow.settings import WorkflowSettings


class PolicyError(ValueError):
    """The policy file cannot be understood; ``str(err)`` is one line: the key path, then what is wrong."""


SECTIONS = frozenset(
    {"company", "intake", "form", "routing", "severity", "faq", "org", "sla", "workflow", "calendar", "console",
     "wechat_templates", "survey", "website", "webhooks", "understanding", "stats"}
)


@dataclass(frozen=True)
class CompanyInfo:
    """``[company]``: what customers are told about the company."""

    name: str = "本公司"
    service_phone: str | None = None


@dataclass(frozen=True)
class CompanyPolicy:
    """Every section of tousu.toml, parsed and checked (build with `load_policy`)."""

    company: CompanyInfo
    intake: IntakeSettings
    form: Form
    routing: Routing
    severity: SeverityRules
    faq: tuple[FaqSeed, ...]
    org: OrgChart
    workflow: WorkflowSettings  # [sla], [workflow] and [calendar]
    console: ConsolePolicy
    wechat_templates: WeChatTemplates  # template message per purpose of a customer message
    survey: SurveySettings  # [survey]: satisfaction survey timing and the rules its answers set off
    website: WebsiteSettings  # [website]: the public complaint page's limits and who may embed it
    understanding: Understanding  # [understanding]: praise/enquiry/product/demand words of the intake
    stats: StatsSettings  # [stats]: the repeat-complaint window and the period reports (targets: [sla.presets])
    webhooks: WebhookPolicy | None = None  # [webhooks]: signed POSTs of each state change (None: off)

    @property
    def calendar(self) -> CalendarRules:
        """How working days are counted (``[sla] end_of_day``, ``[calendar] confirmed_years``)."""
        return self.workflow.calendar

    @property
    def quality_categories(self) -> frozenset[str]:
        """Category codes that are product-quality objections (质量异议): the quality-only form steps,
        the quality lead office, the quality-only SLA limits and extraction's default category."""
        return self.workflow.quality_categories

    def category_label(self, code: str | None) -> str:
        """The Chinese name of a category code, from the form's options (``[form.options]``), else the code."""
        return self.form.category_label(code)


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PolicyError(f"{name}: expected a table [{name}]")
    return value


def parse_company(raw: Mapping[str, Any]) -> CompanyInfo:
    """``[company]``: name, service_phone, timezone (Asia/Shanghai is the only zone the rules know)."""
    unknown = set(raw) - {"name", "service_phone", "timezone"}
    if unknown:
        raise PolicyError(f"company.{sorted(unknown)[0]}: unknown setting")
    for key in ("name", "service_phone", "timezone"):
        if key in raw and not isinstance(raw[key], str):
            raise PolicyError(f"company.{key}: expected text, got {raw[key]!r}")
    if raw.get("timezone", SHANGHAI.key) != SHANGHAI.key:
        raise PolicyError(f"company.timezone: only {SHANGHAI.key!r} is supported, got {raw['timezone']!r}")
    return CompanyInfo(name=str(raw.get("name") or "本公司"), service_phone=raw.get("service_phone") or None)


def load_policy(raw: Mapping[str, Any]) -> CompanyPolicy:
    """Parse and check every section of the policy file (the parsed TOML mapping); `PolicyError` if wrong."""
    from handlers.accounts import parse_console
    from handlers.classify import parse_routing, parse_severity_rules
    from handlers.faq import parse_faq_seeds
    from handlers.intake.form import build_form
    from handlers.intake.settings import intake_settings
    from handlers.intake.website import parse_website
    from handlers.org import parse_org
    from handlers.stats.settings import parse_stats
    from handlers.survey import parse_survey
    from handlers.text.intent import parse_understanding
    from handlers.webhooks import parse_webhooks
    from handlers.workflow.customer_messages import parse_wechat_templates
    from handlers.workflow.settings import parse_settings

    if not isinstance(raw, Mapping):
        raise PolicyError(f"the policy must be a table of sections, got {type(raw).__name__}")
    unknown = set(raw) - SECTIONS
    if unknown:
        raise PolicyError(f"{sorted(unknown)[0]}: unknown section; known: {', '.join(sorted(SECTIONS))}")
    faq = raw.get("faq")
    if faq is not None and not isinstance(faq, list):
        raise PolicyError("faq: expected an array of tables ([[faq]])")
    workflow = parse_settings(raw)
    return CompanyPolicy(
        company=parse_company(_table(raw, "company")),
        intake=intake_settings(_table(raw, "intake")),
        form=build_form(_table(raw, "form"), quality_categories=workflow.quality_categories),
        routing=parse_routing(_table(raw, "routing"), workflow),
        severity=parse_severity_rules(_table(raw, "severity")),
        faq=parse_faq_seeds(faq or []),
        org=parse_org(_table(raw, "org")),
        workflow=workflow,
        console=parse_console(_table(raw, "console")),
        wechat_templates=parse_wechat_templates(_table(raw, "wechat_templates")),
        survey=parse_survey(_table(raw, "survey"), presets=frozenset(workflow.presets),
                            satisfied_score=workflow.satisfied_score),
        website=parse_website(_table(raw, "website")),
        webhooks=parse_webhooks(_table(raw, "webhooks")),
        understanding=parse_understanding(_table(raw, "understanding")),
        stats=parse_stats(_table(raw, "stats")),
    )


@cache
def default_policy() -> CompanyPolicy:
    """The policy of an empty file: every documented default (tests, and contexts built without one)."""
    return load_policy({})


__all__ = ["SECTIONS", "CompanyInfo", "CompanyPolicy", "PolicyError", "default_policy", "load_policy"]
