"""The analysis tables: games and what hangs off them, one flat row per record, streamed.

`arenadb.analysis` (data frames) and the Parquet export read the same tables from here, so a
frame and a dataset always have the same columns. Each table is the database table's columns
(JSON as its text, UUIDs as text) plus `game_type` (the env id) and `day` (the UTC date the game
started, or was created when it never started): the two columns a dataset is partitioned by.
`ratings` are the current ratings (one row per agent, system and game type; `day` is the day of
their last update, `game_type` "all" for the overall rating).

Games are read by keyset pagination on their id, `chunk_games` at a time, with one query per
child table per chunk: constant memory whatever the size of the arena.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.inspection.filters import GameFilter, matching_game_ids
from arenadb.models import (
    Game,
    GamePlayer,
    GameType,
    LLMCall,
    PlayerAction,
    Rating,
    RatingEvent,
)
from arenadb.models import GameTurn as Turn

PARTITION_COLUMNS = ("game_type", "day")
CHUNK_GAMES = 500


@dataclass(frozen=True)
class AnalysisTable:
    name: str
    table: sa.Table
    order: tuple[str, ...]  # within a game

    @property
    def columns(self) -> tuple[str, ...]:
        return (*(c.name for c in self.table.c), *PARTITION_COLUMNS)


def _table(model: type[Any]) -> sa.Table:
    table: sa.Table = model.__table__
    return table


GAMES = AnalysisTable("games", _table(Game), ())
# Per-game tables, in the order a dataset lists them.
CHILDREN = (
    AnalysisTable("players", _table(GamePlayer), ("seat",)),
    AnalysisTable("turns", _table(Turn), ("seq",)),
    AnalysisTable("actions", _table(PlayerAction), ("turn_seq", "idx")),
    AnalysisTable("llm_calls", _table(LLMCall), ("id",)),
    AnalysisTable("rating_events", _table(RatingEvent), ("id",)),
)
RATINGS = AnalysisTable("ratings", _table(Rating), ())
TABLES = {t.name: t for t in (GAMES, *CHILDREN, RATINGS)}


def _select(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """Every column, JSON as its text and UUIDs as text (what Parquet and frames hold)."""
    out: list[sa.ColumnElement[Any]] = []
    for column in table.c:
        if isinstance(column.type, sa.JSON | sa.Uuid):
            out.append(sa.cast(column, sa.Text).label(column.name))
        else:
            out.append(column)
    return out


def _day(started: datetime | None, created: datetime | None) -> str:
    when = started or created
    return when.date().isoformat() if when is not None else "unknown"


def game_chunks(
    conn: Connection, filters: GameFilter | None = None, *, chunk_games: int = CHUNK_GAMES
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of `games` (with game_type and day) that match, oldest id first, a chunk at a time."""
    filters = filters or GameFilter()
    matching = matching_game_ids(conn, filters)
    g = GAMES.table
    types = GameType.__table__
    last_id, left = 0, filters.limit
    while left is None or left > 0:
        size = chunk_games if left is None else min(chunk_games, left)
        page = matching.where(g.c.id > last_id).order_by(g.c.id).limit(size)
        query = (
            sa.select(*_select(g), types.c.env_id)
            .join(types, types.c.id == g.c.game_type_id)
            .where(g.c.id.in_(page))
            .order_by(g.c.id)
        )
        rows = conn.execute(query).all()
        if not rows:
            return
        started, created = g.c.keys().index("started_at"), g.c.keys().index("created_at")
        yield [(*row[:-1], row[-1], _day(row[started], row[created])) for row in rows]
        last_id = rows[-1][0]
        if left is not None:
            left -= len(rows)


def child_rows(
    conn: Connection, spec: AnalysisTable, games: Sequence[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The rows of a per-game table for a chunk of `games` rows, with game_type and day."""
    partition = {row[0]: row[-2:] for row in games}
    table = spec.table
    query = (
        sa.select(*_select(table))
        .where(table.c.game_id.in_(list(partition)))
        .order_by(table.c.game_id, *(table.c[name] for name in spec.order))
    )
    game_index = table.c.keys().index("game_id")
    return [(*row, *partition[row[game_index]]) for row in conn.execute(query)]


def rating_rows(conn: Connection, game_type_id: int | None = None) -> list[tuple[Any, ...]]:
    """The current ratings (of one game type, or all), with game_type and day."""
    table = RATINGS.table
    types = GameType.__table__
    query = (
        sa.select(*_select(table), types.c.env_id)
        .outerjoin(types, types.c.id == table.c.game_type_id)
        .order_by(table.c.id)
    )
    if game_type_id is not None:
        query = query.where(table.c.game_type_id == game_type_id)
    updated = table.c.keys().index("updated_at")
    return [(*row[:-1], row[-1] or "all", _day(row[updated], None)) for row in conn.execute(query)]
