"""Read-only inspection of the arena: games list, game info, game replay, agents, models, tables.

Every function issues a small, fixed number of statements whatever the page or game size (no
N+1): child counts come from correlated subqueries on primary-key / index prefixes, and a game's
seats, turns and calls come in one statement each. Lists are newest first by id, which is the
primary key, so a page costs the same on 2,000 games as on 2,000,000. `models_stats` and
`db_stats` are the exceptions by nature: they read whole tables.

    from arenadb.db import create_engine
    from arenadb.inspection.games import game_info, list_games

    engine = create_engine(settings)
    for game in list_games(engine, status="completed", agent="alice", limit=20):
        print(game.id, game.type, game.duration_s, game.winning_side)
    detail = game_info(engine, "3f2a")  # an id, a UUID or a unique UUID prefix
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.errors import AmbiguousError, NotFoundError, UsageError
from arenadb.models import (
    GAME_STATUSES,
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameSnapshot,
    GameTurn,
    GameType,
    LLMCall,
    LLMModel,
    PlayerAction,
    Prompt,
    Rating,
    RatingEvent,
)

DEFAULT_RATING_SYSTEM = "trueskill"
MAX_LIMIT = 10_000
_HEX = re.compile(r"^[0-9a-f]{1,32}$")
_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# --------------------------------------------------------------------------- small helpers


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile of already sorted values, as SQL's percentile_cont.

    >>> percentile([10, 20, 30, 40], 0.5)
    25.0
    """
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low))


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time from ISO 8601 (`2026-03-01`, `2026-03-01T12:00`) or an age (`90m`, `7d`).

    A time without a zone is UTC.
    """
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        return (now or datetime.now(timezone.utc)) - delta
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read time {text!r}: use ISO 8601 (2026-03-01, 2026-03-01T12:00) "
            "or an age such as 90m, 12h, 7d, 2w"
        ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _duration(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"--limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise UsageError("--offset cannot be negative")


# --------------------------------------------------------------------------- games list


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


def _resolve_agent_id(conn: Connection, agent: str | int) -> int:
    text = str(agent).strip()
    condition = Agent.id == int(text) if text.isdigit() else Agent.alias == text
    found = conn.execute(sa.select(Agent.id).where(condition)).scalar()
    if found is None:
        raise NotFoundError(f"agent {text} not found")
    return int(found)


def _resolve_model_id(conn: Connection, model: str) -> int:
    found = conn.execute(
        sa.select(LLMModel.id).where(sa.or_(LLMModel.name == model, LLMModel.litellm_name == model))
    ).scalar()
    if found is None:
        raise NotFoundError(f"model {model} not found")
    return int(found)


def _resolve_game_type_id(conn: Connection, game_type: str) -> int:
    found = conn.execute(
        sa.select(GameType.id).where(
            sa.or_(GameType.env_id == game_type, GameType.name == game_type)
        )
    ).scalar()
    if found is None:
        raise NotFoundError(f"game type {game_type} not found")
    return int(found)


def list_games(
    engine: Engine,
    *,
    status: str | None = None,
    game_type: str | None = None,
    agent: str | int | None = None,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[GameSummary]:
    """A page of games, newest first, optionally filtered.

    `agent` is an agent id or alias, `model` a model name, `game_type` an env id or type name;
    `since`/`until` bound `started_at` (since inclusive, until exclusive).
    """
    _check_page(limit, offset)
    if status is not None and status not in GAME_STATUSES:
        raise UsageError(f"unknown status {status!r}: one of {', '.join(GAME_STATUSES)}")
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
    # The page's ids first, then the counts for those rows only: PostgreSQL would otherwise
    # compute the count subqueries for every row skipped by a large OFFSET too.
    page = sa.select(g.c.id).order_by(g.c.id.desc()).limit(limit).offset(offset)
    with engine.connect() as conn:
        if status is not None:
            page = page.where(g.c.status == status)
        if game_type is not None:
            page = page.where(g.c.game_type_id == _resolve_game_type_id(conn, game_type))
        if agent is not None:
            agent_id = _resolve_agent_id(conn, agent)
            page = page.where(
                sa.exists().where(GamePlayer.game_id == g.c.id, GamePlayer.agent_id == agent_id)
            )
        if model is not None:
            model_id = _resolve_model_id(conn, model)
            page = page.where(
                sa.exists().where(
                    GamePlayer.game_id == g.c.id,
                    GamePlayer.agent_id.in_(sa.select(Agent.id).where(Agent.model_id == model_id)),
                )
            )
        if since is not None:
            page = page.where(g.c.started_at >= since)
        if until is not None:
            page = page.where(g.c.started_at < until)
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
        )
        for row in rows
    ]


# --------------------------------------------------------------------------- one game


def _game_condition(ref: str | int) -> tuple[sa.ColumnElement[bool], str]:
    """WHERE clause finding a game by integer id, full UUID or UUID prefix; and its label."""
    text = str(ref).strip()
    if text.isdigit():
        return Game.id == int(text), text
    hex_text = text.lower().replace("-", "")
    if not _HEX.match(hex_text):
        raise UsageError(f"{text!r} is not a game id, a UUID or a UUID prefix")
    if len(hex_text) == 32:
        return Game.uuid == uuid.UUID(hex_text), text
    # A prefix is a range of the unique uuid index: the same plan on SQLite's CHAR(32) and on
    # PostgreSQL's native uuid, where LIKE could not use the index.
    low = uuid.UUID(hex_text.ljust(32, "0"))
    high = uuid.UUID(hex_text.ljust(32, "f"))
    return Game.uuid.between(low, high), text


def _fetch_game(conn: Connection, ref: str | int, *, turn_counts: bool = False) -> sa.Row[Any]:
    """The game row with its type, found by id, UUID or UUID prefix (and its turn counts)."""
    condition, label = _game_condition(ref)
    extra: list[Any] = []
    if turn_counts:
        turns = GameTurn.__table__
        for name, where in (("turns", None), ("invalid_turns", turns.c.valid.is_(False))):
            count = sa.select(sa.func.count()).select_from(turns).where(turns.c.game_id == Game.id)
            if where is not None:
                count = count.where(where)
            extra.append(count.scalar_subquery().label(name))
    rows = conn.execute(
        sa.select(Game.__table__, GameType.env_id, GameType.name.label("type_name"), *extra)
        .join(GameType.__table__, GameType.id == Game.game_type_id)
        .where(condition)
        # In uuid order, so that a prefix is read as a range of the uuid index.
        .order_by(Game.uuid)
        .limit(6)
    ).all()
    if not rows:
        raise NotFoundError(f"game {label} not found")
    if len(rows) > 1:
        shown = ", ".join(str(r.uuid) for r in rows[:5])
        more = ", ..." if len(rows) > 5 else ""
        raise AmbiguousError(
            f"game prefix {label} is ambiguous: it matches {shown}{more}; give more characters"
        )
    return rows[0]


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
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0


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
    cost: float
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
        )
        for r in rows
    ]


@dataclass
class _Usage:
    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float = 0.0
    latencies: list[int] = field(default_factory=list)
    last_error_id: int = 0
    last_error: str | None = None

    def add(self, call: Any) -> None:
        self.calls += 1
        self.input_tokens += call.input_tokens or 0
        self.output_tokens += call.output_tokens or 0
        self.reasoning_tokens += call.reasoning_tokens or 0
        self.cache_read_tokens += call.cache_read_tokens or 0
        self.cache_write_tokens += call.cache_write_tokens or 0
        self.cost += call.cost or 0.0
        if call.latency_ms is not None:
            self.latencies.append(call.latency_ms)
        if call.status != "ok":
            self.errors += 1
            if call.id > self.last_error_id:
                self.last_error_id, self.last_error = call.id, call.error


def _usage(conn: Connection, game_id: int) -> tuple[_Usage, dict[int, _Usage]]:
    """LLM usage of a game, in total and per seat, from one read of its calls.

    Summed in Python rather than by three GROUP BY / percentile / last-error queries: one round
    trip instead of three, and a game has at most a few thousand calls.
    """
    total = _Usage()
    per_seat: dict[int, _Usage] = {}
    calls = conn.execute(
        sa.select(
            LLMCall.id,
            LLMCall.seat,
            LLMCall.status,
            LLMCall.latency_ms,
            LLMCall.input_tokens,
            LLMCall.output_tokens,
            LLMCall.reasoning_tokens,
            LLMCall.cache_read_tokens,
            LLMCall.cache_write_tokens,
            LLMCall.cost,
            sa.case((LLMCall.status != "ok", LLMCall.error)).label("error"),
        ).where(LLMCall.game_id == game_id)
    )
    for call in calls:
        total.add(call)
        if call.seat is not None:
            per_seat.setdefault(call.seat, _Usage()).add(call)
    total.latencies.sort()
    return total, per_seat


def game_info(
    engine: Engine,
    ref: str | int,
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
        usage, per_seat = _usage(conn, game.id)
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


# --------------------------------------------------------------------------- replay


@dataclass
class GameReplay:
    """A game turn by turn: a header, the seats, and every turn with what was seen and done."""

    id: int
    uuid: str
    type: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str | None
    winning_side: str | None
    end_reason: str | None
    crashed: bool
    error: str | None
    seats: list[SeatInfo]
    turns: list[TurnInfo]


def game_replay(engine: Engine, ref: str | int, *, observations: bool = True) -> GameReplay:
    """Every turn of a game in order, with its actor, action, validity and player actions."""
    with engine.connect() as conn:
        game = _fetch_game(conn, ref)
        seats = _seats(conn, game.id, DEFAULT_RATING_SYSTEM)
        turns = _turns(conn, game.id, seats, observations=observations, actions=True)
    return GameReplay(
        id=game.id,
        uuid=str(game.uuid),
        type=game.env_id,
        status=game.status,
        started_at=game.started_at,
        finished_at=game.finished_at,
        outcome=game.outcome,
        winning_side=game.winning_side,
        end_reason=game.end_reason,
        crashed=bool(game.environment_crashed),
        error=game.error,
        seats=seats,
        turns=turns,
    )


# --------------------------------------------------------------------------- agents


@dataclass
class AgentSummary:
    """One line of `agents list`."""

    id: int
    alias: str | None
    kind: str
    model: str
    prompt: str
    prompt_version: int
    agent_class: str | None
    active: bool
    rated_games: int
    last_game_id: int | None
    rating_mu: float | None
    rating_sigma: float | None
    created_at: datetime | None


def list_agents(
    engine: Engine,
    *,
    model: str | None = None,
    kind: str | None = None,
    active: bool | None = None,
    limit: int = 100,
    offset: int = 0,
    system: str = DEFAULT_RATING_SYSTEM,
) -> list[AgentSummary]:
    """Agents by id, with kind, model, prompt, rated games, last game and overall rating.

    Games are counted by the rating (`rated_games`), not by counting seats: a count would grow
    with the history, while this page must cost the same on any database size.
    """
    _check_page(limit, offset)
    a = Agent.__table__
    # One probe of the (agent_id, game_id) index per agent.
    last_game = (
        sa.select(GamePlayer.game_id)
        .where(GamePlayer.agent_id == a.c.id)
        .order_by(GamePlayer.game_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rating = Rating.__table__
    query = (
        sa.select(
            a.c.id,
            a.c.alias,
            AgentKind.name.label("kind"),
            LLMModel.name.label("model"),
            Prompt.name.label("prompt"),
            Prompt.version.label("prompt_version"),
            a.c.agent_class,
            a.c.active,
            rating.c.games.label("rated_games"),
            last_game.label("last_game_id"),
            rating.c.mu,
            rating.c.sigma,
            a.c.created_at,
        )
        .join(AgentKind.__table__, AgentKind.id == a.c.kind_id)
        .join(LLMModel.__table__, LLMModel.id == a.c.model_id)
        .join(Prompt.__table__, Prompt.id == a.c.prompt_id)
        .outerjoin(
            rating,
            sa.and_(
                rating.c.agent_id == a.c.id,
                rating.c.system == system,
                rating.c.game_type_id.is_(None),
            ),
        )
        .order_by(a.c.id)
        .limit(limit)
        .offset(offset)
    )
    if model is not None:
        query = query.where(sa.or_(LLMModel.name == model, LLMModel.litellm_name == model))
    if kind is not None:
        query = query.where(AgentKind.name == kind)
    if active is not None:
        query = query.where(a.c.active.is_(active))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        AgentSummary(
            id=r.id,
            alias=r.alias,
            kind=r.kind,
            model=r.model,
            prompt=r.prompt,
            prompt_version=r.prompt_version,
            agent_class=r.agent_class,
            active=bool(r.active),
            rated_games=int(r.rated_games or 0),
            last_game_id=r.last_game_id,
            rating_mu=r.mu,
            rating_sigma=r.sigma,
            created_at=r.created_at,
        )
        for r in rows
    ]


# --------------------------------------------------------------------------- models


@dataclass
class ModelStats:
    """Usage of one LLM model over every recorded call."""

    id: int | None
    model: str
    provider: str | None
    active: bool | None
    calls: int
    errors: int
    error_rate: float | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    cost: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None


def models_stats(engine: Engine) -> list[ModelStats]:
    """Per model: calls, tokens, cost, error rate and latency p50/p95, over all LLM calls.

    Calls whose model is not in the catalog are grouped by the model name they requested.
    This reads every LLM call; percentiles are exact and interpolated like `percentile_cont`
    (computed by PostgreSQL; in Python on SQLite, which lacks it).
    """
    # A group is a catalog model, or, for calls without one, the requested model name.
    unlisted = sa.case((LLMCall.model_id.is_(None), LLMCall.request_model))
    with engine.connect() as conn:
        postgresql = conn.dialect.name == "postgresql"
        percentiles: list[Any] = []
        if postgresql:
            percentiles = [
                sa.func.percentile_cont(fraction)
                .within_group(LLMCall.latency_ms)
                .label(f"p{int(fraction * 100)}")
                for fraction in (0.5, 0.95)
            ]
        totals = conn.execute(
            sa.select(
                LLMCall.model_id,
                unlisted.label("unlisted"),
                sa.func.count().label("calls"),
                sa.func.count(sa.case((LLMCall.status != "ok", 1))).label("errors"),
                sa.func.coalesce(sa.func.sum(LLMCall.input_tokens), 0).label("input"),
                sa.func.coalesce(sa.func.sum(LLMCall.output_tokens), 0).label("output"),
                sa.func.coalesce(sa.func.sum(LLMCall.reasoning_tokens), 0).label("reasoning"),
                sa.func.coalesce(sa.func.sum(LLMCall.cost), 0).label("cost"),
                *percentiles,
            ).group_by(LLMCall.model_id, unlisted)
        ).all()
        latency: dict[tuple[Any, Any], tuple[float | None, float | None]] = {}
        if postgresql:
            latency = {(r.model_id, r.unlisted): (_float(r.p50), _float(r.p95)) for r in totals}
        else:
            latency = _sqlite_percentiles(conn, unlisted)
        catalog = {
            r.id: r
            for r in conn.execute(
                sa.select(LLMModel.id, LLMModel.name, LLMModel.provider, LLMModel.active)
            )
        }
    stats: list[ModelStats] = []
    seen: set[int] = set()
    for r in totals:
        model = catalog.get(r.model_id) if r.model_id is not None else None
        if model is not None:
            seen.add(model.id)
        p50, p95 = latency.get((r.model_id, r.unlisted), (None, None))
        calls = int(r.calls)
        stats.append(
            ModelStats(
                id=r.model_id,
                model=model.name if model is not None else (r.unlisted or "(unknown)"),
                provider=model.provider if model is not None else None,
                active=bool(model.active) if model is not None else None,
                calls=calls,
                errors=int(r.errors),
                error_rate=int(r.errors) / calls if calls else None,
                input_tokens=int(r.input),
                output_tokens=int(r.output),
                reasoning_tokens=int(r.reasoning),
                cost=float(r.cost),
                latency_p50_ms=p50,
                latency_p95_ms=p95,
            )
        )
    for model in catalog.values():
        if model.id not in seen:
            stats.append(
                ModelStats(
                    id=model.id,
                    model=model.name,
                    provider=model.provider,
                    active=bool(model.active),
                    calls=0,
                    errors=0,
                    error_rate=None,
                    input_tokens=0,
                    output_tokens=0,
                    reasoning_tokens=0,
                    cost=0.0,
                    latency_p50_ms=None,
                    latency_p95_ms=None,
                )
            )
    stats.sort(key=lambda s: (-s.calls, s.model))
    return stats


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sqlite_percentiles(
    conn: Connection, unlisted: Any
) -> dict[tuple[Any, Any], tuple[float | None, float | None]]:
    """p50 and p95 per group, computed in Python from the latencies (SQLite has no
    percentile_cont; this measured faster than ranking every row with window functions)."""
    by_group: dict[tuple[Any, Any], list[float]] = {}
    for model_id, name, latency in conn.execute(
        sa.select(LLMCall.model_id, unlisted, LLMCall.latency_ms).where(
            LLMCall.latency_ms.is_not(None)
        )
    ):
        by_group.setdefault((model_id, name), []).append(latency)
    result: dict[tuple[Any, Any], tuple[float | None, float | None]] = {}
    for key, values in by_group.items():
        values.sort()
        result[key] = (percentile(values, 0.5), percentile(values, 0.95))
    return result


# --------------------------------------------------------------------------- tables


@dataclass
class TableStats:
    """Rows and on-disk size (table + its indexes) of one table."""

    table: str
    rows: int
    size_bytes: int | None


@dataclass
class DatabaseStats:
    backend: str
    size_bytes: int | None
    tables: list[TableStats]


def db_stats(engine: Engine) -> DatabaseStats:
    """Exact row counts (one UNION ALL statement) and sizes of every table in the database."""
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        counts: dict[str, int] = {}
        if names:
            union = sa.union_all(
                *(
                    sa.select(
                        sa.literal(name).label("name"), sa.func.count().label("rows")
                    ).select_from(sa.table(name))
                    for name in names
                )
            )
            counts = {r.name: int(r.rows) for r in conn.execute(union)}
        sizes, total = _sizes(conn)
    return DatabaseStats(
        backend=engine.dialect.name,
        size_bytes=total,
        tables=[TableStats(name, counts.get(name, 0), sizes.get(name)) for name in names],
    )


def _sizes(conn: Connection) -> tuple[dict[str, int], int | None]:
    if conn.dialect.name == "postgresql":
        relations = conn.execute(
            sa.text(
                "SELECT c.relname AS name, pg_total_relation_size(c.oid) AS size "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
            )
        )
        total = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        return {r.name: int(r.size) for r in relations}, int(total or 0)
    page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 0)
    page_count = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    try:
        # dbstat is a compile-time option of SQLite: present in most builds, not in all.
        rows = conn.exec_driver_sql(
            "SELECT m.tbl_name AS name, sum(d.pgsize) AS size FROM dbstat d "
            "JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
        ).all()
    except sa.exc.OperationalError:
        return {}, page_size * page_count
    return {r.name: int(r.size) for r in rows}, page_size * page_count
