"""Declarative base, naming convention and column types shared by every model."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The company's zone, defined once: business rules (working days, months, office hours) are computed in China
Standard Time (no DST since 1991); storage is UTC. Kept on this floor so storage (complaint numbers by local
month) and every layer above share it."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def file_sha256(path: Path) -> str:
    """The SHA-256 of a stored file (evidence, a backup's parts), read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """An aware datetime stored in UTC.

    SQLite keeps no time zone, so values come back naive; this type makes every value that leaves the
    database aware (UTC) and refuses naive values on the way in, so no code can mix the two.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """An enum column stored by value as VARCHAR (no native PG enum: adding a state is a plain migration)."""
    return sa.Enum(
        enum_cls,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        length=length,
        validate_strings=True,
        create_constraint=False,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }
