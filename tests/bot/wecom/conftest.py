"""The WeCom command tests use the console's fixtures: the demo org chart, an app on a moving clock."""

from tests.bot.console.conftest import (  # noqa: F401 (fixtures)
    app_config,
    cheap_password_hashing,
    clock,
    console_config,
    world,
)
