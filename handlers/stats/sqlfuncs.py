"""The three date expressions the statistics need, written once for PostgreSQL and SQLite.

Storage is UTC (``storage.base.UTCDateTime``: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite); the
statistics count in Asia/Shanghai, which has had no daylight saving since 1991, so SQLite's fixed ``+8 hours``
and PostgreSQL's ``AT TIME ZONE 'Asia/Shanghai'`` agree on every date the service can hold.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from storage.base import SHANGHAI


class local_date(FunctionElement[Any]):
    """The Asia/Shanghai calendar day of a UTC moment (a ``date`` on PostgreSQL, ``'YYYY-MM-DD'`` on SQLite)."""

    type = sa.String()
    inherit_cache = True


class local_month(FunctionElement[Any]):
    """``'YYYY-MM'`` of a UTC moment in Asia/Shanghai."""

    type = sa.String()
    inherit_cache = True


class days_before(FunctionElement[Any]):
    """A UTC moment minus a whole number of days (``days_before(column, 90)``)."""

    type = sa.DateTime()
    inherit_cache = True


@compiles(local_date, "postgresql")
def _local_date_pg(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"CAST(({compiler.process(column, **kw)} AT TIME ZONE '{SHANGHAI.key}') AS DATE)"


@compiles(local_date)
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"date({compiler.process(column, **kw)}, '+8 hours')"


@compiles(local_month, "postgresql")
def _local_month_pg(element: local_month, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"to_char({compiler.process(column, **kw)} AT TIME ZONE '{SHANGHAI.key}', 'YYYY-MM')"


@compiles(local_month)
def _local_month_sqlite(element: local_month, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"strftime('%Y-%m', {compiler.process(column, **kw)}, '+8 hours')"


@compiles(days_before, "postgresql")
def _days_before_pg(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = element.clauses
    return f"({compiler.process(column, **kw)} - make_interval(days => {compiler.process(days, **kw)}))"


@compiles(days_before)
def _days_before_sqlite(element: days_before, compiler: SQLCompiler, **kw: Any) -> str:
    column, days = element.clauses
    return f"datetime({compiler.process(column, **kw)}, '-' || {compiler.process(days, **kw)} || ' days')"


def as_date(value: Any) -> dt.date:
    """A `local_date` value as read back (``date`` from PostgreSQL, text from SQLite)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
