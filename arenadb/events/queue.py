"""The event queue and its engines: enqueue, claim atomically, complete, fail with backoff, take
over expired locks; engines register, heartbeat and go stale; scenario runs and execution logs.

Claiming is the race PyScrAI had (read a queued event, then mark it, in two unguarded steps): here
one transaction finds the next event and marks it. On PostgreSQL the candidate row is selected
`FOR UPDATE OF events SKIP LOCKED`, so concurrent engines each lock a different row without
waiting; on SQLite the transaction starts with `BEGIN IMMEDIATE`, so claims run one at a time.

Time: every function takes `now` (tests control the clock); without it PostgreSQL's
`clock_timestamp()` is used, so that engines on machines with skewed clocks still agree on when a
lock expires (SQLite is one machine: its clock is the local clock).

A lock that expires counts as a failed attempt ("the engine died or hung"), so an event that kills
every engine that touches it ends up `failed` instead of looping forever.

Queue operations that write take `bind`: an Engine (each call runs in its own short write
transaction and commits), or a Connection / Session (the call joins the caller's transaction, so a
handler can record its results and complete its event atomically; on SQLite start that transaction
with `arenadb.db.write_transaction` / `session_scope(write=True)`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from arenadb.errors import ConflictError, InvalidArgumentError, NotFoundError
from arenadb.events.base import (
    DEFAULT_LOCK_SECONDS,
    DEFAULT_RETRY_DELAYS,
    Bind,
    as_uuid,
    aware,
    events_table,
    for_update,
    iso,
    now_expr,
    resolve_now,
    writing_connection,
)
from arenadb.events.claim import (
    UNLOCKED,
    EventOutcome,
    after_failure,
    expired_values,
    pg_history_entry,
    pg_iso,
    update_event,
)
from arenadb.events.event_types import validate_payload
from arenadb.models.base import JSONType, utcnow
from arenadb.models.events import (
    EventType,
)

# --------------------------------------------------------------------------------------------
# enqueue


@dataclass
class NewEvent:
    """An event to enqueue. `not_before` delays it (a scheduled event)."""

    event_type: str
    payload: dict[str, Any] | None = None
    priority: int = 0
    scenario_run_id: int | None = None
    game_id: int | None = None
    source: str | None = None
    target: str | None = None
    source_agent_id: int | None = None
    target_agent_id: int | None = None
    not_before: datetime | None = None


def enqueue_events(session: Session, events: Iterable[NewEvent]) -> list[int]:
    """Queue many events in one statement; returns their ids in order."""
    batch = list(events)
    if not batch:
        return []
    names = {e.event_type for e in batch}
    types = {
        t.name: t for t in session.scalars(sa.select(EventType).where(EventType.name.in_(names)))
    }
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for e in batch:
        etype = types.get(e.event_type)
        if etype is None:
            raise NotFoundError(f"event type {e.event_type!r} not found")
        if e.scenario_run_id is not None and e.game_id is not None:
            raise InvalidArgumentError("an event belongs to a scenario run or to a game, not both")
        validate_payload(e.event_type, etype.payload_schema, e.payload)
        rows.append(
            {
                "event_type_id": etype.id,
                "payload": e.payload,
                "priority": e.priority,
                "scenario_run_id": e.scenario_run_id,
                "game_id": e.game_id,
                "source": e.source,
                "target": e.target,
                "source_agent_id": e.source_agent_id,
                "target_agent_id": e.target_agent_id,
                "next_retry_at": e.not_before,
                "status": "queued",
                "retry_count": 0,
                "processing_history": [],
                "created_at": now,
            }
        )
    stmt = sa.insert(events_table).returning(events_table.c.id, sort_by_parameter_order=True)
    return list(session.execute(stmt, rows).scalars())


def enqueue_event(session: Session, event_type: str, payload: dict[str, Any] | None = None, **kw):
    """Queue one event; returns its id. Keywords as in `NewEvent` (priority, game_id, ...).

    Example: `enqueue_event(s, "agent.message", {"content": "hi"}, priority=5, game_id=12)`
    """
    return enqueue_events(session, [NewEvent(event_type, payload, **kw)])[0]


def _locked_event(
    conn: Connection, event_id: int, now: datetime | None = None
) -> Mapping[Any, Any]:
    """The event's row, locked, with the current time as `db_now`."""
    stmt = sa.select(events_table, now_expr(conn, now).label("db_now"))
    stmt = for_update(stmt.where(events_table.c.id == event_id), conn)
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise NotFoundError(f"event {event_id} not found")
    return row


def _owned_event(
    conn: Connection, event_id: int, engine_id: uuid.UUID, now: datetime | None
) -> Mapping[Any, Any]:
    """The event, if `engine_id` still holds it: a late engine whose lock was taken over must not
    overwrite the new owner's work."""
    row = _locked_event(conn, event_id, now)
    if row["status"] != "processing" or row["locked_by"] != engine_id:
        holder = f"locked by {row['locked_by']}" if row["status"] == "processing" else row["status"]
        raise ConflictError(f"event {event_id} is not held by engine {engine_id} (it is {holder})")
    return row


def complete_event(
    bind: Bind,
    event_id: int,
    engine_id: uuid.UUID | str,
    result: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> EventOutcome:
    """Mark an event completed by the engine holding it; the result goes into its history."""
    engine_uuid = as_uuid(engine_id)
    with writing_connection(bind) as conn:
        if conn.dialect.name == "postgresql":
            return _complete_postgresql(conn, event_id, engine_uuid, result, now)
        row = _owned_event(conn, event_id, engine_uuid, now)
        now = aware(row["db_now"])
        entry = {
            "engine_id": str(engine_uuid),
            "claimed_at": iso(row["claimed_at"]),
            "finished_at": iso(now),
            "outcome": "completed",
            "result": result,
        }
        values = {
            **UNLOCKED,
            "status": "completed",
            "result": result,
            "completed_at": now,
            "next_retry_at": None,
            "processing_history": [*(row["processing_history"] or []), entry],
        }
        conn.execute(update_event(event_id, values))
        return EventOutcome(event_id, "completed", row["retry_count"], None, row["last_error"])


def _complete_postgresql(
    conn: Connection,
    event_id: int,
    engine_uuid: uuid.UUID,
    result: dict[str, Any] | None,
    now: datetime | None,
) -> EventOutcome:
    """One statement, guarded by the owner check in its WHERE clause."""
    e = events_table.c
    now_sql = now_expr(conn, now)
    result_sql = sa.cast(sa.literal(result, JSONType), JSONType)
    entry = pg_history_entry(
        engine_id=sa.cast(e.locked_by, sa.Text),
        claimed_at=pg_iso(e.claimed_at),
        finished_at=pg_iso(now_sql),
        outcome=sa.literal_column("'completed'"),
        result=result_sql,
    )
    stmt = (
        sa.update(events_table)
        .where(e.id == event_id, e.status == "processing", e.locked_by == engine_uuid)
        .values(
            **UNLOCKED,
            status="completed",
            result=result,
            completed_at=now_sql,
            next_retry_at=None,
            processing_history=e.processing_history.op("||")(entry),
        )
        .returning(e.retry_count, e.last_error)
    )
    done = conn.execute(stmt).first()
    if done is None:
        _owned_event(conn, event_id, engine_uuid, now)  # raises NotFound / Conflict
        raise ConflictError(f"event {event_id} changed while completing it")  # pragma: no cover
    return EventOutcome(event_id, "completed", done.retry_count, None, done.last_error)


def fail_event(
    bind: Bind,
    event_id: int,
    engine_id: uuid.UUID | str,
    error: str,
    *,
    retry: bool = True,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    now: datetime | None = None,
) -> EventOutcome:
    """Record a failed attempt: queued again after the next backoff delay, or `failed` when the
    retries are used up (or `retry=False`, for errors that retrying cannot fix)."""
    engine_uuid = as_uuid(engine_id)
    with writing_connection(bind) as conn:
        row = _owned_event(conn, event_id, engine_uuid, now)
        now = aware(row["db_now"])
        values = after_failure(row["retry_count"], now, retry_delays, retry=retry, delay=True)
        entry = {
            "engine_id": str(engine_uuid),
            "claimed_at": iso(row["claimed_at"]),
            "finished_at": iso(now),
            "outcome": "failed",
            "error": error,
        }
        values.update(
            UNLOCKED,
            last_error=error,
            processing_history=[*(row["processing_history"] or []), entry],
        )
        conn.execute(update_event(event_id, values))
        return EventOutcome(
            event_id, values["status"], values["retry_count"], values["next_retry_at"], error
        )


def extend_lock(
    bind: Bind,
    event_id: int,
    engine_id: uuid.UUID | str,
    *,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    now: datetime | None = None,
) -> datetime:
    """Push the lock of an event this engine still holds further out (long work); new expiry."""
    engine_uuid = as_uuid(engine_id)
    with writing_connection(bind) as conn:
        row = _owned_event(conn, event_id, engine_uuid, now)
        lock_until = aware(row["db_now"]) + timedelta(seconds=lock_seconds)
        conn.execute(update_event(event_id, {"lock_until": lock_until}))
        return lock_until


def reclaim_expired(
    bind: Bind,
    *,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    now: datetime | None = None,
) -> list[EventOutcome]:
    """Release every event whose lock expired: queued again at once, or `failed` when that was
    its last attempt. Claims do this too, one event at a time; this is the sweep."""
    e = events_table.c
    with writing_connection(bind) as conn:
        now = resolve_now(conn, now)
        stmt = sa.select(events_table).where(e.status == "processing", e.lock_until < now)
        rows = conn.execute(for_update(stmt.order_by(e.id), conn, skip_locked=True))
        outcomes = []
        for row in rows.mappings().all():
            values = expired_values(row, now, retry_delays)
            conn.execute(update_event(row["id"], values))
            outcomes.append(
                EventOutcome(
                    row["id"], values["status"], values["retry_count"], None, values["last_error"]
                )
            )
        return outcomes


def retry_events(
    bind: Bind,
    event_ids: Sequence[int] = (),
    *,
    all_failed: bool = False,
    now: datetime | None = None,
) -> list[EventOutcome]:
    """Queue failed events again with a fresh retry budget (the operator fixed the cause; the
    history keeps every earlier attempt). Named events that are not failed are a ConflictError."""
    if not event_ids and not all_failed:
        raise InvalidArgumentError("name the events to retry, or retry all failed events")
    e = events_table.c
    with writing_connection(bind) as conn:
        now = resolve_now(conn, now)
        rows: list[Mapping[Any, Any]]
        if all_failed:
            stmt = sa.select(events_table).where(e.status == "failed").order_by(e.id)
            rows = list(conn.execute(for_update(stmt, conn, skip_locked=True)).mappings())
        else:
            rows = [_locked_event(conn, i, now) for i in dict.fromkeys(event_ids)]
            for row in rows:
                if row["status"] != "failed":
                    raise ConflictError(
                        f"event {row['id']} is {row['status']}, not failed: nothing to retry"
                    )
        outcomes = []
        for row in rows:
            entry = {
                "outcome": "manual_retry",
                "at": iso(now),
                "previous_retry_count": row["retry_count"],
                "previous_error": row["last_error"],
            }
            values = {
                **UNLOCKED,
                "status": "queued",
                "retry_count": 0,
                "next_retry_at": None,
                "processing_history": [*(row["processing_history"] or []), entry],
            }
            conn.execute(update_event(row["id"], values))
            outcomes.append(EventOutcome(row["id"], "queued", 0, None, row["last_error"]))
        return outcomes
