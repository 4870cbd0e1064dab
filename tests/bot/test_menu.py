"""`tousu menu push` creates 我要投诉 / 进度查询 / 常见问题 through the Official Account API (a fake on loopback)."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from tests.fakes.fake_wechat import (
    MENU_CREATE,
    FakeWeChat,
    fake_wechat_fixture,  # noqa: F401 (pytest fixture)
)


def _env(fake: FakeWeChat) -> dict[str, str | None]:
    return {"TOUSU_DEV": "1", "WECHAT_APPID": fake.appid, "WECHAT_SECRET": fake.secret,
            "WECHAT_API_BASE_URL": fake.url, "REDIS_URL": None}


def test_menu_push_creates_the_three_buttons(fake_wechat: FakeWeChat) -> None:
    result = CliRunner().invoke(main, ["menu", "push"], env=_env(fake_wechat))
    assert result.exit_code == 0, result.output
    assert "菜单已创建：我要投诉 / 进度查询 / 常见问题" in result.output
    [call] = fake_wechat.calls_to(MENU_CREATE)
    assert call.body == {"button": [
        {"type": "click", "name": "我要投诉", "key": "COMPLAIN"},
        {"type": "click", "name": "进度查询", "key": "STATUS"},
        {"type": "click", "name": "常见问题", "key": "FAQ"},
    ]}


def test_menu_push_reports_an_api_error(fake_wechat: FakeWeChat) -> None:
    fake_wechat.fail_next(MENU_CREATE, errcode=40016, errmsg="invalid button size")
    result = CliRunner().invoke(main, ["menu", "push"], env=_env(fake_wechat))
    assert result.exit_code == 1
    assert "menu/create failed" in result.output


def test_menu_push_needs_the_app_secret() -> None:
    result = CliRunner().invoke(main, ["menu", "push"], env={"TOUSU_DEV": "1", "WECHAT_SECRET": None})
    assert result.exit_code == 2 and "WECHAT_SECRET" in result.output


def test_dry_run_prints_the_menu() -> None:
    result = CliRunner().invoke(main, ["menu", "push", "--dry-run"], env={"TOUSU_DEV": "1"})
    assert result.exit_code == 0 and '"key": "COMPLAIN"' in result.output
