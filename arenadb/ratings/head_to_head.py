"""Two agents, or every pair: `ratings compare A B` (head-to-head record and the fitted P(A beats
B) with its bootstrap interval) and `ratings matrix` (FastChat's heatmap data), from the same
pairwise comparisons as the Bradley-Terry board."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.catalog.refs import resolve_agent_id
from arenadb.errors import InvalidArgumentError, NotFoundError
from arenadb.models import Game, GamePlayer, GameType
from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import (
    DEFAULT_INTERVAL_GAMES,
    INTERVAL_KEY,
    agent_names,
    load_pools,
    type_setting,
)
from arenadb.ratings.board_model import win_rate


@dataclass(frozen=True)
class HeadToHead:
    """`ratings compare A B`: their record against each other and the fitted odds."""

    game_type: str
    agent_a_id: int
    agent_b_id: int
    games: int  # games in which they were opponents
    a_wins: int
    draws: int
    b_wins: int
    rating_a: float
    rating_b: float
    probability: float  # fitted P(A beats B)
    # None when unknown: either agent below the type's `interval_games`, or a degenerate
    # bootstrap (the board's rule); then the difference is not significant.
    ci_low: float | None
    ci_high: float | None
    significant: bool  # the 95% interval of the probability excludes 1/2
    rounds: int
    seed: int


def compare_agents(
    engine: Engine,
    agent_a: int | str,
    agent_b: int | str,
    *,
    game_type: str | int | None = None,
    rounds: int = bt.DEFAULT_ROUNDS,
    seed: int = bt.DEFAULT_SEED,
    interval_games: int | None = None,
) -> HeadToHead:
    """Head-to-head record and the Bradley-Terry P(A beats B) with its bootstrap interval, in
    one game type (the only one both agents played, unless named). Agents are ids or aliases.
    The interval is unknown (None) as on the board: below `interval_games` games of either
    agent (default: the type's setting, else 5), or a degenerate bootstrap.
    """
    with engine.connect() as conn:
        agent_a, agent_b = resolve_agent_id(conn, agent_a), resolve_agent_id(conn, agent_b)
        if agent_a == agent_b:
            raise InvalidArgumentError("compare two different agents", parameter="agent_b")
        if game_type is None:
            game_type = _common_game_type(conn, agent_a, agent_b)
        (pool,) = load_pools(conn, game_type)
    for agent_id in (agent_a, agent_b):
        if agent_id not in pool.records:
            raise NotFoundError(f"agent {agent_id} has no rated games in {pool.env_id}")
    table = bt.collapse(pool.comparisons, pool.games)
    result = bt.bootstrap(table, rounds=rounds, seed=seed)
    ia, ib = result.agents.index(agent_a), result.agents.index(agent_b)
    differences = result.draws[:, ia] - result.draws[:, ib]
    low, high = np.percentile(differences, [2.5, 97.5])
    estimate = result.ratings[ia].estimate - result.ratings[ib].estimate
    a_wins = draws = b_wins = 0
    games: set[int] = set()
    for c in pool.comparisons:
        if {c.agent_a, c.agent_b} != {agent_a, agent_b}:
            continue
        if c.game in games:
            continue
        games.add(c.game)
        a_score = c.score if c.agent_a == agent_a else 1 - c.score
        if a_score == 1:
            a_wins += 1
        elif a_score == 0:
            b_wins += 1
        else:
            draws += 1
    minimum = type_setting(pool.config, INTERVAL_KEY, DEFAULT_INTERVAL_GAMES, interval_games)
    known = min(pool.records[agent_a].games, pool.records[agent_b].games) >= minimum
    if not (known and bt.is_identified(bt.Interval(estimate, low, high))):
        p_low = p_high = None
    else:
        p_low, p_high = bt.win_probability(low), bt.win_probability(high)
    return HeadToHead(
        game_type=pool.env_id,
        agent_a_id=agent_a,
        agent_b_id=agent_b,
        games=len(games),
        a_wins=a_wins,
        draws=draws,
        b_wins=b_wins,
        rating_a=result.ratings[ia].estimate,
        rating_b=result.ratings[ib].estimate,
        probability=bt.win_probability(estimate),
        ci_low=p_low,
        ci_high=p_high,
        significant=p_low is not None and p_high is not None and (p_low > 0.5 or p_high < 0.5),
        rounds=rounds,
        seed=seed,
    )


def _common_game_type(conn: Connection, agent_a: int, agent_b: int) -> int:
    played = [
        sa.select(Game.game_type_id)
        .join(GamePlayer, GamePlayer.game_id == Game.id)
        .where(GamePlayer.agent_id == agent_id, Game.status == "completed")
        .distinct()
        for agent_id in (agent_a, agent_b)
    ]
    common = sorted(set(conn.execute(played[0]).scalars()) & set(conn.execute(played[1]).scalars()))
    if not common:
        raise NotFoundError(f"agents {agent_a} and {agent_b} never played the same game type")
    if len(common) > 1:
        names = conn.execute(
            sa.select(GameType.env_id).where(GameType.id.in_(common)).order_by(GameType.env_id)
        ).scalars()
        raise InvalidArgumentError(
            f"agents {agent_a} and {agent_b} played several game types ({', '.join(names)}): "
            "name one",
            parameter="game_type",
        )
    return common[0]


@dataclass(frozen=True)
class MatrixCell:
    """A's record against B in one game type (FastChat's heatmap data, one row per ordered
    pair)."""

    game_type: str
    agent_a_id: int
    alias_a: str | None
    agent_b_id: int
    alias_b: str | None
    games: int
    wins: int
    draws: int
    losses: int
    win_rate: float  # draws count half


def pairwise_matrix(engine: Engine, *, game_type: str | int | None = None) -> list[MatrixCell]:
    """Every ordered pair of opponents in each game type (or in `game_type`)."""
    with engine.connect() as conn:
        pools = load_pools(conn, game_type)
        agent_ids = sorted({a for pool in pools for a in pool.records})
        names = agent_names(conn, agent_ids)
    cells: list[MatrixCell] = []
    for pool in pools:
        tally: dict[tuple[int, int], list[int]] = {}
        seen: set[tuple[int, int, int]] = set()
        for c in pool.comparisons:
            both_ways = ((c.agent_a, c.agent_b, c.score), (c.agent_b, c.agent_a, 1 - c.score))
            for a, b, score in both_ways:
                if (c.game, a, b) in seen:
                    continue
                seen.add((c.game, a, b))
                counts = tally.setdefault((a, b), [0, 0, 0])
                counts[0 if score == 1 else 1 if score == 0.5 else 2] += 1
        for (a, b), (wins, draws, losses) in sorted(tally.items()):
            games = wins + draws + losses
            cells.append(
                MatrixCell(
                    game_type=pool.env_id,
                    agent_a_id=a,
                    alias_a=names[a][0],
                    agent_b_id=b,
                    alias_b=names[b][0],
                    games=games,
                    wins=wins,
                    draws=draws,
                    losses=losses,
                    win_rate=win_rate(wins, draws, games) or 0.0,  # games > 0 here
                )
            )
    return cells
