"""Replaying rated games in memory: the `RatingBook` (ratings held while games are applied to
them, one at a time, through the rating libraries) and the rated history it replays.

Both the incremental update when a game finishes and the rebuild (`arenadb.ratings.book`) feed
this same book, so a rebuild reproduces the incremental ratings bit for bit as long as it replays
the games in the order in which they were rated (`load_rated_history`: games by their first
rating event id, then eligible games that were never rated by finish time and id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from arenadb.models import Game, GamePlayer, RatingEvent
from arenadb.ratings.systems import (
    SHARED_FIRST_DEFAULT,
    Match,
    Seat,
    build_match,
    rating_system,
)

# The Core tables the history query reads.
RATING_EVENTS = cast(sa.Table, RatingEvent.__table__)
GAMES = cast(sa.Table, Game.__table__)
GAME_PLAYERS = cast(sa.Table, GamePlayer.__table__)

Scope = int | None  # a game type id, or None for the overall rating
RatingKey = tuple[str, Scope, int]  # (system, game_type_id, agent_id)


@dataclass
class RatingState:
    """An agent's current rating in one system and scope, as stored in `ratings`."""

    mu: float
    sigma: float
    games: int = 0
    wins: int = 0
    draws: int = 0
    losses: int = 0
    last_game_id: int | None = None
    row_id: int | None = None  # None: not stored yet


@dataclass(slots=True)
class RatingChange:
    """One rating update caused by one game (a row of `rating_events`)."""

    game_id: int
    agent_id: int
    seat: int
    system: str
    game_type_id: int | None
    mu_before: float
    sigma_before: float
    mu_after: float
    sigma_after: float
    result: str

    @property
    def delta_mu(self) -> float:
        return self.mu_after - self.mu_before


class RatedGame(NamedTuple):
    """A completed, rated game: everything the rating libraries need."""

    id: int
    game_type_id: int
    outcome: str | None
    winning_side: str | None
    seats: Sequence[Seat]


@dataclass
class RatingBook:
    """Ratings held in memory while games are applied to them, one game at a time."""

    states: dict[RatingKey, RatingState] = field(default_factory=dict)
    dirty: set[RatingKey] = field(default_factory=set)
    shared_first: dict[int, str] = field(default_factory=dict)  # game type id -> setting

    def apply(
        self, game: RatedGame, systems: Sequence[str], scopes: Sequence[Scope]
    ) -> list[RatingChange]:
        """Rate `game` in every system and scope; returns the changes (empty: nothing to rate).

        An agent seated more than once (self-play, or on both sides of one game) is not moved
        by the game and gets no rating event; the game stays recorded, and the other agents
        are rated against it as usual.
        """
        match = build_match(
            game.id,
            game.outcome,
            game.winning_side,
            game.seats,
            self.shared_first.get(game.game_type_id, SHARED_FIRST_DEFAULT),
        )
        if match is None:
            return []
        unmoved = repeated_agents(game.seats)
        changes: list[RatingChange] = []
        for system in systems:
            for scope in scopes:
                changes += self._apply_one(game, match, system, scope, unmoved)
        return changes

    def _apply_one(
        self, game: RatedGame, match: Match, system_name: str, scope: Scope, unmoved: set[int]
    ) -> list[RatingChange]:
        system = rating_system(system_name)
        states = self.states
        seated: list[tuple[Seat, RatingState, str]] = []
        before: list[list[tuple[float, float]]] = []
        for team, result in zip(match.teams, match.results, strict=True):
            row = []
            for seat in team:
                key = (system_name, scope, seat.agent_id)
                state = states.get(key)
                if state is None:
                    state = states[key] = RatingState(*system.initial())
                seated.append((seat, state, result))
                row.append((state.mu, state.sigma))
            before.append(row)
        after = [r for team in system.rate(before, match.ranks, match.weights) for r in team]
        changes = []
        for (seat, state, result), (mu, sigma) in zip(seated, after, strict=True):
            if seat.agent_id in unmoved:
                continue
            changes.append(
                RatingChange(
                    game.id,
                    seat.agent_id,
                    seat.seat,
                    system_name,
                    scope,
                    state.mu,
                    state.sigma,
                    mu,
                    sigma,
                    result,
                )
            )
            state.mu, state.sigma = mu, sigma
            state.games += 1
            if result == "win":
                state.wins += 1
            elif result == "draw":
                state.draws += 1
            else:
                state.losses += 1
            state.last_game_id = game.id
            self.dirty.add((system_name, scope, seat.agent_id))
        return changes


def repeated_agents(seats: Sequence[Seat]) -> set[int]:
    """Agents seated more than once in one game: ratings never learn from an agent playing
    itself (batch boards leave them out the same way)."""
    seen: set[int] = set()
    repeated: set[int] = set()
    for seat in seats:
        (repeated if seat.agent_id in seen else seen).add(seat.agent_id)
    return repeated


def counts_for_ratings(games: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The conditions a game meets to count for ratings and boards: completed, rated, the
    environment did not crash, and it has a winner or is a draw."""
    return [
        games.c.status == "completed",
        games.c.rated,
        sa.not_(games.c.environment_crashed),
        games.c.outcome.in_(("win", "draw")),
    ]


def load_rated_history(
    conn: Connection | Session, *, game_type_id: int | None = None
) -> list[RatedGame]:
    """Every game that counts for ratings, in rated order, with its seats: two queries.

    The rated order (first rating event id, then finish time, then id) is sorted here, not by
    the server: joined to the per-game aggregate of rating_events, PostgreSQL planned a nested
    loop over the aggregate whenever the tables' statistics were stale (right after a bulk
    import: 2.5 s of a 2,000-game rebuild, 2,000 x 1,000 rows filtered; benchmarks/ratings.py).
    """
    games, players, events = GAMES, GAME_PLAYERS, RATING_EVENTS
    first_event: dict[int, int] = {
        game_id: event_id
        for game_id, event_id in conn.execute(
            sa.select(events.c.game_id, sa.func.min(events.c.id)).group_by(events.c.game_id)
        )
    }
    query = (
        sa.select(
            games.c.id,
            games.c.game_type_id,
            games.c.outcome,
            games.c.winning_side,
            games.c.finished_at,
            players.c.seat,
            players.c.agent_id,
            players.c.side,
            players.c.rank,
            players.c.reward,
        )
        .select_from(games.join(players, players.c.game_id == games.c.id))
        .where(*counts_for_ratings(games))
        .order_by(games.c.id, players.c.seat)
    )
    if game_type_id is not None:
        query = query.where(games.c.game_type_id == game_type_id)
    history: list[RatedGame] = []
    order: list[tuple[Any, ...]] = []
    current = -1
    seats: list[Seat] = []
    for game_id, game_type_id, outcome, winning_side, finished_at, *seat in conn.execute(query):
        if game_id != current:
            current, seats = game_id, []
            history.append(RatedGame(game_id, game_type_id, outcome, winning_side, seats))
            first = first_event.get(game_id)
            # Equal flags compare equal before the values are compared: None is never ordered.
            order.append((first is None, first, finished_at is None, finished_at, game_id))
        seats.append(Seat(*seat))
    ranked = sorted(range(len(history)), key=order.__getitem__)
    return [history[i] for i in ranked]
