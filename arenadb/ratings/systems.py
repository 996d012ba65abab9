"""Adapters over the rating libraries: turn one game into teams, ranks and side weights, and let
`trueskill` or `openskill` do all of the math.

Team weighting (why): both libraries model a team's performance as the SUM of its players'
performances, so 4 villagers are "twice as strong" as 2 mafia before the game starts. A villager
win is then expected (ratings barely move) and a mafia win is a huge upset (mafia swing by ~8 mu
in TrueSkill). Each player therefore plays with the partial-play weight
`smallest team size / own team size`, which makes the sides' weighted strengths equal for equal
ratings and makes either result move both sides comparably.

- TrueSkill: the library's own `weights` argument of `rate()` (partial play).
- OpenSkill (Plackett-Luce): its `weights` argument only shares a team's update among its players
  (normalised per team, so uniform weights within a team are a no-op) and cannot change how
  strong a team is. The same partial play is obtained by a change of variables around the library
  call: a player with weight w enters as the rating (w*mu, w*sigma) of the performance w*skill,
  and the library's result is mapped back by 1/w. Games whose weights are all 1 (free-for-all,
  equal teams) call the library unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, Protocol

from arenadb.errors import InvalidArgumentError, InvalidDataError

TRUESKILL = "trueskill"
OPENSKILL = "openskill"
SYSTEMS = (TRUESKILL, OPENSKILL)

Rating = tuple[float, float]  # (mu, sigma)


class Seat(NamedTuple):
    """What rating needs to know about one seat of a finished game (a tuple: rebuilds make
    one per seat of history)."""

    seat: int
    agent_id: int
    side: str | None = None
    rank: int | None = None
    reward: float | None = None


@dataclass(frozen=True)
class Match:
    """A game as the rating libraries see it: teams in seat order, a rank per team (1 = best,
    equal ranks = tie), and the partial-play weight of each team's players."""

    teams: tuple[tuple[Seat, ...], ...]
    ranks: tuple[int, ...]
    weights: tuple[float, ...]
    results: tuple[str, ...]  # per team: "win", "draw" or "loss"


# How a shared first place counts in a game type (its config key `shared_first`): "draw" (a draw
# among the leaders, arenadb's default) or "win" (a win for each, as TextArena reports it). The
# rating libraries see the same ranks either way; it decides the W/D/L a leader is credited with.
SHARED_FIRST_KEY = "shared_first"
SHARED_FIRST_DRAW = "draw"
SHARED_FIRST_WIN = "win"
SHARED_FIRST_DEFAULT = SHARED_FIRST_DRAW


def shared_first_setting(config: dict[str, Any] | None) -> str:
    """A game type's shared-first rule from its config (default: a draw among the leaders)."""
    value = (config or {}).get(SHARED_FIRST_KEY, SHARED_FIRST_DEFAULT)
    if value not in (SHARED_FIRST_DRAW, SHARED_FIRST_WIN):
        raise InvalidDataError(
            f"game type setting {SHARED_FIRST_KEY}={value!r}: use "
            f"{SHARED_FIRST_DRAW!r} or {SHARED_FIRST_WIN!r}"
        )
    return str(value)


def build_match(
    game_id: int,
    outcome: str | None,
    winning_side: str | None,
    seats: Sequence[Seat],
    shared_first: str = SHARED_FIRST_DEFAULT,
) -> Match | None:
    """Teams, ranks and weights of a completed game; None when there is nothing to rate.

    Players with the same `side` form a team; a player without a side plays alone
    (free-for-all). A draw ties every team. Otherwise the team named by `winning_side` comes
    first and the other teams are ordered by their players' best `rank`, or else by their mean
    `reward` (higher is better), or else tie for second place. Teams sharing first place are
    credited per `shared_first` (SHARED_FIRST_DRAW or SHARED_FIRST_WIN).
    """
    groups: dict[str, list[Seat]] = {}
    for seat in sorted(seats, key=lambda s: s.seat):
        key = f"side:{seat.side}" if seat.side is not None else f"seat:{seat.seat}"
        groups.setdefault(key, []).append(seat)
    if len(groups) < 2:
        return None
    keys = list(groups)
    teams = [tuple(groups[k]) for k in keys]
    if outcome == "draw":
        ranks = [1] * len(teams)
    else:
        ranks = [1 + r for r in _dense_rank(_win_ranks(game_id, keys, teams, winning_side))]
    smallest = min(len(t) for t in teams)
    weights = tuple(smallest / len(t) for t in teams)
    best = min(ranks)
    shared = ranks.count(best) > 1
    leader = "draw" if shared and shared_first == SHARED_FIRST_DRAW else "win"
    if outcome == "draw":
        leader = "draw"
    results = tuple(leader if r == best else "loss" for r in ranks)
    return Match(tuple(teams), tuple(ranks), weights, results)


def _win_ranks(
    game_id: int, keys: list[str], teams: list[tuple[Seat, ...]], winning_side: str | None
) -> list[int]:
    order_keys: list[float] | None = None
    if all(any(s.rank is not None for s in t) for t in teams):
        order_keys = [float(min(s.rank for s in t if s.rank is not None)) for t in teams]
    elif all(any(s.reward is not None for s in t) for t in teams):
        means = [_mean([s.reward for s in t if s.reward is not None]) for t in teams]
        order_keys = [-m for m in means]
    winner = f"side:{winning_side}" if winning_side is not None else None
    if winner in keys:
        rest = [(order_keys[i] if order_keys else 0.0) for i in range(len(keys))]
        losers = _dense_rank(rest)
        return [1 if k == winner else 2 + losers[i] for i, k in enumerate(keys)]
    if order_keys is None:
        raise InvalidDataError(
            f"game {game_id} was won, but it has no winning side matching a team and its "
            "players have no ranks or rewards: cannot rate it"
        )
    return [1 + r for r in _dense_rank(order_keys)]


def _dense_rank(values: Sequence[float]) -> list[int]:
    """0 for the smallest value, 1 for the next distinct one, ... (ties share a rank)."""
    distinct = sorted(set(values))
    return [distinct.index(v) for v in values]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


class RatingSystem(Protocol):
    name: str

    def initial(self) -> Rating: ...

    def rate(
        self, teams: list[list[Rating]], ranks: Sequence[int], weights: Sequence[float]
    ) -> list[list[Rating]]: ...


class TrueSkillSystem:
    """TrueSkill with the library's default environment (mu 25, sigma 25/3, draws 10%)."""

    name = TRUESKILL

    def __init__(self) -> None:
        import trueskill

        self.env = trueskill.TrueSkill()
        self._make = self.env.create_rating

    def initial(self) -> Rating:
        return (self.env.mu, self.env.sigma)

    def rate(
        self, teams: list[list[Rating]], ranks: Sequence[int], weights: Sequence[float]
    ) -> list[list[Rating]]:
        make = self._make
        groups = [[make(mu, sigma) for mu, sigma in team] for team in teams]
        partial: Any = None
        if any(w != 1.0 for w in weights):
            partial = [[w] * len(team) for w, team in zip(weights, teams, strict=True)]
        rated = self.env.rate(groups, ranks=list(ranks), weights=partial)
        return [[(r.mu, r.sigma) for r in team] for team in rated]


class OpenSkillSystem:
    """OpenSkill's Plackett-Luce model with its default parameters (mu 25, sigma 25/3)."""

    name = OPENSKILL

    def __init__(self) -> None:
        from openskill.models import PlackettLuce

        self.model = PlackettLuce()
        # Weighted games add the dynamics (tau) themselves before scaling, so that tau is not
        # scaled with the rating; the library must then add none (a falsy tau means "default").
        self.unscaled_model = PlackettLuce(tau=0.0)
        self.tau_squared = self.model.tau * self.model.tau

    def initial(self) -> Rating:
        return (self.model.mu, self.model.sigma)

    def rate(
        self, teams: list[list[Rating]], ranks: Sequence[int], weights: Sequence[float]
    ) -> list[list[Rating]]:
        if all(w == 1.0 for w in weights):
            make = self.model.rating
            groups = [[make(mu=mu, sigma=sigma) for mu, sigma in team] for team in teams]
            rated = self.model.rate(groups, ranks=list(ranks))
            return [[(r.mu, r.sigma) for r in team] for team in rated]
        make = self.unscaled_model.rating
        tau_squared = self.tau_squared
        groups = [
            [
                make(mu=mu * w, sigma=math.sqrt(sigma * sigma + tau_squared) * w)
                for mu, sigma in team
            ]
            for w, team in zip(weights, teams, strict=True)
        ]
        rated = self.unscaled_model.rate(groups, ranks=list(ranks))
        return [
            [(mu + (r.mu - mu * w) / w, r.sigma / w) for (mu, _), r in zip(team, out, strict=True)]
            for w, team, out in zip(weights, teams, rated, strict=True)
        ]


@cache
def rating_system(name: str) -> RatingSystem:
    """The adapter for `name` ("trueskill" or "openskill"); created once per process."""
    if name == TRUESKILL:
        return TrueSkillSystem()
    if name == OPENSKILL:
        return OpenSkillSystem()
    raise InvalidArgumentError(f"unknown rating system {name!r}: use one of {', '.join(SYSTEMS)}")


def check_systems(systems: Sequence[str]) -> tuple[str, ...]:
    """The systems, validated and deduplicated in their canonical order."""
    for name in systems:
        if name not in SYSTEMS:
            raise InvalidArgumentError(
                f"unknown rating system {name!r}: use one of {', '.join(SYSTEMS)}"
            )
    return tuple(s for s in SYSTEMS if s in systems)
