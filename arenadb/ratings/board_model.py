"""What a Bradley-Terry board is (`arenadb.ratings.board` computes it) and its JSON form.

The JSON form is `dataclasses.asdict` of a `Board`, what `agents top --method bt --json`
prints; `board_from_plain` reads it back into equal dataclasses (stored boards are kept so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


def win_rate(wins: int, draws: int, games: int) -> float | None:
    """The one win rate every board, matrix and profile shows: draws count half (a shared
    first place that counts as a draw is half a win); None for an agent with no games."""
    return (wins + draws / 2) / games if games else None


@dataclass(frozen=True)
class BoardRow:
    """One agent on a Bradley-Terry board (Elo scale, 95% bootstrap interval, tier rank).

    `ci_low`/`ci_high` are None when the interval is unknown (fewer than the board's
    `interval_games`, or a degenerate bootstrap); such an agent has no tier (`rank` None), is
    provisional, and is listed after the ranked agents.
    """

    rank: int | None
    agent_id: int
    alias: str | None
    model: str
    rating: float
    ci_low: float | None
    ci_high: float | None
    games: int
    wins: int
    draws: int
    losses: int
    win_rate: float | None  # draws count half
    provisional: bool
    # The known cost of its LLM calls in these games; None: unknown (no call priced). When
    # `cost_complete` is false it is a lower bound (unpriced calls, or games without calls).
    cost: float | None
    cost_complete: bool
    cost_per_game: float | None
    cost_per_win: float | None


@dataclass(frozen=True)
class SideTerm:
    """A side's (or seat's) advantage over its reference side, with equal agents; the interval
    is None when it cannot be estimated (either side in fewer than `interval_games` games, or
    a degenerate bootstrap)."""

    side: str
    reference: str
    rating: float  # Elo points over the reference side
    ci_low: float | None
    ci_high: float | None
    win_probability: float  # P(this side's agent beats the reference side's, equal skill)


@dataclass(frozen=True)
class Sides:
    reference: str | None  # None on a unified board: every game type has its own reference
    terms: list[SideTerm] = field(default_factory=list)


@dataclass(frozen=True)
class TypeWeight:
    """A game type on a unified board: its games, and the weight each of its games gets."""

    game_type: str
    games: int
    weight: float


@dataclass(frozen=True)
class Board:
    game_type: str  # env id; "unified" on the cross-game board
    game_type_id: int | None  # None on the unified board
    method: str
    games: int
    rounds: int
    seed: int
    bootstrap: str  # "refit" (every round refitted) or "linearised" (one Newton step a round)
    provisional_games: int
    interval_games: int
    shared_first: str
    sides: Sides
    rows: list[BoardRow]
    unified: bool = False
    label: str = ""  # what the board is, in words (set on the unified board)
    game_types: list[TypeWeight] = field(default_factory=list)  # the unified board's types
    # When the board was computed, if it was read back from `stored_boards` (`arenadb ratings
    # boards`); None: computed now, live.
    stored_at: datetime | None = None


def board_from_plain(data: Mapping[str, Any]) -> Board:
    """The `Board` whose `dataclasses.asdict` is `data` (numbers written as 1000 or 1000.0 both
    come back as the floats they were: PostgreSQL's jsonb does not keep the difference)."""
    sides = data["sides"]
    values = {name: data[name] for name in _FIELDS[Board] if name in data}
    return Board(
        **{
            **values,
            "sides": Sides(sides["reference"], [_typed(SideTerm, t) for t in sides["terms"]]),
            "rows": [_typed(BoardRow, r) for r in data["rows"]],
            "game_types": [_typed(TypeWeight, w) for w in data.get("game_types", [])],
            "stored_at": None,
        }
    )


def _typed(cls: type[Any], data: Mapping[str, Any]) -> Any:
    floats = _FLOATS[cls]
    return cls(
        **{
            name: data[name] if name not in floats or data[name] is None else float(data[name])
            for name in _FIELDS[cls]
        }
    )


_FIELDS: dict[type[Any], list[str]] = {
    cls: [f.name for f in fields(cls)] for cls in (Board, BoardRow, SideTerm, TypeWeight)
}
_FLOATS: dict[type[Any], set[str]] = {
    cls: {f.name for f in fields(cls) if "float" in str(f.type)}
    for cls in (Board, BoardRow, SideTerm, TypeWeight)
}
