"""A game turn by turn, as `game replay` shows it: the header, the seats, every turn."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Engine

from arenadb.catalog.refs import GameRef
from arenadb.errors import NotFoundError
from arenadb.inspection.filters import DEFAULT_RATING_SYSTEM
from arenadb.inspection.game_parts import SeatInfo, TurnInfo, fetch_game, read_seats, read_turns


def seen_by(turn: TurnInfo, seat: int) -> bool:
    """Whether `seat` saw `turn`: public, its own move, or private to it (never a system turn)."""
    if turn.visibility == "public":
        return True
    if turn.visibility == "system":
        return False
    return turn.seat == seat or seat in (turn.recipients or ())


def as_seen_by(turns: list[TurnInfo], seat: int) -> list[TurnInfo]:
    """The turns `seat` saw, as it saw them: THE rule of every "seen by seat N" view.

    Another seat's move keeps its action (the seat saw the move) but not its observation: that
    is what the other seat was shown, its role and its private messages included. An
    environment turn's observation is the message itself, seen by its recipients.
    """
    seen = []
    for turn in turns:
        if not seen_by(turn, seat):
            continue
        if turn.seat is not None and turn.seat != seat and turn.observation is not None:
            turn = replace(turn, observation=None)
        seen.append(turn)
    return seen


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
    as_seat: int | None = None


def game_replay(
    engine: Engine, ref: GameRef, *, observations: bool = True, as_seat: int | None = None
) -> GameReplay:
    """Every turn of a game in order, with its actor, action, validity and player actions.

    `as_seat`: only what that seat saw (public turns, its own, the private ones sent to it;
    see `as_seen_by`).
    """
    with engine.connect() as conn:
        game = fetch_game(conn, ref)
        seats = read_seats(conn, game.id, DEFAULT_RATING_SYSTEM)
        turns = read_turns(conn, game.id, seats, observations=observations, actions=True)
    if as_seat is not None:
        if as_seat not in {s.seat for s in seats}:
            raise NotFoundError(f"game {game.id} has no seat {as_seat}")
        turns = as_seen_by(turns, as_seat)
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
        as_seat=as_seat,
    )
