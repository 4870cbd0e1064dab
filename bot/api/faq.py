"""``/api/v1/faq``: the FAQ entries (常见问题) the chat answers with, for a website or OA to show the same."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from bot.api.auth import blueprint
from bot.runtime import runtime
from handlers import faq
from storage.models import FaqEntry

bp = blueprint("faq", "faq", "常见问题")


class FaqItem(BaseModel):
    id: int
    question: str
    keywords: list[str]
    answer: str


class FaqList(BaseModel):
    items: list[FaqItem]


@bp.get("/faq", operation_id="list_faq", summary="常见问题（启用的条目，按菜单顺序）", responses={200: FaqList})
def list_faq() -> Any:
    rt = runtime()
    ctx = rt.context()
    with rt.db.transaction() as s:
        faq.ensure_seeded(s, rt.settings.policy.faq)
        rows = s.scalars(sa.select(FaqEntry).where(FaqEntry.active.is_(True))
                         .order_by(FaqEntry.position, FaqEntry.id))
        items = [FaqItem(id=r.id, question=r.question, keywords=[str(k) for k in r.keywords or []],
                         answer=faq.fill(r.answer, ctx)) for r in rows]
    return FaqList(items=items).model_dump(mode="json")


__all__ = ["bp"]
