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

import contextlib
import random
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Union

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from arenadb.db.engine import SQLITE_BEGIN, write_transaction
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError, UsageError
from arenadb.models.base import JSONType, UTCDateTime, utcnow
from arenadb.models.events import (
    ENGINE_STATUSES,
    EVENT_STATUSES,
    LIVE_EVENTS_WHERE,
    LOG_LEVELS,
    SCENARIO_RUN_STATUSES,
    Event,
    EventType,
    ExecutionLog,
    ScenarioRun,
    ScenarioTemplate,
)
from arenadb.models.events import (
    Engine as EngineRow,
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
def _writing(bind: Bind) -> Iterator[Connection]:
    """A connection in a write transaction: our own (Engine) or the caller's."""
    if isinstance(bind, Engine):
        with write_transaction(bind) as conn:
            yield conn
    elif isinstance(bind, Session):
        yield bind.connection()
    else:
        yield bind


@contextmanager
def _reading(bind: Bind) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            yield conn
    elif isinstance(bind, Session):
        yield bind.connection()
    else:
        yield bind


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def database_now(conn: Connection) -> datetime:
    """The database's clock (PostgreSQL), or the local clock for SQLite, in UTC."""
    if conn.dialect.name == "postgresql":
        return _aware(conn.execute(sa.select(sa.func.clock_timestamp())).scalar_one())
    return utcnow()


def _now(conn: Connection, now: datetime | None) -> datetime:
    return _aware(now) if now is not None else database_now(conn)


def _now_expr(conn: Connection, now: datetime | None) -> sa.ColumnElement[datetime]:
    """`now` as a SQL value: the given time, or PostgreSQL's statement_timestamp(), so that the
    hot paths read the database clock inside their first query instead of in a query of its own.
    """
    if now is None and conn.dialect.name == "postgresql":
        return sa.func.statement_timestamp(type_=UTCDateTime())
    return sa.literal(_aware(now) if now is not None else utcnow(), UTCDateTime())


def _iso(value: datetime | None) -> str | None:
    return _aware(value).isoformat() if value is not None else None


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise UsageError(f"{value!r} is not an engine id (a UUID)") from None


def _for_update(stmt: sa.Select, conn: Connection, *, skip_locked: bool = False) -> sa.Select:
    # SQLite has no row locks (and SQLAlchemy renders nothing there): the write transaction
    # already excludes every other writer.
    if conn.dialect.name == "postgresql":
        return stmt.with_for_update(of=events_table, skip_locked=skip_locked)
    return stmt


# --------------------------------------------------------------------------------------------
# event types


@dataclass
class EventTypeSeedResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


EVENT_TYPE_FIELDS = ("category", "engine_type", "description", "payload_schema")


def ensure_event_types(session: Session, rows: Iterable[Mapping[str, Any]]) -> EventTypeSeedResult:
    """Create or update event types by name (idempotent): what seeding calls.

    Example: `ensure_event_types(s, [{"name": "agent.message", "engine_type": "actor"}])`
    """
    wanted: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidDataError(f"event type without a name: {dict(row)!r}")
        unknown = set(row) - {"name", *EVENT_TYPE_FIELDS}
        if unknown:
            raise InvalidDataError(f"event type {name!r}: unknown fields {sorted(unknown)}")
        schema = row.get("payload_schema")
        if schema is not None and not isinstance(schema, Mapping):
            raise InvalidDataError(f"event type {name!r}: payload_schema must be a table")
        wanted[name] = {f: row.get(f) for f in EVENT_TYPE_FIELDS}
    existing = {
        t.name: t for t in session.scalars(sa.select(EventType).where(EventType.name.in_(wanted)))
    }
    result = EventTypeSeedResult()
    for name, values in wanted.items():
        current = existing.get(name)
        if current is None:
            session.add(EventType(name=name, **values))
            result.created.append(name)
        elif any(getattr(current, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(current, f, v)
            result.updated.append(name)
        else:
            result.unchanged.append(name)
    session.flush()
    return result


def read_event_types(path: Any = None) -> list[dict[str, Any]]:
    """The `[[event_types]]` rows of a TOML file (default: the core ones in seeds/common)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from pathlib import Path

    from arenadb.resources import seeds_dir

    file = Path(path) if path is not None else seeds_dir() / "common" / "event_types.toml"
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidDataError(f"cannot read event types from {file}: {exc}") from None
    rows = data.get("event_types", [])
    if not isinstance(rows, list):
        raise InvalidDataError(f"{file}: event_types must be an array of tables")
    return rows


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def validate_payload(event_type: str, schema: Mapping[str, Any] | None, payload: Any) -> None:
    """Check a payload against the JSON-Schema subset event types use: required keys and the
    top-level type of each declared property. Raises InvalidDataError."""
    if not schema:
        return
    if payload is None:  # no payload: an empty object, fine unless keys are required
        payload = {}
    if schema.get("type", "object") == "object" and not isinstance(payload, dict):
        raise InvalidDataError(f"{event_type} payload must be an object")
    missing = [k for k in schema.get("required", []) if k not in payload]
    if missing:
        raise InvalidDataError(f"{event_type} payload is missing {', '.join(missing)}")
    for key, spec in (schema.get("properties") or {}).items():
        expected = spec.get("type") if isinstance(spec, Mapping) else None
        if key not in payload or payload[key] is None or expected not in _JSON_TYPES:
            continue
        value = payload[key]
        ok = isinstance(value, _JSON_TYPES[expected])
        if expected in ("integer", "number") and isinstance(value, bool):
            ok = False
        if not ok:
            raise InvalidDataError(f"{event_type} payload field {key!r} must be {expected}")


# --------------------------------------------------------------------------------------------
# scenarios and execution logs


def create_scenario_template(
    session: Session,
    name: str,
    *,
    description: str | None = None,
    config: dict[str, Any] | None = None,
    agent_roles: list[Any] | None = None,
    event_flow: list[Any] | None = None,
) -> ScenarioTemplate:
    """A new scenario template; ConflictError if the name is taken."""
    if session.scalar(sa.select(ScenarioTemplate.id).where(ScenarioTemplate.name == name)):
        raise ConflictError(f"scenario template {name!r} already exists")
    template = ScenarioTemplate(
        name=name,
        description=description,
        config=config,
        agent_roles=agent_roles,
        event_flow=event_flow,
    )
    session.add(template)
    session.flush()
    return template


def start_scenario_run(
    session: Session,
    template: str | int | None = None,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ScenarioRun:
    """A running scenario, from a template (by name or id) or ad hoc (template None)."""
    template_id = None
    if template is not None:
        column = ScenarioTemplate.id if isinstance(template, int) else ScenarioTemplate.name
        template_id = session.scalar(sa.select(ScenarioTemplate.id).where(column == template))
        if template_id is None:
            raise NotFoundError(f"scenario template {template!r} not found")
    run = ScenarioRun(
        template_id=template_id,
        name=name,
        config=config,
        status="running",
        started_at=now or utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def finish_scenario_run(
    session: Session,
    run_id: int,
    *,
    status: str = "completed",
    results: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ScenarioRun:
    """Mark a scenario run completed, failed or aborted, with its results."""
    if status not in SCENARIO_RUN_STATUSES[2:]:
        raise UsageError(f"a run finishes as one of {', '.join(SCENARIO_RUN_STATUSES[2:])}")
    run = session.get(ScenarioRun, run_id, with_for_update=True)
    if run is None:
        raise NotFoundError(f"scenario run {run_id} not found")
    if run.status in SCENARIO_RUN_STATUSES[2:]:
        raise ConflictError(f"scenario run {run_id} is already {run.status}")
    run.status, run.results, run.completed_at = status, results, now or utcnow()
    session.flush()
    return run


def log_execution(
    bind: Bind,
    message: str,
    *,
    level: str = "info",
    scenario_run_id: int | None = None,
    game_id: int | None = None,
    engine_id: uuid.UUID | str | None = None,
    event_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append an execution log line; returns its id."""
    if level not in LOG_LEVELS:
        raise UsageError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    table: sa.Table = ExecutionLog.__table__  # type: ignore[assignment]
    with _writing(bind) as conn:
        return conn.execute(
            table.insert()
            .values(
                message=message,
                level=level,
                scenario_run_id=scenario_run_id,
                game_id=game_id,
                engine_id=_as_uuid(engine_id) if engine_id is not None else None,
                event_id=event_id,
                data=data,
                created_at=utcnow(),
            )
            .returning(table.c.id)
        ).scalar_one()


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
            raise UsageError("an event belongs to a scenario run or to a game, not both")
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


def _after_failure(
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


_UNLOCKED = {"locked_by": None, "lock_until": None, "claimed_at": None}


def _expired_values(row: Mapping[Any, Any], now: datetime, retry_delays: Sequence[float]):
    """An expired lock is a failed attempt; it may be retried at once (the lock already waited)."""
    error = f"lock expired at {_iso(row['lock_until'])} (engine {row['locked_by']})"
    entry = {
        "engine_id": str(row["locked_by"]) if row["locked_by"] else None,
        "claimed_at": _iso(row["claimed_at"]),
        "finished_at": _iso(now),
        "outcome": "lock_expired",
        "error": error,
    }
    values = _after_failure(row["retry_count"], now, retry_delays, retry=True, delay=False)
    values.update(
        _UNLOCKED,
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
    engine_uuid = _as_uuid(engine_id)
    with _writing(bind) as conn:
        now_sql = _now_expr(conn, now)
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
    now = _aware(found[-1])
    values: dict[str, Any] = {}
    if row["status"] == "processing":
        values = _expired_values(row, now, retry_delays)
    values.update(
        status="processing",
        locked_by=engine_uuid,
        claimed_at=now,
        lock_until=now + timedelta(seconds=lock_seconds),
        next_retry_at=None,
    )
    conn.execute(_update(row["id"], values))
    row.update(values)
    return row


def _pg_iso(value: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A timestamptz as the same ISO 8601 UTC text Python's isoformat() writes."""
    return sa.func.to_char(
        sa.func.timezone("UTC", value), sa.literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\'')
    )


def _pg_history_entry(**fields: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
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
        _pg_iso(e.lock_until),
        sa.literal_column("' (engine '"),
        sa.cast(e.locked_by, sa.Text),
        sa.literal_column("')'"),
    )
    entry = _pg_history_entry(
        engine_id=sa.cast(e.locked_by, sa.Text),
        claimed_at=_pg_iso(e.claimed_at),
        finished_at=_pg_iso(now_sql),
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


def _update(event_id: int, values: Mapping[str, Any]) -> sa.Update:
    return sa.update(events_table).where(events_table.c.id == event_id).values(**values)


def _locked_event(
    conn: Connection, event_id: int, now: datetime | None = None
) -> Mapping[Any, Any]:
    """The event's row, locked, with the current time as `db_now`."""
    stmt = sa.select(events_table, _now_expr(conn, now).label("db_now"))
    stmt = _for_update(stmt.where(events_table.c.id == event_id), conn)
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
    engine_uuid = _as_uuid(engine_id)
    with _writing(bind) as conn:
        if conn.dialect.name == "postgresql":
            return _complete_postgresql(conn, event_id, engine_uuid, result, now)
        row = _owned_event(conn, event_id, engine_uuid, now)
        now = _aware(row["db_now"])
        entry = {
            "engine_id": str(engine_uuid),
            "claimed_at": _iso(row["claimed_at"]),
            "finished_at": _iso(now),
            "outcome": "completed",
            "result": result,
        }
        values = {
            **_UNLOCKED,
            "status": "completed",
            "result": result,
            "completed_at": now,
            "next_retry_at": None,
            "processing_history": [*(row["processing_history"] or []), entry],
        }
        conn.execute(_update(event_id, values))
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
    now_sql = _now_expr(conn, now)
    result_sql = sa.cast(sa.literal(result, JSONType), JSONType)
    entry = _pg_history_entry(
        engine_id=sa.cast(e.locked_by, sa.Text),
        claimed_at=_pg_iso(e.claimed_at),
        finished_at=_pg_iso(now_sql),
        outcome=sa.literal_column("'completed'"),
        result=result_sql,
    )
    stmt = (
        sa.update(events_table)
        .where(e.id == event_id, e.status == "processing", e.locked_by == engine_uuid)
        .values(
            **_UNLOCKED,
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
    engine_uuid = _as_uuid(engine_id)
    with _writing(bind) as conn:
        row = _owned_event(conn, event_id, engine_uuid, now)
        now = _aware(row["db_now"])
        values = _after_failure(row["retry_count"], now, retry_delays, retry=retry, delay=True)
        entry = {
            "engine_id": str(engine_uuid),
            "claimed_at": _iso(row["claimed_at"]),
            "finished_at": _iso(now),
            "outcome": "failed",
            "error": error,
        }
        values.update(
            _UNLOCKED,
            last_error=error,
            processing_history=[*(row["processing_history"] or []), entry],
        )
        conn.execute(_update(event_id, values))
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
    engine_uuid = _as_uuid(engine_id)
    with _writing(bind) as conn:
        row = _owned_event(conn, event_id, engine_uuid, now)
        lock_until = _aware(row["db_now"]) + timedelta(seconds=lock_seconds)
        conn.execute(_update(event_id, {"lock_until": lock_until}))
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
    with _writing(bind) as conn:
        now = _now(conn, now)
        stmt = sa.select(events_table).where(e.status == "processing", e.lock_until < now)
        rows = conn.execute(_for_update(stmt.order_by(e.id), conn, skip_locked=True))
        outcomes = []
        for row in rows.mappings().all():
            values = _expired_values(row, now, retry_delays)
            conn.execute(_update(row["id"], values))
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
        raise UsageError("name the events to retry, or retry all failed events")
    e = events_table.c
    with _writing(bind) as conn:
        now = _now(conn, now)
        rows: list[Mapping[Any, Any]]
        if all_failed:
            stmt = sa.select(events_table).where(e.status == "failed").order_by(e.id)
            rows = list(conn.execute(_for_update(stmt, conn, skip_locked=True)).mappings())
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
                "at": _iso(now),
                "previous_retry_count": row["retry_count"],
                "previous_error": row["last_error"],
            }
            values = {
                **_UNLOCKED,
                "status": "queued",
                "retry_count": 0,
                "next_retry_at": None,
                "processing_history": [*(row["processing_history"] or []), entry],
            }
            conn.execute(_update(row["id"], values))
            outcomes.append(EventOutcome(row["id"], "queued", 0, None, row["last_error"]))
        return outcomes


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
    age = (now - _aware(beat)).total_seconds() if beat is not None else None
    stale = row["status"] == "stale" or (
        row["status"] == "active" and (age is None or age > stale_after)
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
    engine_uuid = _as_uuid(engine_id) if engine_id is not None else uuid.uuid4()
    with _writing(bind) as conn:
        now = _now(conn, now)
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
    engine_uuid = _as_uuid(engine_id)
    if workload is not None and workload < 0:
        raise UsageError("workload must not be negative")
    c = engines_table.c
    with _writing(bind) as conn:
        now = _now(conn, now)
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


def mark_stale_engines(
    bind: Bind, *, older_than: float = DEFAULT_STALE_AFTER, now: datetime | None = None
) -> list[uuid.UUID]:
    """Mark `stale` every active engine whose last heartbeat is older than `older_than` s."""
    c = engines_table.c
    with _writing(bind) as conn:
        now = _now(conn, now)
        cutoff = now - timedelta(seconds=older_than)
        stmt = (
            sa.update(engines_table)
            .where(
                c.status == "active", sa.or_(c.last_heartbeat.is_(None), c.last_heartbeat < cutoff)
            )
            .values(status="stale")
            .returning(c.id)
        )
        return sorted(conn.execute(stmt).scalars(), key=str)


def stop_engine(bind: Bind, engine_id: uuid.UUID | str) -> None:
    """An engine shutting down cleanly; events it still holds are released at once."""
    engine_uuid = _as_uuid(engine_id)
    c = engines_table.c
    with _writing(bind) as conn:
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
        raise UsageError(f"engine status must be one of {', '.join(ENGINE_STATUSES)}")
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
    with _reading(bind) as conn:
        now = _now(conn, now)
        return [
            _engine_info(r, now, stale_after, r["processing"])
            for r in conn.execute(stmt).mappings()
        ]


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
    game_id: int | None = None,
    limit: int | None = 50,
    event_ids: Sequence[int] | None = None,
) -> list[EventInfo]:
    """Events, newest first, filtered."""
    if status is not None and status not in EVENT_STATUSES:
        raise UsageError(f"event status must be one of {', '.join(EVENT_STATUSES)}")
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
        stmt = stmt.where(e.locked_by == _as_uuid(engine_id))
    if scenario_run_id is not None:
        stmt = stmt.where(e.scenario_run_id == scenario_run_id)
    if game_id is not None:
        stmt = stmt.where(e.game_id == game_id)
    if event_ids is not None:
        stmt = stmt.where(e.id.in_(list(event_ids)))
    if limit is not None:
        stmt = stmt.limit(limit)
    names = [f.name for f in EventInfo.__dataclass_fields__.values()]
    with _reading(bind) as conn:
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
    with _reading(bind) as conn:
        now = _now(conn, now)
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
        return _aware(value) if value is not None else None
    return _aware(datetime.fromisoformat(str(value)))


# --------------------------------------------------------------------------------------------
# a worker loop


def _sqlite_busy(exc: sa.exc.OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


@dataclass
class WorkerReport:
    engine_id: uuid.UUID
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


Handler = Callable[[ClaimedEvent], "dict[str, Any] | None"]


def run_worker(
    engine: Engine,
    engine_id: uuid.UUID | str,
    handler: Handler,
    *,
    max_events: int | None = None,
    idle_timeout: float = 0.0,
    poll_interval: float = 0.2,
    heartbeat_every: float = 30.0,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    engine_type: str | None = None,
    event_types: Sequence[str] | None = None,
) -> WorkerReport:
    """Claim, handle, complete (or fail with the handler's exception) until no event has been
    ready for `idle_timeout` seconds or `max_events` were handled; heartbeats as it goes.

    Example: `run_worker(engine, me, lambda ev: {"echo": ev.payload}, idle_timeout=60)`
    """
    report = WorkerReport(_as_uuid(engine_id))
    me = report.engine_id
    # One connection for the whole loop, one short transaction per step: no pool checkout and
    # pre-ping per event. The handler runs outside any transaction (it may take minutes).
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(engine.connect())
        fast = conn
        if engine.dialect.name == "sqlite":
            conn = fast = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        else:
            # On PostgreSQL claim and complete are one statement each, atomic by themselves:
            # in autocommit they cost one round trip instead of three (BEGIN, it, COMMIT).
            fast = stack.enter_context(engine.connect())
            fast = fast.execution_options(isolation_level="AUTOCOMMIT")

        def step(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            on = fast if operation in (claim_next_event, complete_event) else conn
            deadline = time.monotonic() + lock_seconds / 2
            while True:
                try:
                    with on.begin():
                        return operation(on, *args, **kwargs)
                except sa.exc.OperationalError as exc:
                    # SQLite's busy handler is not fair: under heavy contention a writer can
                    # wait out its busy timeout while others keep taking the lock. That is
                    # congestion, not failure: try again while our lock is safe.
                    if not _sqlite_busy(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(random.uniform(0.001, 0.02))

        last_beat = idle_since = time.monotonic()
        while max_events is None or len(report.completed) + len(report.failed) < max_events:
            if time.monotonic() - last_beat >= heartbeat_every:
                step(heartbeat, me)
                # Claims take over expired locks with retries left; this fails the rest.
                step(reclaim_expired, retry_delays=retry_delays)
                last_beat = time.monotonic()
            event = step(
                claim_next_event,
                me,
                lock_seconds=lock_seconds,
                engine_type=engine_type,
                event_types=event_types,
                retry_delays=retry_delays,
            )
            if event is None:
                if time.monotonic() - idle_since >= idle_timeout:
                    break
                time.sleep(poll_interval)
                continue
            idle_since = time.monotonic()
            try:
                result = handler(event)
            except Exception as exc:
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                step(fail_event, event.id, me, error, retry_delays=retry_delays)
                report.failed.append(event.id)
                continue
            step(complete_event, event.id, me, result)
            report.completed.append(event.id)
    return report
