"""Declarative base, the metadata naming convention, and the column types every model shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Fixed before the first migration: every constraint and index gets a predictable name, so that
# later migrations (and SQLite batch mode, which must name what it drops) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A fixed "now" for the current thread's context, set by `clock_fixed_at` (seeding writes the
# rows it inserts at the seed's clock, and only those: rows of other writers keep theirs).
_fixed_now: ContextVar[datetime | None] = ContextVar("arenadb_fixed_now", default=None)


def utcnow() -> datetime:
    fixed = _fixed_now.get()
    return fixed if fixed is not None else datetime.now(timezone.utc)


@contextmanager
def clock_fixed_at(at: datetime | None) -> Iterator[None]:
    """Within the block, `utcnow()` (the column defaults, and the library's "now") is `at`, in
    this thread only (None: the wall clock again, e.g. for a caller's callback)."""
    token = _fixed_now.set(at)
    try:
        yield
    finally:
        _fixed_now.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always returned timezone-aware.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are normalised to UTC
    on the way in and tagged as UTC on the way out. A naive datetime is taken to be UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# JSON everywhere; JSONB on PostgreSQL (indexable, compact, deduplicated keys).
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        # Explicit: SQLAlchemy 2.0 maps float to Float, 2.1 to Double; migrations say Double.
        float: sa.Double(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        uuid.UUID: sa.Uuid(),
    }


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, server_default=sa.func.now())


def check_in(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK that `column` holds one of `values` (constants, safe to inline)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


def never_reused_ids() -> dict[str, Any]:
    """Table options of a table whose ids are referenced or shown: an id is never given twice.

    SQLite otherwise hands out max(id) + 1, so deleting the newest agent and registering another
    gives the new one the old id, with everything that named it (an access list, a reference kept
    by a client). AUTOINCREMENT keeps the high-water mark in sqlite_sequence instead. PostgreSQL
    sequences never go back. Revision 0007 rebuilt the existing SQLite tables with it.
    """
    return {"sqlite_autoincrement": True}
