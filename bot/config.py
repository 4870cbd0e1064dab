"""Settings: secrets and endpoints from the environment, company policy from one TOML file.

Every setting is checked once at start-up, the policy file included (every section, through
``handlers.config.load_policy``); a missing or invalid one raises :class:`ConfigError` whose message is one
line naming the setting (for the policy: ``tousu.toml: <key path>: <what is wrong>``), which the CLI prints
before exiting with status 2.
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.config import CompanyPolicy, PolicyError, load_policy

PACKAGED_EXAMPLE = Path(__file__).resolve().parent / "tousu.example.toml"

# Dev-mode defaults: only ever used with TOUSU_DEV=1, so the simulator works on a fresh clone.
DEV_WECHAT_TOKEN = "tousu-dev-token"  # noqa: S105 (dev mode only, refused in production)
DEV_AES_KEY = "a" * 43
DEV_APPID = "wxd0000000000dev0"
DEV_CORP_ID = "wwd0000000000dev0"
DEV_PUBLIC_BASE_URL = "http://127.0.0.1:5000"  # `make run`'s address
DEFAULT_ATTACHMENT_DIR = Path("instance/attachments")  # relative to the working directory, like the SQLite file
DEFAULT_ATTACHMENT_MAX_MB = 20  # WeChat's own limits are 10 MB (image, video) and 2 MB (voice)


class ConfigError(Exception):
    """A setting is missing or invalid; ``str(err)`` is the one line to show the operator."""


@dataclass(frozen=True)
class Settings:
    """Secrets (and URLs, which may carry a password) are left out of ``repr``, so no log or traceback shows them."""

    database_url: str = field(repr=False)
    secret_key: str = field(repr=False)
    redis_url: str | None = field(repr=False)
    dev: bool
    config_path: Path
    wechat_appid: str
    wechat_secret: str | None = field(repr=False)
    wechat_token: str = field(repr=False)
    wechat_aes_key: str | None = field(repr=False)
    wechat_api_base_url: str
    wechat_max_skew_seconds: int
    wecom_corp_id: str | None
    wecom_secret: str | None = field(repr=False)
    wecom_agent_id: int | None
    wecom_token: str | None = field(repr=False)
    wecom_aes_key: str | None = field(repr=False)
    wecom_api_base_url: str
    policy: CompanyPolicy
    # Where staff's browsers reach this server: the links in WeCom cards and the OAuth redirect_uri.
    public_base_url: str = DEV_PUBLIC_BASE_URL
    # Host of WeCom's 网页授权 page (connect/oauth2/authorize); a local fake in tests.
    wecom_oauth_base_url: str = "https://open.weixin.qq.com"
    # Evidence copied from WeChat (scheduler/media.py writes, the console's attachment endpoint reads):
    # one folder for both, and the largest file the download job accepts.
    attachment_dir: Path = DEFAULT_ATTACHMENT_DIR
    attachment_max_bytes: int = DEFAULT_ATTACHMENT_MAX_MB * 1024 * 1024
    # The Official Account's 网页授权 (snsapi_base) for the customer's case page: its authorize page's host, and
    # whether to use it (WECHAT_OAUTH=0 for an account without web authorisation: signed links instead).
    wechat_oauth_base_url: str = "https://open.weixin.qq.com"
    wechat_oauth: bool = True

    @property
    def outbound_enabled(self) -> bool:
        """Real API calls only with credentials; without them (dev mode) messages go to the dev sink."""
        return bool(self.wechat_secret)

    @property
    def wechat_oauth_enabled(self) -> bool:
        """Customers are identified on their case page by WeChat web authorisation (else by signed links)."""
        return self.wechat_oauth and bool(self.wechat_secret)

    @property
    def wecom_enabled(self) -> bool:
        return bool(self.wecom_corp_id and self.wecom_secret and self.wecom_agent_id is not None)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _check_aes_key(name: str, value: str | None) -> str | None:
    if not value:
        return None
    if len(value) != 43:
        raise ConfigError(f"{name}: EncodingAESKey must be exactly 43 characters (got {len(value)})")
    try:
        if len(base64.b64decode(value + "=", validate=True)) != 32:
            raise ValueError
    except (binascii.Error, ValueError):
        raise ConfigError(f"{name}: EncodingAESKey must be base64 (A-Z, a-z, 0-9, +, /)") from None
    return value


def _int(name: str, value: str | None, default: int | None, minimum: int = 0) -> int | None:
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name}: must be a whole number (got {value!r})") from None
    if number < minimum:
        raise ConfigError(f"{name}: must be at least {minimum} (got {number})")
    return number


def _url(name: str, value: str) -> str:
    if not value:
        return value
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name}: must be an http(s) URL (got {value!r})")
    return value.rstrip("/")


def load_company_config(path: Path, *, dev: bool) -> dict[str, Any]:
    """Read tousu.toml; in dev mode a missing file falls back to the packaged, commented example."""
    if not path.exists():
        if not dev:
            raise ConfigError(f"TOUSU_CONFIG: file not found: {path} (copy tousu.example.toml and edit it)")
        path = PACKAGED_EXAMPLE
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"TOUSU_CONFIG: {path} is not valid TOML: {exc}") from None


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build settings from the environment; ``overrides`` (tests, create_app(config)) win over it."""
    env: dict[str, Any] = dict(os.environ if environ is None else environ)
    for name, value in (overrides or {}).items():
        if value is None:
            env.pop(name, None)  # an override of None unsets the variable (tests keep the environment's out)
        elif isinstance(value, str):
            env[name] = value
    over = dict(overrides or {})

    dev = bool(over["TOUSU_DEV"]) if "TOUSU_DEV" in over and not isinstance(over["TOUSU_DEV"], str) else (
        _truthy(env.get("TOUSU_DEV"))
    )

    def need(name: str, dev_default: str | None = None) -> str:
        value = env.get(name) or (dev_default if dev else None)
        if not value:
            raise ConfigError(f"{name}: required (set it in the environment)")
        return str(value)

    database_url = env.get("DATABASE_URL") or f"sqlite:///{Path('instance/tousu.sqlite3').resolve()}"
    if "://" not in database_url:
        raise ConfigError(f"DATABASE_URL: not a database URL (got {database_url!r})")

    secret_key = need("SECRET_KEY", "dev-secret-key-not-for-production")
    if not dev and len(secret_key) < 16:
        raise ConfigError("SECRET_KEY: use at least 16 random characters")

    wechat_aes_key = _check_aes_key("WECHAT_AES_KEY", env.get("WECHAT_AES_KEY") or (DEV_AES_KEY if dev else None))
    wechat_appid = need("WECHAT_APPID", DEV_APPID)
    wechat_token = need("WECHAT_TOKEN", DEV_WECHAT_TOKEN)
    if not 3 <= len(wechat_token) <= 32 or (not wechat_token.isalnum() and "-" not in wechat_token):
        raise ConfigError("WECHAT_TOKEN: 3-32 letters or digits, as set in the Official Account console")
    wechat_secret = env.get("WECHAT_SECRET") or None
    if not dev and not wechat_secret:
        raise ConfigError("WECHAT_SECRET: required outside dev mode (AppSecret, for sending messages)")

    wecom_corp_id = env.get("WECOM_CORP_ID") or (DEV_CORP_ID if dev else None)
    wecom_secret = env.get("WECOM_SECRET") or None
    wecom_agent_id = _int("WECOM_AGENT_ID", env.get("WECOM_AGENT_ID"), None)
    wecom_token = env.get("WECOM_TOKEN") or (DEV_WECHAT_TOKEN if dev else None)
    wecom_aes_key = _check_aes_key("WECOM_AES_KEY", env.get("WECOM_AES_KEY") or (DEV_AES_KEY if dev else None))
    if not dev:
        for name, value in (
            ("WECOM_CORP_ID", wecom_corp_id),
            ("WECOM_SECRET", wecom_secret),
            ("WECOM_AGENT_ID", wecom_agent_id),
            ("WECOM_TOKEN", wecom_token),
            ("WECOM_AES_KEY", wecom_aes_key),
        ):
            if value is None:
                raise ConfigError(f"{name}: required outside dev mode (staff reminders go through WeCom)")

    public_base_url = _url("PUBLIC_BASE_URL", env.get("PUBLIC_BASE_URL") or (DEV_PUBLIC_BASE_URL if dev else ""))
    if not public_base_url:
        raise ConfigError("PUBLIC_BASE_URL: required outside dev mode (the console's address, for WeCom card links)")

    skew = _int("WECHAT_MAX_SKEW_SECONDS", env.get("WECHAT_MAX_SKEW_SECONDS"), 300)
    attachment_dir = Path(env.get("TOUSU_ATTACHMENT_DIR") or DEFAULT_ATTACHMENT_DIR)
    attachment_max_mb = _int("TOUSU_ATTACHMENT_MAX_MB", env.get("TOUSU_ATTACHMENT_MAX_MB"),
                             DEFAULT_ATTACHMENT_MAX_MB, minimum=1) or DEFAULT_ATTACHMENT_MAX_MB
    config_path = Path(env.get("TOUSU_CONFIG") or "tousu.toml")
    company = over.get("COMPANY") or load_company_config(config_path, dev=dev)
    try:
        policy = load_policy(company)
    except PolicyError as exc:
        source = config_path.name if "COMPANY" not in over and config_path.exists() else (
            "tousu.toml" if "COMPANY" in over else PACKAGED_EXAMPLE.name
        )
        raise ConfigError(f"{source}: {exc}") from None

    return Settings(
        database_url=database_url,
        secret_key=secret_key,
        redis_url=env.get("REDIS_URL") or None,
        dev=dev,
        config_path=config_path,
        wechat_appid=wechat_appid,
        wechat_secret=wechat_secret,
        wechat_token=wechat_token,
        wechat_aes_key=wechat_aes_key,
        wechat_api_base_url=_url("WECHAT_API_BASE_URL", env.get("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com"),
        wechat_max_skew_seconds=skew or 0,
        wecom_corp_id=wecom_corp_id,
        wecom_secret=wecom_secret,
        wecom_agent_id=wecom_agent_id,
        wecom_token=wecom_token,
        wecom_aes_key=wecom_aes_key,
        wecom_api_base_url=_url("WECOM_API_BASE_URL", env.get("WECOM_API_BASE_URL") or "https://qyapi.weixin.qq.com"),
        policy=policy,
        public_base_url=public_base_url,
        wecom_oauth_base_url=_url(
            "WECOM_OAUTH_BASE_URL", env.get("WECOM_OAUTH_BASE_URL") or "https://open.weixin.qq.com"),
        attachment_dir=attachment_dir,
        attachment_max_bytes=attachment_max_mb * 1024 * 1024,
        wechat_oauth_base_url=_url(
            "WECHAT_OAUTH_BASE_URL", env.get("WECHAT_OAUTH_BASE_URL") or "https://open.weixin.qq.com"),
        wechat_oauth=env.get("WECHAT_OAUTH") is None or _truthy(env.get("WECHAT_OAUTH")),
    )
