"""A game turn by turn, as `game replay` shows it: the header, the seats, every turn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from arenadb.catalog.refs import GameRef
from arenadb.inspection.filters import DEFAULT_RATING_SYSTEM
from arenadb.inspection.games import SeatInfo, TurnInfo, _fetch_game, _seats, _turns


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


def game_replay(engine: Engine, ref: GameRef, *, observations: bool = True) -> GameReplay:
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
