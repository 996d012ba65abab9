"""The parts of one game that `game info` and `game replay` both read: its row, seats and turns.

One statement each, whatever the number of seats or turns: the same cost on a 6-seat Mafia game
as on a 4X game of 500 turns (the no-N+1 rule of `arenadb.inspection.games`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.catalog.refs import GameRef, game_candidates_limit, game_condition, one_game
from arenadb.models import (
    Agent,
    Game,
    GamePlayer,
    GameTurn,
    GameType,
    LLMCall,
    LLMModel,
    PlayerAction,
    RatingEvent,
)


def seconds_between(started: datetime | None, finished: datetime | None) -> float | None:
    """A game's duration; None until it has both ends."""
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()


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


def fetch_game(conn: Connection, ref: GameRef, *, turn_counts: bool = False) -> sa.Row[Any]:
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


def read_seats(conn: Connection, game_id: int, system: str) -> list[SeatInfo]:
    """The seats of a game with agent, model, overall rating change in `system` and LLM usage:
    every view of a game (`game info`, `game replay`) shows a seat whole."""
    events = RatingEvent.__table__
    # Per seat, as `Usage` sums a game's calls: the cost is the sum of the known costs (NULL
    # when none is known), complete when every call has one.
    usage = (
        sa.select(
            LLMCall.seat,
            sa.func.count().label("llm_calls"),
            sa.func.coalesce(sa.func.sum(LLMCall.input_tokens), 0).label("input_tokens"),
            sa.func.coalesce(sa.func.sum(LLMCall.output_tokens), 0).label("output_tokens"),
            sa.func.sum(LLMCall.cost).label("cost"),
            (sa.func.count(LLMCall.cost) == sa.func.count()).label("cost_complete"),
        )
        .where(LLMCall.game_id == game_id)
        .group_by(LLMCall.seat)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            GamePlayer.__table__,
            Agent.alias,
            LLMModel.name.label("model_name"),
            (events.c.mu_after - events.c.mu_before).label("rating_change"),
            usage.c.llm_calls,
            usage.c.input_tokens,
            usage.c.output_tokens,
            usage.c.cost,
            usage.c.cost_complete,
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
        .outerjoin(usage, usage.c.seat == GamePlayer.seat)
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
            llm_calls=int(r.llm_calls or 0),
            input_tokens=int(r.input_tokens or 0),
            output_tokens=int(r.output_tokens or 0),
            cost=None if r.cost is None else float(r.cost),
            cost_complete=bool(r.cost_complete),
        )
        for r in rows
    ]


def read_turns(
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
