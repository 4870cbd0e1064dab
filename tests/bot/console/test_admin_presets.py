"""处理时限 (read-only, everyone): each category under the preset that applies to it, every milestone's limit
for 一般/重大, and the customer promises in the acknowledgement's own words (`customer_promises`)."""

from __future__ import annotations

import pytest

from handlers import admin
from handlers.config import load_policy
from handlers.sla.promises import customer_promises
from handlers.workflow.scope import ConsoleRole
from storage.models import Severity
from tests.bot.console.admin_support import ROLE_LOGINS, make_people, signed_in, texts


def test_every_category_appears_once_under_the_preset_that_applies(company_config) -> None:
    policy = load_policy(company_config)
    views = admin.presets_in_force(policy)
    labels = [label for view in views for label in view.categories]
    assert sorted(labels) == sorted(o.label for o in policy.form.options_for("category"))
    for view in views:
        for option in policy.form.options_for("category"):
            if option.label in view.categories:
                assert policy.workflow.preset_key_for(option.code) == view.preset.key
        for severity in Severity:
            assert view.promises[severity] == [p.text for p in customer_promises(
                view.preset, severity, conditions=view.conditions)]
        for milestone in view.milestones:
            source = view.preset.milestone(milestone.key)
            for severity in Severity:
                limit = source.limits.get(severity)
                shown = milestone.limits[severity]
                assert (shown is None) == (limit is None)
                if limit is not None and shown is not None:
                    assert shown.duration == limit.duration.label()


@pytest.mark.parametrize("role", [ConsoleRole.HANDLER, ConsoleRole.VIEWER], ids=str)
def test_the_page_shows_the_limits_and_the_promises(app, db, world, company_config, role) -> None:
    make_people(db, world)
    text = texts(signed_in(app, ROLE_LOGINS[role]).get("/console/admin/presets/").text)
    for view in admin.presets_in_force(load_policy(company_config)):
        assert "、".join(view.categories) in text
        for milestone in view.milestones:
            assert milestone.label in text
        for promises in view.promises.values():
            assert "；".join(promises) in text
    assert "15个工作日" in text and "30个工作日" in text  # 产品质量: 一般 15, 重大 30 working days to close
