"""What a runner hands the recorder and gets back: seats, seat results, write statistics."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arenadb.errors import InvalidDataError
from arenadb.models import Agent

JSONValue = Any
StateArg = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


@dataclass(frozen=True)
class Seat:
    """Who sits in a seat: an agent (object or id), and optionally its side/team and role."""

    agent: Agent | int
    side: str | None = None
    role: str | None = None
    info: Mapping[str, Any] | None = None

    @property
    def agent_id(self) -> int:
        return self.agent if isinstance(self.agent, int) else self.agent.id


SeatsArg = Sequence[Seat | Agent | int] | Mapping[int, Seat | Agent | int]


@dataclass(frozen=True)
class SeatResult:
    """A seat's result at the end of a game. Fields left None keep what is stored."""

    reward: float | None = None
    rank: int | None = None
    eliminated_turn: int | None = None
    invalid_moves: int | None = None
    side: str | None = None
    role: str | None = None
    info: Mapping[str, Any] | None = None


@dataclass
class RecorderStats:
    """What a recorder has written so far."""

    batches: int = 0
    rows: int = 0
    turns: int = 0
    snapshots: int = 0


def seat_list(seats: SeatsArg) -> list[tuple[int, Seat]]:
    """(seat number, Seat) pairs from a list (seat = position) or a mapping seat -> spec."""
    items = seats.items() if isinstance(seats, Mapping) else enumerate(seats)
    out: list[tuple[int, Seat]] = []
    for seat, spec in items:
        if not isinstance(seat, int) or seat < 0:
            raise InvalidDataError(f"seat {seat!r} must be a non-negative integer")
        out.append((seat, spec if isinstance(spec, Seat) else Seat(spec)))
    if not out:
        raise InvalidDataError("a game needs at least one seat")
    return out
