"""`arenadb ratings boards`: compute Bradley-Terry boards in batch and store them, so that
`agents top --method bt` (and the web leaderboard) read them back in milliseconds.

    from arenadb.ratings.store import store_boards

    report = store_boards(engine, rounds=1000, seed=17)
    print([(b.game_type, b.games, round(b.seconds, 1)) for b in report.boards])

Chatbot Arena publishes its boards the same way, computed in batch. A stored board is read back
only while the watermark of its games is the one it was computed at
(`arenadb.ratings.board_store`): after a game finishes, is deleted or imported, boards are
computed live again until the next `ratings boards`. Never a stale board.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from arenadb.db.engine import write_transaction
from arenadb.errors import RefusedError
from arenadb.models import utcnow
from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import (
    board_key,
    board_settings,
    check_rounds,
    load_pool,
    pool_board,
    resolve_game_type,
)
from arenadb.ratings.board_model import Board
from arenadb.ratings.board_store import BoardKey, pool_marks, save_board, unified_watermark
from arenadb.ratings.unified import unified_from_pools, unified_settings


@dataclass(frozen=True)
class StoredBoardInfo:
    """One board `store_boards` stored."""

    game_type: str  # env id; "unified" for the cross-game board
    games: int
    agents: int
    rounds: int
    seed: int
    seconds: float  # to compute it (reading its games included)
    computed_at: datetime


@dataclass
class StoreReport:
    boards: list[StoredBoardInfo] = field(default_factory=list)
    unified_skipped: str | None = None  # why no unified board was stored (None: stored, or -g)
    seconds: float = 0.0


def store_boards(
    engine: Engine,
    *,
    game_type: str | int | None = None,
    rounds: int = bt.DEFAULT_ROUNDS,
    seed: int = bt.DEFAULT_SEED,
    provisional_games: int | None = None,
    interval_games: int | None = None,
) -> StoreReport:
    """Compute and store the board of every game type with rated games (or of `game_type`),
    and without `game_type` the unified board too (unless its agents never meet), untrimmed,
    replacing the boards stored before with the same settings."""
    check_rounds(rounds)
    started = time.perf_counter()
    computed: list[tuple[BoardKey, str, Board, float]] = []
    report = StoreReport()
    with engine.connect() as conn:
        type_id = resolve_game_type(conn, game_type)
        # The watermark is read before the games: a game finishing meanwhile can make a board
        # newer than its watermark (then it is not read back), never older.
        marks = pool_marks(conn, type_id)
        pools = []
        for mark in marks:
            begun = time.perf_counter()
            pool = load_pool(conn, mark.game_type_id, mark.env_id, mark.config)
            settings = board_settings(mark.config, rounds, seed, provisional_games, interval_games)
            board = pool_board(conn, pool, settings)
            computed.append(
                (board_key(pool.game_type_id, settings), mark.watermark, board, _since(begun))
            )
            pools.append(pool)
        if type_id is None:
            begun = time.perf_counter()
            settings = unified_settings(rounds, seed, provisional_games, interval_games)
            try:
                board = unified_from_pools(conn, [p for p in pools if p.games], settings)
            except RefusedError as exc:
                report.unified_skipped = str(exc)
            else:
                key = board_key(None, settings)
                computed.append((key, unified_watermark(marks), board, _since(begun)))
    computed_at = utcnow()
    with write_transaction(engine) as conn:
        for key, watermark, board, seconds in computed:
            save_board(conn, key, watermark, board, computed_at=computed_at, seconds=seconds)
            report.boards.append(
                StoredBoardInfo(
                    board.game_type,
                    board.games,
                    len(board.rows),
                    board.rounds,
                    board.seed,
                    seconds,
                    computed_at,
                )
            )
    report.seconds = _since(started)
    return report


def _since(start: float) -> float:
    return time.perf_counter() - start
