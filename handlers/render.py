"""Rendering what customers and staff read (templates/), and keeping texts within WeChat's limits."""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from templates import TEMPLATE_DIR

WECHAT_TEXT_LIMIT = 2048  # bytes of UTF-8 in one text message (a Chinese character is 3 bytes)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
        autoescape=False,  # noqa: S701 (plain-text chat messages, never HTML; pages go through Flask)
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code; no stat() per message
    )


def render_message(name: str, **context: Any) -> str:
    """Render ``templates/messages/<name>.txt.j2`` to a trimmed text."""
    return _environment().get_template(f"messages/{name}.txt.j2").render(**context).strip()


def split_text(text: str, limit: int = WECHAT_TEXT_LIMIT) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` UTF-8 bytes, at line breaks where possible."""
    if len(text.encode()) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # a single overlong line: cut at a character boundary
            cut = _prefix_within(line, limit - len(current.encode()))
            if not cut:
                pieces.append(current.rstrip("\n"))
                current = ""
                continue
            pieces.append((current + cut).rstrip("\n"))
            current, line = "", line[len(cut):]
        if len((current + line).encode()) > limit:
            pieces.append(current.rstrip("\n"))
            current = ""
        current += line
    if current.strip():
        pieces.append(current.rstrip("\n"))
    return [p for p in pieces if p]


def _prefix_within(text: str, limit: int) -> str:
    encoded = text.encode()[: max(limit, 0)]
    return encoded.decode("utf-8", errors="ignore")
