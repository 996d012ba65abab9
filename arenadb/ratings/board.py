"""The batch leaderboard a researcher reads: Bradley-Terry per game type (`agents top`), and the
pools of pairwise comparisons it, `ratings compare` and `ratings matrix` are computed from.

Games become pairwise comparisons between opponents: every player of one team against every
player of every other team, scored 1 / 0.5 / 0 by the teams' places, each pair weighted
1 / (pairs in the game) so that every game counts once, whatever its seat count. A player's
"side" for the side / seat advantage term is its side when it has one, else its seat. An agent
seated more than once in a game is left out of that game (as the online ratings do). Pools that
never meet are never put on one scale: every board is one game type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.catalog.refs import resolve_game_type_id
from arenadb.db.bulk import id_slices
from arenadb.db.rollups import agent_seats
from arenadb.errors import InvalidArgumentError
from arenadb.models import Agent, GameType, LLMModel
from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board_model import Board, BoardRow, Sides, SideTerm, win_rate
from arenadb.ratings.board_store import BoardKey, find_board, pool_marks
from arenadb.ratings.replay import (
    GAMES,
    RatedGame,
    counts_for_ratings,
    load_rated_history,
    repeated_agents,
)
from arenadb.ratings.systems import build_match, shared_first_setting

# An agent with fewer games than this in a game type is marked provisional (a game type's
# config key `provisional_games` overrides it).
DEFAULT_PROVISIONAL_GAMES = 20
PROVISIONAL_KEY = "provisional_games"
# Below this many games an agent's (or a side's) interval is unknown (config key
# `interval_games`): k games have only C(2k-1, k) distinct resamples (1, 3, 10, 35 for k = 1..4;
# 126 at 5), too few for 2.5% percentiles to be an interval.
DEFAULT_INTERVAL_GAMES = 5
INTERVAL_KEY = "interval_games"
METHOD = "bradley-terry"


def resolve_game_type(conn: Connection, reference: str | int | None) -> int | None:
    """A game type id from its id, env id or name (`arenadb.catalog.refs`); None stays None."""
    return None if reference is None else resolve_game_type_id(conn, reference)


@dataclass
class AgentRecord:
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0


@dataclass(frozen=True)
class Pool:
    """One game type's rated games as comparisons, and each agent's W/D/L in it."""

    game_type_id: int
    env_id: str
    config: dict[str, object]
    games: int
    comparisons: list[bt.Comparison]
    records: dict[int, AgentRecord]
    game_ids: list[int]


def reduce_games(
    games: Sequence[RatedGame], shared_first: str
) -> tuple[list[bt.Comparison], dict[int, AgentRecord], list[int]]:
    """Pairwise comparisons (game index = position in the returned game ids), W/D/L records."""
    comparisons: list[bt.Comparison] = []
    records: dict[int, AgentRecord] = {}
    game_ids: list[int] = []
    for game in games:
        match = build_match(game.id, game.outcome, game.winning_side, game.seats, shared_first)
        if match is None:
            continue
        skip = repeated_agents(game.seats)
        pairs = []
        for i, team in enumerate(match.teams):
            for j in range(i + 1, len(match.teams)):
                ri, rj = match.ranks[i], match.ranks[j]
                score = 1.0 if ri < rj else 0.5 if ri == rj else 0.0
                for a in team:
                    for b in match.teams[j]:
                        if a.agent_id not in skip and b.agent_id not in skip:
                            pairs.append((a, b, score))
        if not pairs:
            continue
        index = len(game_ids)
        game_ids.append(game.id)
        weight = 1.0 / len(pairs)
        for a, b, score in pairs:
            comparisons.append(
                bt.Comparison(index, a.agent_id, _side(a), b.agent_id, _side(b), score, weight)
            )
        for team, result in zip(match.teams, match.results, strict=True):
            for seat in team:
                if seat.agent_id in skip:
                    continue
                record = records.setdefault(seat.agent_id, AgentRecord())
                record.games += 1
                if result == "win":
                    record.wins += 1
                elif result == "draw":
                    record.draws += 1
                else:
                    record.losses += 1
    return comparisons, records, game_ids


def _side(seat: object) -> str:
    side = getattr(seat, "side", None)
    return str(side) if side is not None else f"seat {getattr(seat, 'seat', '?')}"


def load_pools(conn: Connection, game_type: str | int | None) -> list[Pool]:
    """One pool per game type with rated games (or just the one asked for)."""
    game_type_id = resolve_game_type(conn, game_type)
    query = sa.select(GameType.id, GameType.env_id, GameType.config).order_by(GameType.env_id)
    if game_type_id is not None:
        query = query.where(GameType.id == game_type_id)
    pools = []
    for type_id, env_id, config in conn.execute(query).all():
        history = load_rated_history(conn, game_type_id=type_id)
        if not history and game_type_id is None:
            continue
        pools.append(_pool(type_id, env_id, config, history))
    return pools


def load_pool(
    conn: Connection, game_type_id: int, env_id: str, config: dict[str, object] | None
) -> Pool:
    """One game type's pool, whether it has rated games or not."""
    history = load_rated_history(conn, game_type_id=game_type_id)
    return _pool(game_type_id, env_id, config, history)


def _pool(
    type_id: int, env_id: str, config: dict[str, object] | None, history: Sequence[RatedGame]
) -> Pool:
    comparisons, records, game_ids = reduce_games(history, shared_first_setting(config))
    return Pool(type_id, env_id, config or {}, len(game_ids), comparisons, records, game_ids)


def type_setting(config: Mapping[str, object], key: str, default: int, override: int | None) -> int:
    """A per-game-type integer setting: the call's override, else the type's config, else the
    default."""
    if override is not None:
        return override
    value = config.get(key, default)
    return int(value) if isinstance(value, int | float | str) else default


def bradley_terry_boards(
    engine: Engine,
    *,
    game_type: str | int | None = None,
    rounds: int = bt.DEFAULT_ROUNDS,
    seed: int = bt.DEFAULT_SEED,
    provisional_games: int | None = None,
    interval_games: int | None = None,
    min_games: int = 0,
    limit: int | None = None,
) -> list[Board]:
    """One Bradley-Terry board per game type (or for `game_type`), best first.

    Ranks are statistical tiers over every agent of the pool with a known interval: 1 + the
    number of agents whose interval lies wholly above this agent's. An interval is unknown
    below `interval_games` games (default: the type's `interval_games` setting, else 5) or when
    the bootstrap is degenerate. `min_games` and `limit` only trim what is shown. A board
    stored by `arenadb ratings boards` with the same settings is returned (its `stored_at`
    set) while the games it was computed from are unchanged; otherwise it is computed now.
    """
    check_rounds(rounds)
    with engine.connect() as conn:
        boards = []
        for mark in pool_marks(conn, resolve_game_type(conn, game_type)):
            settings = board_settings(
                mark.config, rounds, seed, provisional_games, interval_games, min_games, limit
            )
            key = board_key(mark.game_type_id, settings)
            stored = find_board(conn, key, mark.watermark, min_games=min_games, limit=limit)
            if stored is not None:
                boards.append(shown(conn, stored))
                continue
            pool = load_pool(conn, mark.game_type_id, mark.env_id, mark.config)
            boards.append(pool_board(conn, pool, settings))
    return boards


def board_settings(
    config: Mapping[str, object],
    rounds: int,
    seed: int,
    provisional_games: int | None,
    interval_games: int | None,
    min_games: int = 0,
    limit: int | None = None,
) -> BoardSettings:
    """A game type's board settings: the call's overrides, else the type's config."""
    return BoardSettings(
        rounds,
        seed,
        type_setting(config, PROVISIONAL_KEY, DEFAULT_PROVISIONAL_GAMES, provisional_games),
        type_setting(config, INTERVAL_KEY, DEFAULT_INTERVAL_GAMES, interval_games),
        min_games,
        limit,
    )


def board_key(game_type_id: int | None, settings: BoardSettings) -> BoardKey:
    return BoardKey(
        game_type_id,
        settings.rounds,
        settings.seed,
        settings.provisional_games,
        settings.interval_games,
    )


def shown(conn: Connection, stored: Board) -> Board:
    """A stored board with its agents' current names (a rename changes no rating)."""
    names = agent_names(conn, [r.agent_id for r in stored.rows])
    return replace(
        stored,
        rows=[
            replace(r, alias=names[r.agent_id][0], model=names[r.agent_id][1]) for r in stored.rows
        ],
    )


def trimmed(rows: Sequence[BoardRow], settings: BoardSettings) -> list[BoardRow]:
    """What `min_games` and `limit` leave shown of a board's rows."""
    return [r for r in rows if r.games >= settings.min_games][: settings.limit]


def check_rounds(rounds: int) -> None:
    if rounds < 1:
        raise InvalidArgumentError("bootstrap rounds must be at least 1", parameter="rounds")


@dataclass(frozen=True)
class BoardSettings:
    rounds: int
    seed: int
    provisional_games: int
    interval_games: int
    min_games: int
    limit: int | None


def pool_board(
    conn: Connection,
    pool: Pool,
    settings: BoardSettings,
    *,
    strata: np.ndarray | None = None,
    side_groups: Sequence[Sequence[str]] | None = None,
) -> Board:
    """The board of one pool. `strata` and `side_groups` (each group's first side is its
    reference; default: one group, the first side the reference) serve the unified board."""
    shared_first = shared_first_setting(pool.config)
    empty = Board(
        game_type=pool.env_id,
        game_type_id=pool.game_type_id,
        method=METHOD,
        games=pool.games,
        rounds=settings.rounds,
        seed=settings.seed,
        bootstrap="refit",
        provisional_games=settings.provisional_games,
        interval_games=settings.interval_games,
        shared_first=shared_first,
        sides=Sides(None),
        rows=[],
    )
    if not pool.comparisons:
        return replace(empty, games=0)
    table = bt.collapse(pool.comparisons, pool.games)
    result = bt.bootstrap(table, rounds=settings.rounds, seed=settings.seed, strata=strata)
    names = agent_names(conn, result.agents)
    costs = _agent_costs(conn, pool)
    known = [
        interval
        if pool.records[agent_id].games >= settings.interval_games and bt.is_identified(interval)
        else None
        for agent_id, interval in zip(result.agents, result.ratings, strict=True)
    ]
    tiers = bt.tier_ranks(known)
    rows = []
    for agent_id, full, interval, tier in zip(
        result.agents, result.ratings, known, tiers, strict=True
    ):
        record = pool.records.get(agent_id, AgentRecord())
        cost = costs.get(agent_id, AgentCost(None, False))  # absent: no call logged
        spent = cost.known
        rows.append(
            BoardRow(
                rank=tier,
                agent_id=agent_id,
                alias=names[agent_id][0],
                model=names[agent_id][1],
                rating=full.estimate,
                ci_low=None if interval is None else interval.low,
                ci_high=None if interval is None else interval.high,
                games=record.games,
                wins=record.wins,
                draws=record.draws,
                losses=record.losses,
                win_rate=win_rate(record.wins, record.draws, record.games),
                provisional=interval is None or record.games < settings.provisional_games,
                cost=spent,
                cost_complete=cost.complete,
                cost_per_game=spent / record.games if spent is not None and record.games else None,
                cost_per_win=spent / record.wins if spent is not None and record.wins else None,
            )
        )
    # A row without a tier cannot be placed above one with a tier: ranked agents first.
    rows.sort(key=lambda r: (r.rank is None, -r.rating, r.agent_id))
    groups = [list(result.sides)] if side_groups is None else side_groups
    terms = side_terms(result, _side_games(pool), settings.interval_games, groups)
    reference = result.sides[0] if side_groups is None else None
    return replace(
        empty,
        bootstrap="refit" if result.refit else "linearised",
        sides=Sides(reference, terms),
        rows=trimmed(rows, settings),
    )


def side_terms(
    result: bt.BootstrapResult,
    side_games: Mapping[str, int],
    interval_games: int,
    groups: Sequence[Sequence[str]],
) -> list[SideTerm]:
    """Each side against its group's first side, with a percentile interval of the rounds."""
    tail = (1 - bt.CONFIDENCE) / 2 * 100
    index = {side: i for i, side in enumerate(result.sides)}
    terms = []
    for group in groups:
        reference = group[0]
        r = index[reference]
        for side in group[1:]:
            i = index[side]
            estimate = result.side_terms[i].estimate - result.side_terms[r].estimate
            draws = result.side_draws[:, i] - result.side_draws[:, r]
            low, high = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
            interval = bt.Interval(estimate, low, high)
            seen = min(side_games.get(side, 0), side_games.get(reference, 0))
            known = seen >= interval_games and bt.is_identified(interval)
            terms.append(
                SideTerm(
                    side,
                    reference,
                    estimate,
                    low if known else None,
                    high if known else None,
                    bt.win_probability(estimate),
                )
            )
    return terms


def _side_games(pool: Pool) -> dict[str, int]:
    """Side label -> the number of the pool's games in which it played."""
    games: dict[str, set[int]] = {}
    for c in pool.comparisons:
        games.setdefault(c.side_a, set()).add(c.game)
        games.setdefault(c.side_b, set()).add(c.game)
    return {side: len(seen) for side, seen in games.items()}


def agent_names(conn: Connection, agent_ids: Sequence[int]) -> dict[int, tuple[str | None, str]]:
    rows = conn.execute(
        sa.select(Agent.id, Agent.alias, LLMModel.name)
        .join(LLMModel, LLMModel.id == Agent.model_id)
        .where(Agent.id.in_(list(agent_ids)))
    )
    return {r[0]: (r[1], r[2]) for r in rows}


@dataclass(frozen=True)
class AgentCost:
    known: float | None  # the sum of the priced calls; None when no call is priced
    complete: bool  # every call priced, and a call logged in every counted game


def _agent_costs(conn: Connection, pool: Pool) -> dict[int, AgentCost]:
    """Agent -> the cost of its LLM calls in the pool's games, from the seat rollup. A call
    without a cost (a failed call the provider reported no usage for, say) makes the sum a lower
    bound, and so does a counted game without a single logged call: never a silent $0.

    A pool is the rated games of its game type (of every type: the unified board) less the few
    without a pair of opponents: the database sums the type's rows per agent, and the rows of
    the games left out are taken back out. Binding the pool's ids instead (30,000 to 300,000
    parameters) cost more than the sums (benchmarks/rollups.py)."""
    counted = counts_for_ratings(GAMES)
    if pool.game_type_id:  # 0: the unified board, every type
        counted.append(GAMES.c.game_type_id == pool.game_type_id)
    in_pool = set(pool.game_ids)
    left_out = [
        game_id
        for game_id in conn.execute(sa.select(GAMES.c.id).where(*counted)).scalars()
        if game_id not in in_pool
    ]
    # agent -> calls, priced calls, cost, games with a call (the games' seats summed per agent)
    totals: dict[int, list[float]] = {r[0]: list(r[1:]) for r in conn.execute(_per_agent(counted))}
    for ids in id_slices(left_out):
        for agent_id, *values in conn.execute(_per_agent([*counted, GAMES.c.id.in_(ids)])):
            total = totals[agent_id]
            for i, value in enumerate(values):
                total[i] -= value
    costs: dict[int, AgentCost] = {}
    for agent_id, (n, priced, cost, logged) in totals.items():
        record = pool.records.get(agent_id)
        if not n:  # every call of the agent was in a game left out
            continue
        complete = record is not None and logged >= record.games and priced == n
        costs[agent_id] = AgentCost(float(cost) if priced else None, complete)
    return costs


def _per_agent(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """Calls, priced calls, cost and games with a call per agent, over the seat rollup's rows
    of the games matching `where`."""
    seats = agent_seats().where(*where).subquery()
    return sa.select(
        seats.c.agent_id,
        sa.func.sum(seats.c.calls),
        sa.func.sum(seats.c.calls - seats.c.cost_unknown),
        sa.func.sum(seats.c.cost),
        sa.func.count(sa.distinct(seats.c.game_id)),
    ).group_by(seats.c.agent_id)
