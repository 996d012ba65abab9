"""The log readers: system logs and execution logs, newest first, filtered and paged.

What `arenadb logs system` and `arenadb logs execution` print. Game and agent references go
through `arenadb.catalog.refs` (an unknown one is NotFoundError, not an empty page); times are
the caller's datetimes (`arenadb.inspection.filters.parse_when` reads the CLI's forms).

    from arenadb.inspection.logs import read_execution_logs, read_system_logs
    errors = read_system_logs(engine, min_level="error", game="4812", limit=20)
    crashed = read_execution_logs(engine, engine_id="0eb35a3b-...", since=parse_when("1d"))
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from arenadb.catalog.refs import AgentRef, GameRef, resolve_agent_id, resolve_game_id
from arenadb.errors import InvalidArgumentError
from arenadb.events.base import Bind, reading_connection
from arenadb.limits import DEFAULT_LIMIT, check_page
from arenadb.models import LOG_LEVELS, SystemLog
from arenadb.models.events import ExecutionLog


@dataclass(frozen=True)
class SystemLogRow:
    id: int
    created_at: datetime
    level: str
    component: str | None
    message: str
    game_id: int | None
    agent_id: int | None
    conversation_id: int | None
    coalition_id: int | None
    context: dict[str, Any] | None


@dataclass(frozen=True)
class ExecutionLogRow:
    id: int
    created_at: datetime
    level: str
    message: str
    game_id: int | None
    engine_id: uuid.UUID | None
    event_id: int | None
    scenario_run_id: int | None
    data: dict[str, Any] | None


def levels_from(min_level: str) -> tuple[str, ...]:
    """`min_level` and the levels above it (`warning` -> warning, error, critical)."""
    if min_level not in LOG_LEVELS:
        raise InvalidArgumentError(
            f"unknown log level {min_level!r}: one of {', '.join(LOG_LEVELS)}"
        )
    return LOG_LEVELS[LOG_LEVELS.index(min_level) :]


def _common(
    conn: Any,
    model: Any,
    *,
    min_level: str | None,
    game: GameRef | None,
    since: datetime | None,
    until: datetime | None,
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if min_level is not None:
        where.append(model.level.in_(levels_from(min_level)))
    if game is not None:
        where.append(model.game_id == resolve_game_id(conn, game))
    if since is not None:
        where.append(model.created_at >= since)
    if until is not None:
        where.append(model.created_at < until)
    return where


def _page(
    conn: Any,
    model: Any,
    row_type: Any,
    where: list[sa.ColumnElement[bool]],
    limit: int,
    offset: int,
) -> list[Any]:
    """One page of `model`'s rows as `row_type` (whose fields are column names), newest first."""
    columns = model.__table__.c
    stmt = (
        sa.select(*(columns[name] for name in row_type.__dataclass_fields__))
        .where(*where)
        .order_by(model.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [row_type(**row._mapping) for row in conn.execute(stmt)]


def read_system_logs(
    bind: Bind,
    *,
    min_level: str | None = None,
    component: str | None = None,
    game: GameRef | None = None,
    agent: AgentRef | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[SystemLogRow]:
    """System logs, newest first; `since` inclusive, `until` exclusive."""
    check_page(limit, offset)
    with reading_connection(bind) as conn:
        where = _common(conn, SystemLog, min_level=min_level, game=game, since=since, until=until)
        if component is not None:
            where.append(SystemLog.component == component)
        if agent is not None:
            where.append(SystemLog.agent_id == resolve_agent_id(conn, agent))
        return _page(conn, SystemLog, SystemLogRow, where, limit, offset)


def read_execution_logs(
    bind: Bind,
    *,
    min_level: str | None = None,
    game: GameRef | None = None,
    engine_id: str | uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[ExecutionLogRow]:
    """Execution logs of scenario runs, newest first; `engine_id` is an engine's UUID."""
    check_page(limit, offset)
    engine_uuid = _engine_uuid(engine_id) if engine_id is not None else None
    with reading_connection(bind) as conn:
        where = _common(
            conn, ExecutionLog, min_level=min_level, game=game, since=since, until=until
        )
        if engine_uuid is not None:
            where.append(ExecutionLog.engine_id == engine_uuid)
        return _page(conn, ExecutionLog, ExecutionLogRow, where, limit, offset)


def _engine_uuid(engine_id: str | uuid.UUID) -> uuid.UUID:
    if isinstance(engine_id, uuid.UUID):
        return engine_id
    try:
        return uuid.UUID(str(engine_id).strip())
    except ValueError:
        raise InvalidArgumentError(
            f"{str(engine_id)[:60]!r} is not an engine id (a UUID)"
        ) from None
