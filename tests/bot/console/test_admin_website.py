"""网站投诉入口 (/console/admin/website/): the page's public address per entry, the <a> and <iframe> snippets, and
a QR code that encodes the address (SVG to show, PNG to print); admin and office only (the role matrix is in
test_admin_pages.py; the QR image is checked here for every role)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.bot.console.admin_support import ROLE_LOGINS, ROLES, make_people, signed_in, texts

ADMIN_OR_OFFICE = {"root", "li.na"}


@pytest.fixture
def people(db: Any, world: Any) -> None:
    make_people(db, world)


def test_the_page_shows_each_entrys_address_the_snippets_and_the_qr_code(app: Any, people: None) -> None:
    client = signed_in(app, "li.na")
    page = client.get("/console/admin/website/")
    assert page.status_code == 200
    base = "http://127.0.0.1:5000/w/complaint"  # PUBLIC_BASE_URL in dev: what visitors reach
    for entry in ("site", "menu", "qr"):
        assert f'id="link-{entry}">{base}?from={entry}</code>' in page.text
    assert (f'&lt;a href=&#34;{base}?from=site&#34; target=&#34;_blank&#34; rel=&#34;noopener&#34;&gt;在线投诉'
            in page.text)
    assert f"&lt;iframe src=&#34;{base}?from=site&#34;" in page.text
    assert "embed_origins" in texts(page.text)  # framing needs the site named in tousu.toml: the page says so
    assert 'src="/console/admin/website/qr.svg"' in page.text


def test_the_qr_code_encodes_the_address(app: Any, people: None) -> None:
    import segno

    client = signed_in(app, "root")
    svg = client.get("/console/admin/website/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert svg.data.lstrip().startswith(b"<svg") and "在线投诉二维码" in svg.text
    # the very symbol of the page's address encoded independently: the code scans to the complaint page
    expected = io.BytesIO()
    segno.make("http://127.0.0.1:5000/w/complaint?from=qr", error="m", micro=False).save(
        expected, kind="svg", scale=6, border=2, title="在线投诉二维码", xmldecl=False)
    assert svg.data == expected.getvalue()
    other = io.BytesIO()
    segno.make("http://127.0.0.1:5000/w/complaint?from=site", error="m", micro=False).save(
        other, kind="svg", scale=6, border=2, title="在线投诉二维码", xmldecl=False)
    assert svg.data != other.getvalue()
    png = client.get("/console/admin/website/qr.png?download=1")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert png.headers["Content-Disposition"] == 'attachment; filename="tousu-website-qr.png"'
    assert client.get("/console/admin/website/qr.gif").status_code == 404


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_the_qr_code_is_for_admin_and_office_only(app: Any, people: None, role: Any) -> None:
    client = signed_in(app, ROLE_LOGINS[role])
    allowed = ROLE_LOGINS[role] in ADMIN_OR_OFFICE
    for url in ("/console/admin/website/qr.svg", "/console/admin/website/qr.png"):
        assert client.get(url).status_code == (200 if allowed else 403), (role, url)


def test_signed_out_visitors_are_sent_to_sign_in(client: Any) -> None:
    assert client.get("/console/admin/website/qr.svg").status_code == 302
