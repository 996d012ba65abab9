"""Shared plumbing of the event queue: connections for a bind, the clock, defaults."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Union

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from arenadb.db.engine import write_transaction
from arenadb.errors import InvalidArgumentError
from arenadb.models.base import UTCDateTime, utcnow
from arenadb.models.events import (
    Engine as EngineRow,
)
from arenadb.models.events import (
    Event,
    EventType,
)

DEFAULT_LOCK_SECONDS = 300.0
# One delay per retry: the 1st failure is retried after 30 s, the 2nd after 60 s, the 3rd after
# 120 s; a 4th failure (the third retry failing) marks the event `failed`.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (30.0, 60.0, 120.0)
DEFAULT_STALE_AFTER = 90.0

Bind = Union[Engine, Connection, Session]  # noqa: UP007 - a runtime alias, Python 3.10

events_table: sa.Table = Event.__table__  # type: ignore[assignment]
engines_table: sa.Table = EngineRow.__table__  # type: ignore[assignment]
event_types_table: sa.Table = EventType.__table__  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# plumbing


@contextmanager
def writing_connection(bind: Bind) -> Iterator[Connection]:
    """A connection in a write transaction: our own (Engine) or the caller's."""
    if isinstance(bind, Engine):
        with write_transaction(bind) as conn:
            yield conn
    elif isinstance(bind, Session):
        yield bind.connection()
    else:
        yield bind


@contextmanager
def reading_connection(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            yield conn
    elif isinstance(bind, Session):
        yield bind.connection()
    else:
        yield bind


def aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def database_now(conn: Connection) -> datetime:
    """The database's clock (PostgreSQL), or the local clock for SQLite, in UTC."""
    if conn.dialect.name == "postgresql":
        return aware(conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one())
    return utcnow()


def resolve_now(conn: Connection, now: datetime | None) -> datetime:
    return aware(now) if now is not None else database_now(conn)


def now_expr(conn: Connection, now: datetime | None) -> sa.ColumnElement[datetime]:
    """`now` as a SQL value: the given time, or PostgreSQL's statement_timestamp(), so that the
    hot paths read the database clock inside their first query instead of in a query of its own.
    """
    if now is None and conn.dialect.name == "postgresql":
        return sa.func.statement_timestamp(type_=UTCDateTime())
    return sa.literal(aware(now) if now is not None else utcnow(), UTCDateTime())


def iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None


def as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidArgumentError(f"{value!r} is not an engine id (a UUID)") from None


def for_update(stmt: sa.Select, conn: Connection, *, skip_locked: bool = False) -> sa.Select:
    # SQLite has no row locks (and SQLAlchemy renders nothing there): the write transaction
    # already excludes every other writer.
    if conn.dialect.name == "postgresql":
        return stmt.with_for_update(of=events_table, skip_locked=skip_locked)
    return stmt
