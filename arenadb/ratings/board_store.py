"""Stored Bradley-Terry boards (`stored_boards`): the watermark of a board's inputs, and finding
or saving a board under it.

A board reads a game type's games that count for ratings (`counts_for_ratings`): their seats,
results and rated order, their LLM calls' costs, and the type's config. The watermark is what
changes when those inputs do: per game type the count and the sum of the ids of those games and
a version that every change of that set raises (a finished game, a deleted or un-rated one, one
moved to another type: `rated_pools`, kept by triggers on `games`, migration 0015), and a digest
of the type's config (`provisional_games`, `interval_games`, `shared_first`). A finished game's
seats, results and LLM calls are written before it finishes and never change afterwards;
`ratings rebuild` writes rating events in the rated order it read, so the order is kept. One
row read per game type, however many games: well under a millisecond.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.db.json import canonical_json
from arenadb.models import GameType, RatedPool, StoredBoard
from arenadb.ratings.board_model import Board, board_from_plain
from arenadb.ratings.replay import GAMES, counts_for_ratings

STORED_BOARDS = cast(sa.Table, StoredBoard.__table__)
RATED_POOLS = cast(sa.Table, RatedPool.__table__)


@dataclass(frozen=True)
class PoolMark:
    """A game type whose board can be read, and the watermark of that board's inputs."""

    game_type_id: int
    env_id: str
    config: dict[str, Any]
    games: int  # games that count for ratings
    watermark: str


@dataclass(frozen=True)
class BoardKey:
    """What a stored board is found by: its scope (a game type id; None: the unified board)
    and the settings that change the computed board (not `min_games`/`limit`: trimming)."""

    game_type_id: int | None
    rounds: int
    seed: int
    provisional_games: int
    interval_games: int


def pool_marks(conn: Connection, game_type_id: int | None) -> list[PoolMark]:
    """Every game type with games that count for ratings (or just `game_type_id`, with or
    without games), by env id, each with its watermark."""
    pools = RATED_POOLS
    query = (
        sa.select(
            GameType.id,
            GameType.env_id,
            GameType.config,
            pools.c.games,
            pools.c.id_sum,
            pools.c.version,
        )
        .outerjoin(pools, pools.c.game_type_id == GameType.id)
        .order_by(GameType.env_id)
    )
    if game_type_id is None:
        query = query.where(pools.c.games > 0)
    else:
        query = query.where(GameType.id == game_type_id)
    marks = []
    for type_id, env_id, config, count, total, version in conn.execute(query):
        digest = hashlib.sha256(canonical_json(config or {}).encode()).hexdigest()[:16]
        watermark = (
            f"{count or 0} games, id sum {total or 0}, version {version or 0}; config {digest}"
        )
        marks.append(PoolMark(type_id, env_id, config or {}, int(count or 0), watermark))
    return marks


def counted_pools(conn: Connection) -> dict[int, tuple[int, int]]:
    """Per game type, the count and id sum of its games that count for ratings, counted: what
    `rated_pools` must hold (`db check`, tests)."""
    games = GAMES
    query = (
        sa.select(games.c.game_type_id, sa.func.count(), sa.func.sum(games.c.id))
        .where(*counts_for_ratings(games))
        .group_by(games.c.game_type_id)
    )
    return {int(t): (int(n), int(s)) for t, n, s in conn.execute(query)}


def unified_watermark(marks: Sequence[PoolMark]) -> str:
    """The unified board reads every game type's pool: every type's watermark."""
    return "; ".join(f"{m.env_id} ({m.game_type_id}): {m.watermark}" for m in marks)


def find_board(
    conn: Connection, key: BoardKey, watermark: str, *, min_games: int, limit: int | None
) -> Board | None:
    """The stored board of `key` if it was computed at `watermark` (else None: recompute), with
    the rows `min_games` and `limit` leave. The rows are sliced in SQL: at 900 agents a board's
    JSON is a few hundred kilobytes, and decoding all of it in Python would take longer than
    every other part of the read."""
    table = STORED_BOARDS
    dialect = conn.dialect.name
    row = conn.execute(
        sa.select(table.c.id, table.c.computed_at, sa.text(HEADER[dialect])).where(
            _key_clause(key), table.c.watermark == watermark
        )
    ).first()
    if row is None:
        return None
    header = row.header if isinstance(row.header, dict) else json.loads(row.header)
    rows = conn.execute(
        sa.text(ROWS[dialect]),
        {"id": row.id, "min_games": min_games, "limit": -1 if limit is None else limit}
        if dialect == "sqlite"
        else {"id": row.id, "min_games": min_games, "limit": limit},
    ).scalars()
    plain = {**header, "rows": [r if isinstance(r, dict) else json.loads(r) for r in rows]}
    return replace(board_from_plain(plain), stored_at=row.computed_at)


# The board without its rows, and its rows in order with at least :min_games games, at most
# :limit of them (SQLite: -1 for all; PostgreSQL: NULL).
HEADER = {
    "sqlite": "json_remove(stored_boards.board, '$.rows') AS header",
    "postgresql": "stored_boards.board - 'rows' AS header",
}
ROWS = {
    "sqlite": "SELECT j.value FROM stored_boards AS s, json_each(s.board, '$.rows') AS j "
    "WHERE s.id = :id AND json_extract(j.value, '$.games') >= :min_games "
    "ORDER BY j.key LIMIT :limit",
    "postgresql": "SELECT r.value FROM stored_boards AS s CROSS JOIN LATERAL "
    "jsonb_array_elements(s.board -> 'rows') WITH ORDINALITY AS r(value, n) "
    "WHERE s.id = :id AND (r.value ->> 'games')::int >= :min_games "
    "ORDER BY r.n LIMIT :limit",
}


def save_board(
    conn: Connection,
    key: BoardKey,
    watermark: str,
    board: Board,
    *,
    computed_at: datetime,
    seconds: float,
) -> None:
    """Store `board` (untrimmed) under `key`, replacing the one stored before."""
    table = STORED_BOARDS
    conn.execute(sa.delete(table).where(_key_clause(key)))
    conn.execute(
        sa.insert(table).values(
            **asdict(key),
            watermark=watermark,
            computed_at=computed_at,
            seconds=seconds,
            board=asdict(replace(board, stored_at=None)),
        )
    )


def _key_clause(key: BoardKey) -> sa.ColumnElement[bool]:
    c = STORED_BOARDS.c
    scope = (
        c.game_type_id.is_(None) if key.game_type_id is None else c.game_type_id == key.game_type_id
    )
    return sa.and_(
        scope,
        c.rounds == key.rounds,
        c.seed == key.seed,
        c.provisional_games == key.provisional_games,
        c.interval_games == key.interval_games,
    )
