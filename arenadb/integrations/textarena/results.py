"""How a TextArena game ends in arenadb: the outcome, winning side and each seat's result, from
the rewards and game info of `close()` and what the steps before it saw."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from arenadb.integrations.textarena.messages import jsonable
from arenadb.recording.types import SeatResult


@dataclass
class Outcome:
    outcome: str
    winning_side: str | None
    end_reason: str | None
    results: dict[int, SeatResult]


def outcome_of(
    rewards: Mapping[int, float],
    game_info: Mapping[int, Mapping[str, Any]] | None,
    sides: Mapping[int, str | None],
    *,
    invalid_moves: Mapping[int, int],
    eliminated: Mapping[int, int],
) -> Outcome:
    """Outcome, winning side and seat results from TextArena's rewards and game info.

    All rewards equal: a draw. Ranks are competition ranks by reward (1, 1, 3). The winning side
    is the one side all top-rewarded seats share, in a team game."""
    values = {int(pid): float(r) for pid, r in rewards.items()}
    best = max(values.values()) if values else 0.0
    draw = len(set(values.values())) <= 1
    winners = {pid for pid, r in values.items() if r == best}
    winning_sides = {sides.get(pid) for pid in winners}
    winning_side = None
    if not draw and len(winning_sides) == 1 and None not in winning_sides:
        winning_side = next(iter(winning_sides))
    info = {int(k): dict(v) for k, v in (game_info or {}).items()}
    reasons = [str(i["reason"]) for i in info.values() if i.get("reason")]
    results = {}
    for pid in sorted(set(values) | set(info)):
        reward = values.get(pid)
        rank = None if reward is None else 1 + sum(1 for r in values.values() if r > reward)
        results[pid] = SeatResult(
            reward=reward,
            rank=rank,
            eliminated_turn=eliminated.get(pid),
            invalid_moves=invalid_moves.get(pid, 0),
            info=jsonable(info.get(pid)) if pid in info else None,
        )
    return Outcome(
        outcome="draw" if draw else "win",
        winning_side=winning_side,
        end_reason=reasons[0] if reasons else None,
        results=results,
    )


class SeatTally:
    """What `close()` needs that the final state no longer says: each seat's side, its invalid
    moves, and the turn each player was eliminated (seen after the step that eliminated it)."""

    def __init__(self, sides: Mapping[int, str | None]) -> None:
        self.sides = dict(sides)
        self.invalid_moves: dict[int, int] = {}
        self.eliminated: dict[int, int] = {}

    def count_invalid_move(self, seat: int) -> None:
        self.invalid_moves[seat] = self.invalid_moves.get(seat, 0) + 1

    def note_eliminated(self, players: set[int], turn_number: int) -> None:
        """`players` are out of the game by `turn_number`: the first turn seen is theirs."""
        for player in players - set(self.eliminated):
            self.eliminated[player] = turn_number

    def outcome(
        self, rewards: Mapping[int, float], game_info: Mapping[int, Mapping[str, Any]] | None
    ) -> Outcome:
        return outcome_of(
            rewards,
            game_info,
            self.sides,
            invalid_moves=self.invalid_moves,
            eliminated=self.eliminated,
        )
