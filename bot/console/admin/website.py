"""网站投诉入口: where the website's complaint page is and how to put it on the company's site or the Official
Account's menu: its address for each entry (the site's 投诉 column, a printed QR code, the OA menu; ``?from=``
is kept on the case's ``registered`` event, so the ledger can tell them apart), an ``<a>`` and an ``<iframe>``
snippet to paste into the site, and the QR code, drawn here as SVG (or PNG for print) by segno.

Admin and the lead offices (AdminArea.WEBSITE); read-only: the page's limits live in ``[website]`` of tousu.toml.
"""

from __future__ import annotations

import io
from typing import Final

import segno
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session
from bot.runtime import runtime
from handlers.admin import AdminArea
from handlers.render import render_message

bp = Blueprint("website", __name__, url_prefix="/website")

#: The entries offered, in the page's order (``?from=`` values; `bot.console.labels.ENTRY_LABELS` names each).
ENTRIES: Final = ("site", "menu", "qr")
QR_BORDER: Final = 2


def page_url(entry: str) -> str:
    """The public address of the complaint page for ``entry`` (PUBLIC_BASE_URL: what visitors reach)."""
    base = runtime().settings.public_base_url.rstrip("/")
    return f"{base}{url_for('website.complaint')}?from={entry}"


@bp.get("/")
def index() -> ResponseReturnValue:
    with area_session(AdminArea.WEBSITE):
        pass
    settings = runtime().settings.policy.website
    links = {entry: page_url(entry) for entry in ENTRIES}
    return render_template("console/admin/website.html", links=links, settings=settings)


@bp.get("/qr.<kind>")
def qr(kind: str) -> ResponseReturnValue:
    """The QR code of the ``?from=qr`` address: SVG to show and scale, PNG to print (``?download=1``: a file)."""
    if kind not in ("svg", "png"):
        abort(404)
    with area_session(AdminArea.WEBSITE):
        pass
    code = segno.make(page_url("qr"), error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=6, border=QR_BORDER, title=render_message("website/qr_title"),
                  xmldecl=False)
    else:
        code.save(out, kind="png", scale=10, border=QR_BORDER)
    response = Response(out.getvalue(), mimetype="image/svg+xml" if kind == "svg" else "image/png")
    if request.args.get("download") == "1":
        response.headers["Content-Disposition"] = f'attachment; filename="tousu-website-qr.{kind}"'
    return response
