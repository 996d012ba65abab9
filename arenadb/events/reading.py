"""Reading the queue: events, one event, statistics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from arenadb.catalog.refs import GameRef, resolve_game_id
from arenadb.errors import InvalidArgumentError, NotFoundError
from arenadb.events.base import (
    Bind,
    as_uuid,
    aware,
    event_types_table,
    events_table,
    reading_connection,
    resolve_now,
)
from arenadb.limits import DEFAULT_LIMIT, check_page
from arenadb.models.events import (
    EVENT_STATUSES,
    LIVE_EVENTS_WHERE,
)

# --------------------------------------------------------------------------------------------
# inspection


@dataclass
class EventInfo:
    id: int
    event_type: str
    status: str
    priority: int
    retry_count: int
    scenario_run_id: int | None
    game_id: int | None
    source: str | None
    target: str | None
    source_agent_id: int | None
    target_agent_id: int | None
    locked_by: uuid.UUID | None
    lock_until: datetime | None
    next_retry_at: datetime | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None
    payload: dict[str, Any] | None
    result: dict[str, Any] | None
    processing_history: list[Any]


def list_events(
    bind: Bind,
    *,
    status: str | None = None,
    event_type: str | None = None,
    engine_id: uuid.UUID | str | None = None,
    scenario_run_id: int | None = None,
    game_id: GameRef | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    event_ids: Sequence[int] | None = None,
) -> list[EventInfo]:
    """Events, newest first, filtered (`game_id`: a game id, UUID or unique UUID prefix)."""
    if status is not None and status not in EVENT_STATUSES:
        raise InvalidArgumentError(f"event status must be one of {', '.join(EVENT_STATUSES)}")
    e = events_table.c
    stmt = (
        sa.select(events_table, event_types_table.c.name.label("event_type"))
        .join(event_types_table, event_types_table.c.id == e.event_type_id)
        .order_by(e.id.desc())
    )
    if status is not None:
        stmt = stmt.where(e.status == status)
    if event_type is not None:
        stmt = stmt.where(event_types_table.c.name == event_type)
    if engine_id is not None:
        stmt = stmt.where(e.locked_by == as_uuid(engine_id))
    if scenario_run_id is not None:
        stmt = stmt.where(e.scenario_run_id == scenario_run_id)
    if event_ids is not None:
        stmt = stmt.where(e.id.in_(list(event_ids)))
    if limit is not None:
        check_page(limit, offset)
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    names = [f.name for f in EventInfo.__dataclass_fields__.values()]
    with reading_connection(bind) as conn:
        if game_id is not None:
            stmt = stmt.where(e.game_id == resolve_game_id(conn, game_id))
        return [EventInfo(**{n: r[n] for n in names}) for r in conn.execute(stmt).mappings()]


def get_event(bind: Bind, event_id: int) -> EventInfo:
    found = list_events(bind, event_ids=[event_id], limit=None)
    if not found:
        raise NotFoundError(f"event {event_id} not found")
    return found[0]


@dataclass
class EventTypeStats:
    event_type: str
    queued: int = 0
    processing: int = 0
    completed: int = 0
    failed: int = 0


@dataclass
class EventStats:
    total: int
    by_status: dict[str, int]
    ready: int
    waiting_retry: int
    expired_locks: int
    oldest_ready_at: datetime | None
    by_type: list[EventTypeStats]


def event_stats(bind: Bind, *, now: datetime | None = None) -> EventStats:
    """Counts by status and type, how many are ready to claim, waiting to retry, or stuck
    under an expired lock."""
    e = events_table.c
    with reading_connection(bind) as conn:
        now = resolve_now(conn, now)
        by_type: dict[str, EventTypeStats] = {}
        by_status = dict.fromkeys(EVENT_STATUSES, 0)
        counts = conn.execute(
            sa.select(event_types_table.c.name, e.status, sa.func.count())
            .join(event_types_table, event_types_table.c.id == e.event_type_id)
            .group_by(event_types_table.c.name, e.status)
            .order_by(event_types_table.c.name)
        )
        for name, status, n in counts:
            stats = by_type.setdefault(name, EventTypeStats(name))
            setattr(stats, status, n)
            by_status[status] += n
        is_ready = sa.or_(e.next_retry_at.is_(None), e.next_retry_at <= now)
        live = conn.execute(
            sa.select(
                sa.func.count().filter(e.status == "queued", is_ready),
                sa.func.count().filter(e.status == "queued", sa.not_(is_ready)),
                sa.func.count().filter(e.status == "processing", e.lock_until < now),
                sa.func.min(e.created_at).filter(e.status == "queued", is_ready),
            ).where(sa.text(LIVE_EVENTS_WHERE))
        ).one()
    return EventStats(
        total=sum(by_status.values()),
        by_status=by_status,
        ready=live[0],
        waiting_retry=live[1],
        expired_locks=live[2],
        oldest_ready_at=_coerce_datetime(live[3]),
        by_type=list(by_type.values()),
    )


def _coerce_datetime(value: Any) -> datetime | None:
    # An aggregate over a column loses the column's type on SQLite: it comes back as text.
    if value is None or isinstance(value, datetime):
        return aware(value) if value is not None else None
    return aware(datetime.fromisoformat(str(value)))
