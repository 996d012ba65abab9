"""The unified cross-game board (`agents top --unified`), built the way Kaggle Game Arena builds
its Unified Game Arena Leaderboard, and only that way.

Kaggle fits ONE Bradley-Terry model over the pairwise results of every game, multi-player and
team games reduced to pairs, after normalising "each game's outcome matrices by its total
episode count so every game has equal weight", with no post-hoc normalisation of the ratings.
Here: every game type's games are weighted 1 / (its number of rated games), so each game type
weighs the same whatever its game count, then scaled by the mean game count per type so that
the ridge penalty sees the usual amount of evidence (a common factor: the ratings' order and
the relative weights of the types do not depend on it). The bootstrap resamples games within
each game type, so every type keeps its game count in every round.

One addition to Kaggle's description: each game type keeps its own side / seat term (labelled
"<env id>: <side>", measured against that type's reference side), as on the per-type boards;
sides of different types never share a term. The board is refused when the game types' agents
never meet (the comparison graph falls apart): pools that never meet are never put on one scale.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sqlalchemy.engine import Connection, Engine

from arenadb.errors import RefusedError
from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import (
    METHOD,
    AgentRecord,
    Board,
    BoardSettings,
    Pool,
    board_key,
    board_settings,
    check_rounds,
    load_pools,
    pool_board,
    shown,
)
from arenadb.ratings.board_model import TypeWeight
from arenadb.ratings.board_store import find_board, pool_marks, unified_watermark

UNIFIED = "unified"
LABEL = (
    "unified cross-game board, Kaggle Game Arena style: one Bradley-Terry fit over {types} game "
    "types, each game type weighted equally (its games weighted 1 / its game count)"
)


def unified_board(
    engine: Engine,
    *,
    rounds: int = bt.DEFAULT_ROUNDS,
    seed: int = bt.DEFAULT_SEED,
    provisional_games: int | None = None,
    interval_games: int | None = None,
    min_games: int = 0,
    limit: int | None = None,
) -> Board:
    """One Bradley-Terry board over every game type with rated games, each type weighted
    equally (Kaggle Game Arena's unified leaderboard). Raises RefusedError when the types'
    agents never meet. Read from `stored_boards` while its games are unchanged, as
    `bradley_terry_boards` does."""
    check_rounds(rounds)
    settings = unified_settings(rounds, seed, provisional_games, interval_games, min_games, limit)
    with engine.connect() as conn:
        watermark = unified_watermark(pool_marks(conn, None))
        key = board_key(None, settings)
        stored = find_board(conn, key, watermark, min_games=min_games, limit=limit)
        if stored is not None:
            return shown(conn, stored)
        return unified_from_pools(conn, [p for p in load_pools(conn, None) if p.games], settings)


def unified_settings(
    rounds: int,
    seed: int,
    provisional_games: int | None,
    interval_games: int | None,
    min_games: int = 0,
    limit: int | None = None,
) -> BoardSettings:
    """The unified board's settings: the call's, else the defaults (no one type's config)."""
    return board_settings({}, rounds, seed, provisional_games, interval_games, min_games, limit)


def unified_from_pools(conn: Connection, pools: list[Pool], settings: BoardSettings) -> Board:
    """The unified board of `pools` (each with games), computed now."""
    merged, strata, weights = merge_pools(pools)
    _check_connected(merged)
    groups = [
        sorted({f"{p.env_id}: {side}" for c in p.comparisons for side in (c.side_a, c.side_b)})
        for p in pools
    ]
    board = pool_board(conn, merged, settings, strata=strata, side_groups=groups)
    return replace(
        board,
        game_type=UNIFIED,
        game_type_id=None,
        method=f"{METHOD} (unified)",
        shared_first="per game type",
        unified=True,
        label=LABEL.format(types=len(pools)),
        game_types=weights,
    )


def merge_pools(pools: list[Pool]) -> tuple[Pool, np.ndarray, list[TypeWeight]]:
    """One pool of every type's comparisons, each type's games weighted equally; the game ->
    type strata for the bootstrap; each type's weight per game."""
    total = sum(p.games for p in pools)
    scale = total / len(pools) if pools else 1.0
    comparisons: list[bt.Comparison] = []
    records: dict[int, AgentRecord] = {}
    game_ids: list[int] = []
    strata: list[int] = []
    weights = []
    for stratum, pool in enumerate(pools):
        factor = scale / pool.games
        weights.append(TypeWeight(pool.env_id, pool.games, factor))
        offset = len(game_ids)
        for c in pool.comparisons:
            comparisons.append(
                bt.Comparison(
                    offset + c.game,
                    c.agent_a,
                    f"{pool.env_id}: {c.side_a}",
                    c.agent_b,
                    f"{pool.env_id}: {c.side_b}",
                    c.score,
                    c.weight * factor,
                )
            )
        for agent_id, record in pool.records.items():
            total_record = records.setdefault(agent_id, AgentRecord())
            total_record.games += record.games
            total_record.wins += record.wins
            total_record.draws += record.draws
            total_record.losses += record.losses
        game_ids += pool.game_ids
        strata += [stratum] * pool.games
    merged = Pool(0, UNIFIED, {}, len(game_ids), comparisons, records, game_ids)
    return merged, np.array(strata or [0], dtype=np.int64), weights


def _check_connected(pool: Pool) -> None:
    """Refuse a board whose agents fall into groups that never meet (directly or through
    common opponents)."""
    parent: dict[int, int] = {}

    def root(agent: int) -> int:
        while parent.setdefault(agent, agent) != agent:
            parent[agent] = parent[parent[agent]]
            agent = parent[agent]
        return agent

    for c in pool.comparisons:
        parent[root(c.agent_a)] = root(c.agent_b)
    groups = {root(agent) for agent in list(parent)}
    if len(groups) > 1:
        raise RefusedError(
            f"no unified board: the agents fall into {len(groups)} groups that never meet "
            "(not even through common opponents), so no fit can put them on one scale; "
            "read the per-game-type boards"
        )
