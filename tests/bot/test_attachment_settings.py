"""One setting names the evidence folder for the download job and the console; one limits file sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def test_defaults() -> None:
    settings = load_settings(environ={"TOUSU_DEV": "1"})
    assert settings.attachment_dir == Path("instance/attachments")
    assert settings.attachment_max_bytes == 20 * 1024 * 1024


def test_from_the_environment() -> None:
    settings = load_settings(environ={"TOUSU_DEV": "1", "TOUSU_ATTACHMENT_DIR": "/srv/tousu/evidence",
                                      "TOUSU_ATTACHMENT_MAX_MB": "5"})
    assert settings.attachment_dir == Path("/srv/tousu/evidence")
    assert settings.attachment_max_bytes == 5 * 1024 * 1024


@pytest.mark.parametrize("value", ["0", "lots", "-3"])
def test_a_bad_limit_stops_start_up_naming_it(value: str) -> None:
    with pytest.raises(ConfigError, match=r"^TOUSU_ATTACHMENT_MAX_MB: "):
        load_settings(environ={"TOUSU_DEV": "1", "TOUSU_ATTACHMENT_MAX_MB": value})


def test_the_console_reads_the_same_folder(app_config, db, tmp_path) -> None:
    from bot import create_app

    app = create_app({**app_config, "TOUSU_ATTACHMENT_DIR": str(tmp_path / "evidence")}, database=db)
    assert app.config["TOUSU_ATTACHMENT_DIR"] == str(tmp_path / "evidence")
    assert create_app(app_config, database=db).config["TOUSU_ATTACHMENT_DIR"] == "instance/attachments"
