"""Claiming the next event atomically (SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.errors import NotFoundError
from arenadb.events.base import (
    DEFAULT_LOCK_SECONDS,
    DEFAULT_RETRY_DELAYS,
    Bind,
    as_uuid,
    aware,
    event_types_table,
    events_table,
    iso,
    now_expr,
    writing_connection,
)
from arenadb.models.events import (
    LIVE_EVENTS_WHERE,
)

# --------------------------------------------------------------------------------------------
# claim, complete, fail, reclaim


@dataclass
class ClaimedEvent:
    """What an engine works on: the event, and the lock it holds until `lock_until`."""

    id: int
    event_type: str
    payload: dict[str, Any] | None
    priority: int
    attempt: int
    retry_count: int
    locked_by: uuid.UUID
    claimed_at: datetime
    lock_until: datetime
    scenario_run_id: int | None
    game_id: int | None
    source: str | None
    target: str | None
    source_agent_id: int | None
    target_agent_id: int | None
    last_error: str | None


@dataclass
class EventOutcome:
    """Where an event stands after complete / fail / reclaim / retry."""

    id: int
    status: str
    retry_count: int
    next_retry_at: datetime | None = None
    last_error: str | None = None


def after_failure(
    retry_count: int, now: datetime, retry_delays: Sequence[float], *, retry: bool, delay: bool
) -> dict[str, Any]:
    """Columns after a failed attempt: queued again with backoff while retries remain."""
    count = retry_count + 1
    if retry and count <= len(retry_delays):
        wait = timedelta(seconds=retry_delays[count - 1]) if delay else None
        return {
            "status": "queued",
            "retry_count": count,
            "next_retry_at": now + wait if wait else None,
        }
    return {"status": "failed", "retry_count": count, "next_retry_at": None}


UNLOCKED = {"locked_by": None, "lock_until": None, "claimed_at": None}


def expired_values(row: Mapping[Any, Any], now: datetime, retry_delays: Sequence[float]):
    """An expired lock is a failed attempt; it may be retried at once (the lock already waited)."""
    error = f"lock expired at {iso(row['lock_until'])} (engine {row['locked_by']})"
    entry = {
        "engine_id": str(row["locked_by"]) if row["locked_by"] else None,
        "claimed_at": iso(row["claimed_at"]),
        "finished_at": iso(now),
        "outcome": "lock_expired",
        "error": error,
    }
    values = after_failure(row["retry_count"], now, retry_delays, retry=True, delay=False)
    values.update(
        UNLOCKED,
        last_error=error,
        processing_history=[*(row["processing_history"] or []), entry],
    )
    return values


def _claim_candidate(
    now: sa.ColumnElement[datetime],
    engine_type: str | None,
    event_types: Sequence[str] | None,
    max_retries: int,
    *,
    dialect: str,
) -> sa.Select:
    """The id of the next claimable event: queued and due, or processing under an expired lock
    with retries left (one without is left for `reclaim_expired` to mark failed)."""
    e: Any = events_table.c
    if dialect == "sqlite":
        # Without ANALYZE statistics (the usual case) SQLite prefers ix_events_status_id and
        # sorts every queued row on each claim, where the claim index reads one row. SQLAlchemy
        # renders no index hint for SQLite, so the FROM is written out, with free-standing
        # columns that do not pull the plain table in again.
        e = SimpleNamespace(**{c.name: sa.column(c.name, c.type) for c in events_table.c})
        from_clause: Any = sa.text("events INDEXED BY ix_events_claim")
    else:
        from_clause = events_table
    ready = sa.or_(
        sa.and_(e.status == "queued", sa.or_(e.next_retry_at.is_(None), e.next_retry_at <= now)),
        sa.and_(e.status == "processing", e.lock_until < now, e.retry_count < max_retries),
    )
    stmt = (
        sa.select(e.id)
        .select_from(from_clause)
        # Literal, and first: both planners match a partial index's WHERE only textually.
        .where(sa.text(LIVE_EVENTS_WHERE), ready)
        .order_by(e.priority.desc(), e.id)
        .limit(1)
    )
    if engine_type is not None or event_types:
        types = sa.select(event_types_table.c.id)
        if engine_type is not None:
            types = types.where(event_types_table.c.engine_type == engine_type)
        if event_types:
            types = types.where(event_types_table.c.name.in_(list(event_types)))
        stmt = stmt.where(e.event_type_id.in_(types))
    return stmt


def _claimed_event(row: Mapping[Any, Any]) -> ClaimedEvent:
    return ClaimedEvent(
        id=row["id"],
        event_type=row["event_type"],
        payload=row["payload"],
        priority=row["priority"],
        attempt=row["retry_count"] + 1,
        retry_count=row["retry_count"],
        locked_by=row["locked_by"],
        claimed_at=row["claimed_at"],
        lock_until=row["lock_until"],
        scenario_run_id=row["scenario_run_id"],
        game_id=row["game_id"],
        source=row["source"],
        target=row["target"],
        source_agent_id=row["source_agent_id"],
        target_agent_id=row["target_agent_id"],
        last_error=row["last_error"],
    )


def claim_next_event(
    bind: Bind,
    engine_id: uuid.UUID | str,
    *,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    engine_type: str | None = None,
    event_types: Sequence[str] | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    now: datetime | None = None,
) -> ClaimedEvent | None:
    """Lock the next event for `engine_id` (highest priority, then oldest), or None if none is
    ready. Events whose lock expired are taken over (counted as a failed attempt).

    Example: `ev = claim_next_event(engine, me, engine_type="actor")`
    """
    engine_uuid = as_uuid(engine_id)
    with writing_connection(bind) as conn:
        now_sql = now_expr(conn, now)
        candidate = _claim_candidate(
            now_sql, engine_type, event_types, len(retry_delays), dialect=conn.dialect.name
        )
        claim = _claim_postgresql if conn.dialect.name == "postgresql" else _claim_sqlite
        try:
            row = claim(conn, engine_uuid, candidate, now_sql, lock_seconds, retry_delays)
        except sa.exc.IntegrityError as exc:
            if not _violates_locked_by_fk(exc):
                raise
            raise NotFoundError(f"engine {engine_uuid} is not registered") from None
        return _claimed_event(row) if row is not None else None


def _violates_locked_by_fk(exc: sa.exc.IntegrityError) -> bool:
    # PostgreSQL names the constraint (and its transaction is aborted: no query to check);
    # SQLite does not, but locked_by is the only foreign key a claim writes.
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if name is not None:
        return name == "fk_events_locked_by_engines"
    return "FOREIGN KEY" in str(exc.orig)


def _claim_sqlite(
    conn: Connection,
    engine_uuid: uuid.UUID,
    candidate: sa.Select,
    now_sql: sa.ColumnElement[datetime],
    lock_seconds: float,
    retry_delays: Sequence[float],
) -> Mapping[Any, Any] | None:
    """Find, then mark, inside the caller's write transaction (SQLite: BEGIN IMMEDIATE, so no
    other writer runs in between)."""
    found = conn.execute(
        sa.select(events_table, event_types_table.c.name.label("event_type"), now_sql)
        .join(event_types_table, event_types_table.c.id == events_table.c.event_type_id)
        .where(events_table.c.id == candidate.scalar_subquery())
    ).first()
    if found is None:
        return None
    row = dict(found._mapping)
    now = aware(found[-1])
    values: dict[str, Any] = {}
    if row["status"] == "processing":
        values = expired_values(row, now, retry_delays)
    values.update(
        status="processing",
        locked_by=engine_uuid,
        claimed_at=now,
        lock_until=now + timedelta(seconds=lock_seconds),
        next_retry_at=None,
    )
    conn.execute(update_event(row["id"], values))
    row.update(values)
    return row


def pg_iso(value: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A timestamptz as the same ISO 8601 UTC text Python's isoformat() writes."""
    return sa.func.to_char(
        sa.func.timezone("UTC", value), sa.literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\'')
    )


def pg_history_entry(**fields: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    args: list[Any] = []
    for key, value in fields.items():
        args += [sa.literal_column(f"'{key}'"), value]
    return sa.func.jsonb_build_array(sa.func.jsonb_build_object(*args))


def _claim_postgresql(
    conn: Connection,
    engine_uuid: uuid.UUID,
    candidate: sa.Select,
    now_sql: sa.ColumnElement[datetime],
    lock_seconds: float,
    retry_delays: Sequence[float],
) -> Mapping[Any, Any] | None:
    """One statement: lock the candidate row with SKIP LOCKED (concurrent engines each get a
    different row, nobody waits) and mark it, taking over an expired lock in SQL."""
    e = events_table.c
    expired = e.status == "processing"
    error = sa.func.concat(
        sa.literal_column("'lock expired at '"),
        pg_iso(e.lock_until),
        sa.literal_column("' (engine '"),
        sa.cast(e.locked_by, sa.Text),
        sa.literal_column("')'"),
    )
    entry = pg_history_entry(
        engine_id=sa.cast(e.locked_by, sa.Text),
        claimed_at=pg_iso(e.claimed_at),
        finished_at=pg_iso(now_sql),
        outcome=sa.literal_column("'lock_expired'"),
        error=error,
    )
    stmt = (
        sa.update(events_table)
        .where(
            e.id == candidate.with_for_update(skip_locked=True).scalar_subquery(),
            event_types_table.c.id == e.event_type_id,
        )
        .values(
            status="processing",
            locked_by=engine_uuid,
            claimed_at=now_sql,
            lock_until=now_sql + sa.literal(timedelta(seconds=lock_seconds), sa.Interval()),
            next_retry_at=None,
            retry_count=sa.case((expired, e.retry_count + 1), else_=e.retry_count),
            last_error=sa.case((expired, error), else_=e.last_error),
            processing_history=sa.case(
                (expired, e.processing_history.op("||")(entry)), else_=e.processing_history
            ),
        )
        .returning(events_table, event_types_table.c.name.label("event_type"))
    )
    return conn.execute(stmt).mappings().first()


def update_event(event_id: int, values: Mapping[str, Any]) -> sa.Update:
    return sa.update(events_table).where(events_table.c.id == event_id).values(**values)
