"""The website channel's rules without HTTP: the [website] policy section, the photo check (bytes decide, size
from the policy), and the page reader's conditions (the form's, decided on the answers before each step)."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers.config import PolicyError, load_policy
from handlers.intake.entry import read_entry
from handlers.intake.form import build_form
from handlers.intake.website import PhotoProblem, PhotoRefused, WebsiteSettings, check_photo, parse_website
from tests.bot.website_support import png

TODAY = dt.date(2026, 2, 13)


def test_the_website_section_defaults_and_checks() -> None:
    assert load_policy({}).website == WebsiteSettings()
    parsed = parse_website({"rate_per_ip": "5 per minute", "rate_per_phone": "1 per day", "max_photos": 0,
                            "photo_max_mb": 2, "embed_origins": ["https://www.example.com/"], "enabled": False})
    assert parsed == WebsiteSettings(enabled=False, rate_per_ip="5 per minute", rate_per_phone="1 per day",
                                     max_photos=0, photo_max_mb=2, embed_origins=("https://www.example.com",))
    assert parsed.request_max_bytes == 1024 * 1024  # no photos: only the text fields


@pytest.mark.parametrize(("raw", "names"), [
    ({"rate_per_ip": "often"}, "website.rate_per_ip"),
    ({"rate_per_phone": 3}, "website.rate_per_phone"),
    ({"max_photos": 21}, "website.max_photos"),
    ({"photo_max_mb": 0}, "website.photo_max_mb"),
    ({"photo_max_mb": True}, "website.photo_max_mb"),
    ({"embed_origins": "https://a.example"}, "website.embed_origins"),
    ({"embed_origins": ["https://a.example/page"]}, "website.embed_origins[0]"),
    ({"embed_origins": ["https://a.example; script-src *"]}, "website.embed_origins[0]"),
    ({"enabled": "yes"}, "website.enabled"),
    ({"captcha": True}, "website.captcha"),
])
def test_a_wrong_website_setting_names_its_key(raw: dict[str, object], names: str) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy({"website": raw})
    assert str(caught.value).startswith(names)


def test_photos_are_judged_by_their_bytes_and_the_policys_size() -> None:
    settings = WebsiteSettings(photo_max_mb=1)
    photo = check_photo(png(), "image/png", settings)
    assert photo.kind.extension == "png" and photo.declared_type == "image/png"
    assert check_photo(png(), "application/octet-stream", settings).kind.mimetype == "image/png"  # says nothing
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 60
    assert check_photo(jpeg, "image/png", settings).kind.extension == "jpg"  # the bytes win over the header
    for data, declared, problem in (
        (b"", "image/png", PhotoProblem.EMPTY),
        (png() + b"\x00" * (1024 * 1024), "image/png", PhotoProblem.TOO_LARGE),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", PhotoProblem.NOT_A_PHOTO),
        (b"<html><script>", "image/jpeg", PhotoProblem.NOT_A_PHOTO),
        (png(), "text/html", PhotoProblem.NOT_A_PHOTO),
    ):
        with pytest.raises(PhotoRefused) as caught:
            check_photo(data, declared, settings)
        assert caught.value.problem is problem, (data[:10], declared)


def test_the_page_reader_applies_each_steps_condition_on_the_answers_before_it() -> None:
    form = build_form({"steps": [{"key": "surface_area", "label": "缺陷面积", "parser": "text", "after": "problem_type",
                                  "prompt": "面积多大？", "when": {"problem_type": ["surface"]}}]})
    quality = {"category": ["product_quality"], "complainant_name": "某厂", "phone": "13800138000",
               "product_name": "铝板", "purchase_date": "2026-01-15", "quantity": "3吨",
               "description": "表面有划痕很多", "loss": "无", "demands": ["replace"]}
    surface = read_entry(form, {**quality, "problem_type": ["surface"]}, today=TODAY)
    assert surface.errors == {"surface_area": "请填写缺陷面积"}
    other = read_entry(form, {**quality, "problem_type": ["dimension"], "surface_area": "x"}, today=TODAY)
    assert other.ok and "surface_area" not in other.answers
    assert "surface_area" not in [step.key for step in other.steps]
    service = read_entry(form, {"category": ["service_attitude"], "complainant_name": "张三", "phone": "13900139000",
                                "description": "态度很差很差", "loss": "无", "demands": ["apology"],
                                "product_name": "不该有"}, today=TODAY)
    assert service.ok and "product_name" not in service.answers
    assert service.answers["phone"] == {"e164": "+8613900139000", "ext": None}
