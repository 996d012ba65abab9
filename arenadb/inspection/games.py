"""Games as `games list` shows them; `game info` is `game_detail`'s, re-exported here.

Every function issues a small, fixed number of statements whatever the page or game size (no
N+1): child counts come from correlated subqueries on primary-key / index prefixes, and a game's
seats, turns and calls come in one statement each. Lists are newest first by id, which is the
primary key (within a start-time window by start time, read along its index), so a page costs
the same on 2,000 games as on 2,000,000.

    from arenadb.db import create_engine
    from arenadb.inspection.games import game_info, list_games

    engine = create_engine(settings)
    for game in list_games(engine, status="completed", agent="alice", limit=20):
        print(game.id, game.type, game.duration_s, game.winning_side)
    detail = game_info(engine, "3f2a")  # an id, a UUID or a unique UUID prefix
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.inspection.filters import GameFilter, game_conditions, newest_first
from arenadb.inspection.game_detail import GameDetail, SnapshotInfo, game_info
from arenadb.inspection.game_parts import SeatInfo, TurnInfo, seconds_between
from arenadb.inspection.winners import game_winners
from arenadb.limits import DEFAULT_LIMIT, check_page
from arenadb.models import Game, GamePlayer, GameTurn, GameType

# `game info` and the parts it shows are importable from here too, as the docs say.
__all__ = [
    "GameDetail",
    "GameSummary",
    "SeatInfo",
    "SnapshotInfo",
    "TurnInfo",
    "game_info",
    "list_games",
]


@dataclass
class GameSummary:
    """One line of `games list`."""

    id: int
    uuid: str
    type: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    seats: int
    turns: int
    outcome: str | None
    winning_side: str | None
    crashed: bool
    rated: bool
    # Who won: the winning side in a team game, else the agent(s) ranked first.
    winner: str | None = None


def list_games(
    engine: Engine,
    filters: GameFilter | None = None,
    *,
    status: str | None = None,
    game_type: str | int | None = None,
    agent: str | int | None = None,
    model: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[GameSummary]:
    """A page of games, newest first, that match `filters` (see `GameFilter`).

    The keyword filters are a shorthand for the fields of a `GameFilter` (and refine one given);
    the filter's own `limit` is for exports: a list is paged by `limit` and `offset`.
    """
    check_page(limit, offset)
    shorthand: dict[str, Any] = {
        "status": status,
        "game_type": game_type,
        "agent": agent,
        "model": model,
        "since": since,
        "until": until,
    }
    filters = replace(
        filters or GameFilter(), **{k: v for k, v in shorthand.items() if v is not None}
    )
    g = Game.__table__
    seats = (
        sa.select(sa.func.count())
        .select_from(GamePlayer.__table__)
        .where(GamePlayer.game_id == g.c.id)
        .scalar_subquery()
    )
    # Counted on the (game_id, seq) primary key: a range scan of this game's turns only.
    turns = (
        sa.select(sa.func.count())
        .select_from(GameTurn.__table__)
        .where(GameTurn.game_id == g.c.id)
        .scalar_subquery()
    )
    with engine.connect() as conn:
        # The page's ids first, then the counts for those rows only: PostgreSQL would otherwise
        # compute the count subqueries for every row skipped by a large OFFSET too.
        page = (
            sa.select(g.c.id)
            .where(*game_conditions(conn, filters))
            .order_by(*newest_first(filters))
            .limit(limit)
            .offset(offset)
        )
        ids = page.subquery("page")
        query = (
            sa.select(
                g.c.id,
                g.c.uuid,
                GameType.env_id,
                g.c.status,
                g.c.started_at,
                g.c.finished_at,
                seats.label("seats"),
                turns.label("turns"),
                g.c.outcome,
                g.c.winning_side,
                g.c.environment_crashed,
                g.c.rated,
            )
            .join(ids, ids.c.id == g.c.id)
            .join(GameType.__table__, GameType.id == g.c.game_type_id)
            .order_by(*newest_first(filters))
        )
        rows = conn.execute(query).all()
        winners = game_winners(conn, [r.id for r in rows if r.outcome == "win"])
    return [
        GameSummary(
            id=row.id,
            uuid=str(row.uuid),
            type=row.env_id,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_s=seconds_between(row.started_at, row.finished_at),
            seats=int(row.seats),
            turns=int(row.turns),
            outcome=row.outcome,
            winning_side=row.winning_side,
            crashed=bool(row.environment_crashed),
            rated=bool(row.rated),
            winner=row.winning_side or winners.get(row.id),
        )
        for row in rows
    ]


# Names this module held before the split into agents, usage, stats and replay: importable from here
# for one release, with a warning that says where they went.
_MOVED = {
    "AgentSummary": "arenadb.inspection.agents",
    "list_agents": "arenadb.inspection.agents",
    "ModelStats": "arenadb.inspection.usage",
    "models_stats": "arenadb.inspection.usage",
    "TableStats": "arenadb.inspection.stats",
    "DatabaseStats": "arenadb.inspection.stats",
    "db_stats": "arenadb.inspection.stats",
    "parse_when": "arenadb.inspection.filters",
    "GameReplay": "arenadb.inspection.replay",
    "game_replay": "arenadb.inspection.replay",
    "MAX_LIMIT": "arenadb.limits",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    warnings.warn(
        f"arenadb.inspection.games.{name} moved to {module}.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
