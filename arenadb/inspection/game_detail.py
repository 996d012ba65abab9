"""One game as `game info` shows it: metadata, seats with their usage, snapshots, crash data.

Also importable from `arenadb.inspection.games`, where the docs name it.

    from arenadb.inspection.game_detail import game_info

    detail = game_info(engine, "3f2a")  # an id, a UUID or a unique UUID prefix
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.catalog.refs import GameRef
from arenadb.inspection.filters import DEFAULT_RATING_SYSTEM
from arenadb.inspection.game_parts import (
    SeatInfo,
    TurnInfo,
    fetch_game,
    read_seats,
    read_turns,
    seconds_between,
)
from arenadb.inspection.usage import game_usage, percentile
from arenadb.models import GameSnapshot


@dataclass
class SnapshotInfo:
    id: int
    turn: int
    kind: str
    size_bytes: int
    sha256: str
    created_at: datetime | None


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
        game = fetch_game(conn, ref, turn_counts=True)
        seats = read_seats(conn, game.id, system)
        usage = game_usage(conn, game.id)
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
        turn_list = read_turns(conn, game.id, seats) if with_turns else None
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
        duration_s=seconds_between(game.started_at, game.finished_at),
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
