"""What the website page's tests share: a visitor's answers, a real PNG, the app on a fixed clock."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

#: A product-quality complaint as a visitor types it (phone with spaces, a date in words).
QUALITY: dict[str, Any] = {
    "category": "product_quality", "complainant_name": "洛阳某某机械厂", "contact_person": "王工",
    "phone": "138 0013 8000", "address": "洛阳市涧西区某路1号", "product_name": "6061-T6铝板",
    "spec_model": "2.0×1220×2440", "batch": "B2602-01", "purchase_date": "2026-01-15",
    "quantity": "3吨", "problem_type": "surface", "description": "铝板表面有划痕，影响使用",
    "usage_scenario": "冲压件", "loss": "无", "demands": ["replace", "apology"],
}
#: A service complaint: none of the product-quality steps apply.
SERVICE: dict[str, Any] = {
    "category": "service_attitude", "complainant_name": "张三", "phone": "13900139000",
    "description": "送货司机态度很差，还乱扔包装", "loss": "无", "demands": ["apology"],
}


def png(width: int = 4, height: int = 4) -> bytes:
    """A real (tiny, grey) PNG: what a phone's camera roll would give, only smaller."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found is not None, "the page carries its form token"
    return found.group(1)
