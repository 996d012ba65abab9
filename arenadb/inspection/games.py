"""Games as `games list`, `game info` and `game replay` show them.

Every function issues a small, fixed number of statements whatever the page or game size (no
N+1): child counts come from correlated subqueries on primary-key / index prefixes, and a game's
seats, turns and calls come in one statement each. Lists are newest first by id, which is the
primary key, so a page costs the same on 2,000 games as on 2,000,000.

    from arenadb.db import create_engine
    from arenadb.inspection.games import game_info, list_games

    engine = create_engine(settings)
    for game in list_games(engine, status="completed", agent="alice", limit=20):
        print(game.id, game.type, game.duration_s, game.winning_side)
    detail = game_info(engine, "3f2a")  # an id, a UUID or a unique UUID prefix
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.catalog.refs import GameRef, game_candidates_limit, game_condition, one_game
from arenadb.inspection.filters import (
    DEFAULT_RATING_SYSTEM,
    GameFilter,
    check_page,
    game_conditions,
)
from arenadb.inspection.usage import game_usage, percentile
from arenadb.inspection.winners import game_winners
from arenadb.models import (
    Agent,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    GameType,
    LLMModel,
    PlayerAction,
    RatingEvent,
)


def _duration(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()


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
    limit: int = 50,
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
            .order_by(g.c.id.desc())
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
            .order_by(g.c.id.desc())
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
            duration_s=_duration(row.started_at, row.finished_at),
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


# --------------------------------------------------------------------------- one game


def _fetch_game(conn: Connection, ref: GameRef, *, turn_counts: bool = False) -> sa.Row[Any]:
    """The game row with its type, found by id, UUID or UUID prefix (and its turn counts)."""
    condition, label = game_condition(ref)
    extra: list[Any] = []
    if turn_counts:
        turns = GameTurn.__table__
        for name, where in (("turns", None), ("invalid_turns", turns.c.valid.is_(False))):
            count = sa.select(sa.func.count()).select_from(turns).where(turns.c.game_id == Game.id)
            if where is not None:
                count = count.where(where)
            extra.append(count.scalar_subquery().label(name))
    # The lookup and the row in one statement (the resolver's condition, checked by one_game);
    # in uuid order, so that a prefix is read as a range of the uuid index.
    rows = conn.execute(
        sa.select(Game.__table__, GameType.env_id, GameType.name.label("type_name"), *extra)
        .join(GameType.__table__, GameType.id == Game.game_type_id)
        .where(condition)
        .order_by(Game.uuid)
        .limit(game_candidates_limit())
    ).all()
    return one_game(rows, label)


@dataclass
class SeatInfo:
    """A seat of a game: who sat there and how it went."""

    seat: int
    agent_id: int
    agent: str | None
    model: str | None
    side: str | None
    role: str | None
    reward: float | None
    rank: int | None
    eliminated_turn: int | None
    invalid_moves: int
    rating_change: float | None
    info: dict[str, Any] | None = None
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    # None: unknown (no call with a known cost, or no call logged: never a made-up $0);
    # a lower bound unless cost_complete.
    cost: float | None = None
    cost_complete: bool = False


@dataclass
class SnapshotInfo:
    id: int
    turn: int
    kind: str
    size_bytes: int
    sha256: str
    created_at: datetime | None


@dataclass
class TurnInfo:
    seq: int
    turn_number: int
    phase: str | None
    seat: int | None
    agent: str | None
    action: str | None
    valid: bool | None
    latency_ms: int | None
    observation: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    visibility: str = "public"
    recipients: list[int] | None = None
    invalid_reason: str | None = None


@dataclass
class GameDetail:
    """Everything `game info` shows about one game."""

    id: int
    uuid: str
    type: str
    type_name: str | None
    status: str
    seed: int | None
    rated: bool
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    outcome: str | None
    winning_side: str | None
    end_reason: str | None
    crashed: bool
    error: str | None
    info: dict[str, Any] | None
    turns: int
    invalid_turns: int
    llm_calls: int
    llm_errors: int
    last_llm_error: str | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost: float | None
    cost_complete: bool
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    seats: list[SeatInfo] = field(default_factory=list)
    snapshots: list[SnapshotInfo] = field(default_factory=list)
    turn_list: list[TurnInfo] | None = None


def _seats(conn: Connection, game_id: int, system: str) -> list[SeatInfo]:
    """The seats of a game with agent, model and overall rating change in `system`."""
    events = RatingEvent.__table__
    rows = conn.execute(
        sa.select(
            GamePlayer.__table__,
            Agent.alias,
            LLMModel.name.label("model_name"),
            (events.c.mu_after - events.c.mu_before).label("rating_change"),
        )
        .join(Agent.__table__, Agent.id == GamePlayer.agent_id)
        .join(LLMModel.__table__, LLMModel.id == Agent.model_id)
        .outerjoin(
            events,
            sa.and_(
                events.c.game_id == GamePlayer.game_id,
                # By seat; an event recorded without a seat belongs to the agent's seat.
                sa.or_(
                    events.c.seat == GamePlayer.seat,
                    sa.and_(events.c.seat.is_(None), events.c.agent_id == GamePlayer.agent_id),
                ),
                events.c.system == system,
                events.c.game_type_id.is_(None),
            ),
        )
        .where(GamePlayer.game_id == game_id)
        .order_by(GamePlayer.seat)
    ).all()
    return [
        SeatInfo(
            seat=r.seat,
            agent_id=r.agent_id,
            agent=r.alias,
            model=r.model_name,
            side=r.side,
            role=r.role,
            reward=r.reward,
            rank=r.rank,
            eliminated_turn=r.eliminated_turn,
            invalid_moves=r.invalid_moves,
            rating_change=None if r.rating_change is None else float(r.rating_change),
            info=r.info,
        )
        for r in rows
    ]


def game_info(
    engine: Engine,
    ref: GameRef,
    *,
    with_turns: bool = False,
    system: str = DEFAULT_RATING_SYSTEM,
) -> GameDetail:
    """A game's metadata, seats, usage (tokens, cost, LLM latency), snapshots and crash data.

    `ref` is an integer id, a UUID or a unique UUID prefix; `with_turns` adds the turn list.
    Rating changes are the overall ones (not per game type) in rating `system`.
    """
    with engine.connect() as conn:
        game = _fetch_game(conn, ref, turn_counts=True)
        seats = _seats(conn, game.id, system)
        usage, per_seat = game_usage(conn, game.id)
        snapshots = [
            SnapshotInfo(
                id=r.id,
                turn=r.turn,
                kind=r.kind,
                size_bytes=r.size_bytes,
                sha256=r.sha256,
                created_at=r.created_at,
            )
            for r in conn.execute(
                # The state itself is left out: it can be megabytes.
                sa.select(
                    GameSnapshot.id,
                    GameSnapshot.turn,
                    GameSnapshot.kind,
                    GameSnapshot.size_bytes,
                    GameSnapshot.sha256,
                    GameSnapshot.created_at,
                )
                .where(GameSnapshot.game_id == game.id)
                .order_by(GameSnapshot.turn, GameSnapshot.id)
            )
        ]
        turn_list = _turns(conn, game.id, seats) if with_turns else None
    for seat in seats:
        seat_usage = per_seat.get(seat.seat)
        if seat_usage is not None:
            seat.llm_calls = seat_usage.calls
            seat.input_tokens = seat_usage.input_tokens
            seat.output_tokens = seat_usage.output_tokens
            seat.cost = seat_usage.cost
            seat.cost_complete = seat_usage.cost_complete
    return GameDetail(
        id=game.id,
        uuid=str(game.uuid),
        type=game.env_id,
        type_name=game.type_name,
        status=game.status,
        seed=game.seed,
        rated=bool(game.rated),
        created_at=game.created_at,
        started_at=game.started_at,
        finished_at=game.finished_at,
        duration_s=_duration(game.started_at, game.finished_at),
        outcome=game.outcome,
        winning_side=game.winning_side,
        end_reason=game.end_reason,
        crashed=bool(game.environment_crashed),
        error=game.error,
        info=game.info,
        turns=int(game.turns),
        invalid_turns=int(game.invalid_turns),
        llm_calls=usage.calls,
        llm_errors=usage.errors,
        last_llm_error=usage.last_error,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cost=usage.cost,
        cost_complete=usage.cost_complete,
        latency_p50_ms=percentile(usage.latencies, 0.5),
        latency_p95_ms=percentile(usage.latencies, 0.95),
        seats=seats,
        snapshots=snapshots,
        turn_list=turn_list,
    )


def _turns(
    conn: Connection,
    game_id: int,
    seats: list[SeatInfo],
    *,
    observations: bool = False,
    actions: bool = False,
) -> list[TurnInfo]:
    aliases = {s.seat: s.agent for s in seats}
    columns = [
        GameTurn.seq,
        GameTurn.turn_number,
        GameTurn.phase,
        GameTurn.seat,
        GameTurn.action,
        GameTurn.valid,
        GameTurn.latency_ms,
        GameTurn.visibility,
        GameTurn.recipients,
        GameTurn.invalid_reason,
    ]
    if observations:
        columns.append(GameTurn.observation)
    turns = [
        TurnInfo(
            seq=r.seq,
            turn_number=r.turn_number,
            phase=r.phase,
            seat=r.seat,
            agent=aliases.get(r.seat) if r.seat is not None else None,
            action=r.action,
            valid=r.valid,
            latency_ms=r.latency_ms,
            observation=r.observation if observations else None,
            visibility=r.visibility,
            recipients=r.recipients,
            invalid_reason=r.invalid_reason,
        )
        for r in conn.execute(
            sa.select(*columns).where(GameTurn.game_id == game_id).order_by(GameTurn.seq)
        )
    ]
    if actions:  # even for a game without turns: a fixed number of statements per call
        by_seq = {t.seq: t for t in turns}
        for r in conn.execute(
            sa.select(PlayerAction.__table__)
            .where(PlayerAction.game_id == game_id)
            .order_by(PlayerAction.turn_seq, PlayerAction.idx)
        ):
            turn = by_seq.get(r.turn_seq)
            if turn is not None:
                turn.actions.append(
                    {
                        "idx": r.idx,
                        "seat": r.seat,
                        "type": r.action_type,
                        "payload": r.payload,
                        "result": r.result,
                        "valid": r.valid,
                    }
                )
    return turns


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
    "MAX_LIMIT": "arenadb.inspection.filters",
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
