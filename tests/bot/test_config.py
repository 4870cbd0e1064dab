"""Settings: a missing or invalid one stops start-up with one line naming it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

PROD = {
    "SECRET_KEY": "0123456789abcdef0123",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "appsecret",
    "WECHAT_TOKEN": "mytoken123",
    "WECHAT_AES_KEY": "b" * 43,
    "WECOM_CORP_ID": "ww1234567890",
    "WECOM_SECRET": "corpsecret",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_TOKEN": "wecomtoken",
    "WECOM_AES_KEY": "c" * 43,
    "PUBLIC_BASE_URL": "https://tousu.example.com/",
}


def settings(env, company=None):
    return load_settings(environ=env, overrides={"COMPANY": company or {"company": {"name": "x"}}})


def test_production_settings_load():
    s = settings(PROD)
    assert s.dev is False
    assert s.wechat_max_skew_seconds == 300
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("instance/tousu.sqlite3")
    assert s.wechat_api_base_url == "https://api.weixin.qq.com"
    assert s.outbound_enabled and s.wecom_enabled
    assert s.public_base_url == "https://tousu.example.com"  # no trailing slash: links append paths
    assert s.wecom_oauth_base_url == "https://open.weixin.qq.com"


@pytest.mark.parametrize("name", [
    "SECRET_KEY", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN", "WECOM_CORP_ID", "WECOM_SECRET",
    "WECOM_AGENT_ID", "WECOM_TOKEN", "WECOM_AES_KEY", "PUBLIC_BASE_URL",
])
def test_missing_required_setting_is_named(name):
    env = {k: v for k, v in PROD.items() if k != name}
    with pytest.raises(ConfigError) as err:
        settings(env)
    assert str(err.value).startswith(f"{name}:")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("name", "value"), [
    ("WECHAT_AES_KEY", "tooshort"),
    ("WECHAT_AES_KEY", "!" * 43),
    ("WECOM_AGENT_ID", "abc"),
    ("WECHAT_MAX_SKEW_SECONDS", "-5"),
    ("WECHAT_MAX_SKEW_SECONDS", "five"),
    ("WECHAT_API_BASE_URL", "ftp://x"),
    ("WECOM_OAUTH_BASE_URL", "open.weixin.qq.com"),
    ("PUBLIC_BASE_URL", "tousu.example.com"),
    ("DATABASE_URL", "tousu.db"),
    ("SECRET_KEY", "short"),
])
def test_invalid_setting_is_named(name, value):
    with pytest.raises(ConfigError) as err:
        settings(PROD | {name: value})
    assert str(err.value).startswith(f"{name}:")


def test_dev_mode_needs_nothing():
    s = settings({"TOUSU_DEV": "1"})
    assert s.dev and not s.outbound_enabled
    assert s.wechat_aes_key and s.wecom_aes_key
    assert s.public_base_url == "http://127.0.0.1:5000"  # where `make run` serves


def test_missing_config_file_outside_dev_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"^TOUSU_CONFIG: file not found"):
        load_settings(environ=PROD | {"TOUSU_CONFIG": str(tmp_path / "nope.toml")})


def test_broken_config_file_is_named(tmp_path):
    bad = tmp_path / "tousu.toml"
    bad.write_text("[company\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^TOUSU_CONFIG: .* is not valid TOML"):
        load_settings(environ=PROD | {"TOUSU_CONFIG": str(bad)})


def test_cli_prints_one_line_and_exits_2(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "TOUSU_CONFIG": str(tmp_path / "none.toml"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], capture_output=True, text=True,
                            env=env, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    expected = "tousu: configuration error: SECRET_KEY: required (set it in the environment)"
    assert result.stderr.strip().splitlines() == [expected]


def test_an_override_of_none_unsets_what_the_environment_has():
    env = PROD | {"REDIS_URL": "redis://127.0.0.1:6379/15"}
    company = {"company": {"name": "x"}}
    assert load_settings(environ=env, overrides={"COMPANY": company}).redis_url == "redis://127.0.0.1:6379/15"
    assert load_settings(environ=env, overrides={"COMPANY": company, "REDIS_URL": None}).redis_url is None
