"""Engines: register, heartbeat, go stale, stop; and listing them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from arenadb.errors import ConflictError, InvalidArgumentError, NotFoundError
from arenadb.events.base import (
    DEFAULT_STALE_AFTER,
    Bind,
    as_uuid,
    aware,
    engines_table,
    events_table,
    reading_connection,
    resolve_now,
    writing_connection,
)
from arenadb.models.events import (
    ENGINE_STATUSES,
)

# --------------------------------------------------------------------------------------------
# engines


@dataclass
class EngineInfo:
    id: uuid.UUID
    engine_type: str
    name: str | None
    status: str
    registered_at: datetime | None
    last_heartbeat: datetime | None
    heartbeat_age_s: float | None
    stale: bool
    current_workload: int
    processing: int
    static_config: dict[str, Any] | None
    dynamic_state: dict[str, Any] | None


def _engine_info(
    row: Mapping[Any, Any], now: datetime, stale_after: float, processing: int = 0
) -> EngineInfo:
    beat = row["last_heartbeat"]
    age = (now - aware(beat)).total_seconds() if beat is not None else None
    # A heartbeat further ahead than `stale_after` (a clock that runs fast) is no sign of life:
    # taken at its word, the engine would look alive until that date, dead or not.
    stale = row["status"] == "stale" or (
        row["status"] == "active" and (age is None or abs(age) > stale_after)
    )
    return EngineInfo(
        id=row["id"],
        engine_type=row["engine_type"],
        name=row["name"],
        status=row["status"],
        registered_at=row["registered_at"],
        last_heartbeat=beat,
        heartbeat_age_s=round(age, 3) if age is not None else None,
        stale=stale,
        current_workload=row["current_workload"],
        processing=processing,
        static_config=row["static_config"],
        dynamic_state=row["dynamic_state"],
    )


def register_engine(
    bind: Bind,
    engine_type: str,
    *,
    name: str | None = None,
    static_config: dict[str, Any] | None = None,
    engine_id: uuid.UUID | str | None = None,
    now: datetime | None = None,
) -> EngineInfo:
    """Register an engine (a new UUID unless `engine_id` is given); it counts as a heartbeat.

    Example: `me = register_engine(engine, "actor", static_config={"capabilities": ["chat"]}).id`
    """
    engine_uuid = as_uuid(engine_id) if engine_id is not None else uuid.uuid4()
    with writing_connection(bind) as conn:
        now = resolve_now(conn, now)
        if conn.execute(
            sa.select(engines_table.c.id).where(engines_table.c.id == engine_uuid)
        ).first():
            raise ConflictError(f"engine {engine_uuid} is already registered")
        values = {
            "id": engine_uuid,
            "engine_type": engine_type,
            "name": name,
            "status": "active",
            "registered_at": now,
            "last_heartbeat": now,
            "current_workload": 0,
            "static_config": static_config,
            "dynamic_state": None,
        }
        conn.execute(engines_table.insert().values(**values))
        return _engine_info(values, now, DEFAULT_STALE_AFTER)


def heartbeat(
    bind: Bind,
    engine_id: uuid.UUID | str,
    *,
    workload: int | None = None,
    dynamic_state: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> datetime:
    """An engine says it is alive (a stale engine becomes active again); returns the time."""
    engine_uuid = as_uuid(engine_id)
    if workload is not None and workload < 0:
        raise InvalidArgumentError("workload must not be negative")
    c = engines_table.c
    with writing_connection(bind) as conn:
        now = resolve_now(conn, now)
        status = conn.execute(sa.select(c.status).where(c.id == engine_uuid)).scalar()
        if status is None:
            raise NotFoundError(f"engine {engine_uuid} not found")
        if status == "stopped":
            raise ConflictError(f"engine {engine_uuid} is stopped: register a new one")
        values: dict[str, Any] = {"last_heartbeat": now, "status": "active"}
        if workload is not None:
            values["current_workload"] = workload
        if dynamic_state is not None:
            values["dynamic_state"] = dynamic_state
        conn.execute(sa.update(engines_table).where(c.id == engine_uuid).values(**values))
        return now


# An age of zero or less would call every engine stale; past a century, now minus it is no date.
AGE_MAX_SECONDS = 100 * 365 * 24 * 3600.0


def check_age(seconds: float, parameter: str) -> None:
    """A heartbeat age in seconds: finite, more than zero, at most AGE_MAX_SECONDS."""
    if not (isinstance(seconds, int | float) and 0 < seconds <= AGE_MAX_SECONDS):
        raise InvalidArgumentError(
            f"a heartbeat age must be more than 0 and at most {AGE_MAX_SECONDS:.0f} seconds, "
            f"not {seconds!r}",
            parameter=parameter,
        )


def mark_stale_engines(
    bind: Bind, *, older_than: float = DEFAULT_STALE_AFTER, now: datetime | None = None
) -> list[uuid.UUID]:
    """Mark `stale` every active engine whose last heartbeat is older than `older_than` s."""
    check_age(older_than, "older_than")
    c = engines_table.c
    with writing_connection(bind) as conn:
        now = resolve_now(conn, now)
        cutoff = now - timedelta(seconds=older_than)
        ahead = now + timedelta(seconds=older_than)  # a fast clock's beat: see _engine_info
        stmt = (
            sa.update(engines_table)
            .where(
                c.status == "active",
                sa.or_(
                    c.last_heartbeat.is_(None),
                    c.last_heartbeat < cutoff,
                    c.last_heartbeat > ahead,
                ),
            )
            .values(status="stale")
            .returning(c.id)
        )
        return sorted(conn.execute(stmt).scalars(), key=str)


def stop_engine(bind: Bind, engine_id: uuid.UUID | str) -> None:
    """An engine shutting down cleanly; events it still holds are released at once."""
    engine_uuid = as_uuid(engine_id)
    c = engines_table.c
    with writing_connection(bind) as conn:
        done = conn.execute(
            sa.update(engines_table).where(c.id == engine_uuid).values(status="stopped")
        )
        if not done.rowcount:
            raise NotFoundError(f"engine {engine_uuid} not found")
        # Let them expire now rather than in 5 minutes: the next claim takes them over.
        e = events_table.c
        conn.execute(
            sa.update(events_table)
            .where(e.locked_by == engine_uuid, e.status == "processing")
            .values(lock_until=e.claimed_at)
        )


def list_engines(
    bind: Bind,
    *,
    status: str | None = None,
    engine_type: str | None = None,
    stale_after: float = DEFAULT_STALE_AFTER,
    now: datetime | None = None,
) -> list[EngineInfo]:
    """Engines, newest heartbeat first, with the events each holds right now. `stale` is true
    for engines marked stale and for active ones silent for more than `stale_after` seconds."""
    if status is not None and status not in ENGINE_STATUSES:
        raise InvalidArgumentError(f"engine status must be one of {', '.join(ENGINE_STATUSES)}")
    check_age(stale_after, "stale_after")
    c, e = engines_table.c, events_table.c
    holding = (
        sa.select(e.locked_by, sa.func.count().label("n"))
        .where(e.status == "processing")
        .group_by(e.locked_by)
        .subquery()
    )
    stmt = (
        sa.select(engines_table, sa.func.coalesce(holding.c.n, 0).label("processing"))
        .outerjoin(holding, holding.c.locked_by == c.id)
        .order_by(c.last_heartbeat.desc().nulls_last(), c.registered_at.desc())
    )
    if status is not None:
        stmt = stmt.where(c.status == status)
    if engine_type is not None:
        stmt = stmt.where(c.engine_type == engine_type)
    with reading_connection(bind) as conn:
        now = resolve_now(conn, now)
        return [
            _engine_info(r, now, stale_after, r["processing"])
            for r in conn.execute(stmt).mappings()
        ]
