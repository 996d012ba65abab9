"""THE game filter: which games `games list`, `export` and `Arena.games` are about.

One dataclass says what a caller wants (by status, result, type, agent, model, start time) and
one function turns it into SQL conditions, resolving every reference through
`arenadb.catalog.refs`, so the same filter selects the same games wherever it is used.

    from arenadb.inspection.filters import GameFilter, parse_when
    only = GameFilter(status="completed", game_type="Secret Mafia", since=parse_when("7d"))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from arenadb.ages import AGE_EXAMPLES, parse_age
from arenadb.catalog.refs import (
    AgentRef,
    GameTypeRef,
    ModelRef,
    resolve_agent_id,
    resolve_game_type_id,
    resolve_model_id,
)
from arenadb.errors import InvalidArgumentError
from arenadb.models import GAME_STATUSES, Agent, Game, GamePlayer

DEFAULT_RATING_SYSTEM = "trueskill"
_FORMS = f"use ISO 8601 (2026-03-01, 2026-03-01T12:00) or an age such as {AGE_EXAMPLES}"


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time from ISO 8601 (`2026-03-01`, `2026-03-01T12:00`) or an age (`90m`, `7d`).

    A time without a zone is UTC. Ages and times that fall outside years 1-9999 once in UTC
    (`99999999999999d`, `0001-01-01T00:00:00+01:00`) are InvalidArgumentError, as is any
    other text.
    """
    value = text.strip()
    if not value.isascii():
        raise InvalidArgumentError(f"cannot read time {_shown(text)}: {_FORMS}")
    try:
        age = parse_age(value)
        if age is not None:
            return (now or datetime.now(timezone.utc)) - age
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgumentError(f"cannot read time {_shown(text)}: {_FORMS}") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidArgumentError(
            f"time {_shown(text)} is out of range: it must fall in the years 1 to 9999 (UTC)"
        ) from None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:59] + "…")


@dataclass
class GameFilter:
    """Which games: all of them when every field is None.

    `status` is one status or several; `agent` an agent id or alias; `model` a model id or
    name; `game_type` a type id, env id or name; `since` (inclusive) and `until` (exclusive)
    bound `started_at`. `limit` caps how many games a consumer takes (export: the oldest first).
    """

    status: str | Sequence[str] | None = None
    winning_side: str | None = None
    game_type: GameTypeRef | None = None
    agent: AgentRef | None = None
    model: ModelRef | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None

    def describe(self) -> dict[str, Any]:
        """The fields that are set, as plain JSON values (for an export's header)."""
        described: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if value is None:
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, (list, tuple)):
                value = list(value)
            described[key] = value
        return described


def check_statuses(status: str | Sequence[str]) -> list[str]:
    """The statuses asked for, each checked against the known ones."""
    statuses = [status] if isinstance(status, str) else list(status)
    for value in statuses:
        if value not in GAME_STATUSES:
            raise InvalidArgumentError(
                f"unknown game status {value!r}: one of {', '.join(GAME_STATUSES)}"
            )
    return statuses


def game_conditions(
    conn: Connection | Session, filters: GameFilter
) -> list[sa.ColumnElement[bool]]:
    """The WHERE conditions on `games` that select what `filters` asks for.

    References are resolved first (one small lookup each), so that an unknown agent, model or
    type is an error rather than an empty result, and the conditions compare integer ids only.
    """
    g = Game.__table__
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.status is not None:
        statuses = check_statuses(filters.status)
        conditions.append(
            g.c.status == statuses[0] if len(statuses) == 1 else g.c.status.in_(statuses)
        )
    if filters.winning_side is not None:
        conditions.append(g.c.winning_side == filters.winning_side)
    if filters.game_type is not None:
        conditions.append(g.c.game_type_id == resolve_game_type_id(conn, filters.game_type))
    if filters.agent is not None:
        agent_id = resolve_agent_id(conn, filters.agent)
        # One probe of the (agent_id, game_id) index per candidate game.
        conditions.append(
            sa.exists().where(GamePlayer.game_id == g.c.id, GamePlayer.agent_id == agent_id)
        )
    if filters.model is not None:
        model_id = resolve_model_id(conn, filters.model)
        conditions.append(
            sa.exists().where(
                GamePlayer.game_id == g.c.id,
                GamePlayer.agent_id.in_(sa.select(Agent.id).where(Agent.model_id == model_id)),
            )
        )
    if filters.since is not None:
        conditions.append(g.c.started_at >= filters.since)
    if filters.until is not None:
        conditions.append(g.c.started_at < filters.until)
    return conditions


def newest_first(filters: GameFilter) -> tuple[sa.ColumnElement[Any], ...]:
    """The ORDER BY of a page of games: by id, newest first; within a start-time window by
    start time (then id), newest first, read backwards along `ix_games_started_at`.

    By id, a window far in the past would walk the primary key from the newest game until the
    window's first games: PostgreSQL expects the matches spread over the whole id range and
    picks that walk (24,000 games skipped at the paper's scale, ten times as many at 10x).
    """
    g = Game.__table__
    if filters.since is not None or filters.until is not None:
        return (g.c.started_at.desc(), g.c.id.desc())
    return (g.c.id.desc(),)


def matching_game_ids(conn: Connection | Session, filters: GameFilter) -> sa.Select[Any]:
    """SELECT games.id of the games that match, without order or limit."""
    g = Game.__table__
    return sa.select(g.c.id).where(*game_conditions(conn, filters))


def count_games(engine: Engine, filters: GameFilter | None = None) -> int:
    """How many games match (`limit` applied)."""
    filters = filters or GameFilter()
    with engine.connect() as conn:
        total = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(matching_game_ids(conn, filters).subquery())
            ).scalar_one()
        )
    return total if filters.limit is None else min(total, filters.limit)
