"""Whole games at once (seeding, imports): the recorder's bulk path, in the caller's transaction.

A `GameRecord` is a complete game as it is stored (seats with results, turns with their LLM calls
and actions, snapshots); `write_game` writes one with the same writer and JSON policy as a live
recorder.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from arenadb.db.batch_connection import driver_connection
from arenadb.db.json import json_text
from arenadb.db.writer import MARKS, Batch, placeholders, writer_for
from arenadb.errors import InvalidDataError
from arenadb.models import FINISHED_STATUSES, LLM_CALL_STATUSES
from arenadb.recording.snapshots import snapshot_row
from arenadb.recording.types import JSONValue

_UTC = timezone.utc


@dataclass
class LLMCallRecord:
    """One LLM call attempt of a complete game (ids resolved; times tz-aware)."""

    model_id: int | None = None
    attempt: int = 1
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    started_at: datetime | None = None
    first_token_at: datetime | None = None
    finished_at: datetime | None = None
    latency_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost: float | None = None
    finish_reason: str | None = None
    response_id: str | None = None
    status: str = "ok"
    error: str | None = None
    request: JSONValue = None
    response: JSONValue = None
    reasoning: str | None = None


@dataclass
class TurnRecord:
    turn_number: int
    seat: int | None = None
    phase: str | None = None
    observation: str | None = None
    action: str | None = None
    valid: bool | None = None
    latency_ms: int | None = None
    state_hash: str | None = None
    created_at: datetime | None = None
    visibility: str = "public"
    recipients: list[int] | None = None
    invalid_reason: str | None = None
    llm_calls: list[LLMCallRecord] = field(default_factory=list)
    # {"action_type": ..., "payload": ..., "result": ..., "valid": ...}, in order
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SeatRecord:
    seat: int
    agent_id: int
    side: str | None = None
    role: str | None = None
    reward: float | None = None
    rank: int | None = None
    eliminated_turn: int | None = None
    invalid_moves: int = 0
    info: Mapping[str, Any] | None = None


@dataclass
class GameRecord:
    """A whole game as it is stored; `write_game` writes it in one go."""

    uuid: uuid_module.UUID
    game_type_id: int
    seats: list[SeatRecord]
    turns: list[TurnRecord] = field(default_factory=list)
    # (turns included, kind, state, created_at)
    snapshots: list[tuple[int, str, Mapping[str, Any], datetime | None]] = field(
        default_factory=list
    )
    status: str = "completed"
    seed: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None
    winning_side: str | None = None
    end_reason: str | None = None
    environment_crashed: bool = False
    error: str | None = None
    rated: bool = True
    info: Mapping[str, Any] | None = None


_FULL_GAME_COLUMNS = (
    "uuid, game_type_id, status, seed, created_at, started_at, finished_at, outcome, "
    "winning_side, end_reason, environment_crashed, error, rated, info"
)
_FULL_PLAYER_COLUMNS = (
    "game_id, seat, agent_id, side, role, reward, rank, eliminated_turn, invalid_moves, info"
)


def write_game(session: Session, game: GameRecord, *, rate: bool = True) -> int:
    """Write a complete game (seats with results, turns, actions, LLM calls, snapshots) inside
    the session's transaction with the recorder's bulk path; rate it if it is finished and
    rated. Returns the new game id. Nothing is committed here: the caller owns the transaction.
    """
    if game.status not in ("queued", "running", *FINISHED_STATUSES):
        raise InvalidDataError(f"game {game.uuid}: unknown status {game.status!r}")
    conn = session.connection()
    raw = driver_connection(conn)
    writer = writer_for(conn)
    ts = writer.timestamp
    now = datetime.now(_UTC)
    marks = MARKS[writer.name]
    game_sql = (
        f"INSERT INTO games ({_FULL_GAME_COLUMNS}) "
        f"VALUES ({placeholders(_FULL_GAME_COLUMNS, marks['q'])})"
        + (" RETURNING id" if writer.name == "postgresql" else "")
    )
    player_sql = (
        f"INSERT INTO game_players ({_FULL_PLAYER_COLUMNS}) "
        f"VALUES ({placeholders(_FULL_PLAYER_COLUMNS, marks['q'])})"
    )
    game_row = (
        writer.uuid(game.uuid),
        game.game_type_id,
        game.status,
        game.seed,
        ts(game.created_at or game.started_at or now),
        ts(game.started_at),
        ts(game.finished_at),
        game.outcome,
        game.winning_side,
        game.end_reason,
        game.environment_crashed,
        game.error,
        game.rated,
        json_text(dict(game.info), "game info") if game.info is not None else None,
    )
    cur = raw.cursor()
    try:
        cur.execute(game_sql, game_row)
        game_id = int(cur.fetchone()[0]) if writer.name == "postgresql" else int(cur.lastrowid)
        cur.executemany(
            player_sql,
            [
                (
                    game_id,
                    s.seat,
                    s.agent_id,
                    s.side,
                    s.role,
                    s.reward,
                    s.rank,
                    s.eliminated_turn,
                    s.invalid_moves,
                    json_text(dict(s.info), "seat info") if s.info is not None else None,
                )
                for s in game.seats
            ],
        )
    finally:
        cur.close()
    batch = Batch()
    for seq, turn in enumerate(game.turns):
        at = ts(turn.created_at or now)
        batch.turns.append(
            (
                game_id,
                seq,
                turn.turn_number,
                turn.phase,
                turn.seat,
                turn.observation,
                turn.action,
                turn.valid,
                turn.state_hash,
                turn.latency_ms,
                at,
                turn.visibility,
                json_text(turn.recipients, "turn recipients", writer.jsonb_prefix),
                turn.invalid_reason,
            )
        )
        for idx, act in enumerate(turn.actions):
            batch.actions.append(
                (
                    game_id,
                    seq,
                    idx,
                    act.get("seat", turn.seat),
                    act["action_type"],
                    json_text(act.get("payload"), "action payload", writer.jsonb_prefix),
                    json_text(act.get("result"), "action result", writer.jsonb_prefix),
                    act.get("valid"),
                )
            )
        for call in turn.llm_calls:
            if call.status not in LLM_CALL_STATUSES:
                raise InvalidDataError(f"LLM call status must be one of {LLM_CALL_STATUSES}")
            batch.llm_calls.append(
                (
                    game_id,
                    seq,
                    turn.seat,
                    call.model_id,
                    call.attempt,
                    call.provider,
                    call.request_model,
                    call.response_model,
                    ts(call.started_at),
                    ts(call.first_token_at),
                    ts(call.finished_at),
                    call.latency_ms,
                    call.input_tokens,
                    call.output_tokens,
                    call.reasoning_tokens,
                    call.cache_read_tokens,
                    call.cache_write_tokens,
                    call.cost,
                    call.finish_reason,
                    call.status,
                    call.error,
                    json_text(call.request, "LLM request", writer.jsonb_prefix),
                    json_text(call.response, "LLM response", writer.jsonb_prefix),
                    call.reasoning,
                    call.response_id,
                )
            )
    for turns_included, kind, state, created_at in game.snapshots:
        row, _digest = snapshot_row(
            game_id, turns_included, kind, state, writer.jsonb_prefix, ts(created_at or now)
        )
        batch.snapshots.append(row)
    writer.write_batch(raw, batch)
    if rate and game.status == "completed":
        from arenadb.ratings.book import rate_game

        rate_game(session, game_id)
    return game_id
