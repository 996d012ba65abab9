"""The Bradley-Terry statistics without a database: reduction, collapse, fit, bootstrap, tiers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import reduce_games
from arenadb.ratings.replay import RatedGame
from arenadb.ratings.systems import Seat


def test_team_games_reduce_to_opponent_pairs_weighted_once_per_game():
    seats = [Seat(i, 10 + i, "village" if i < 4 else "mafia") for i in range(6)]
    duel = [Seat(0, 10, None, 1), Seat(1, 11, None, 2)]
    games = [RatedGame(1, 1, "win", "mafia", seats), RatedGame(2, 1, "win", None, duel)]
    comparisons, records, game_ids = reduce_games(games, "draw")
    assert game_ids == [1, 2]
    team = [c for c in comparisons if c.game == 0]
    assert len(team) == 8 and all(c.weight == pytest.approx(1 / 8) for c in team)
    assert sum(c.weight for c in comparisons) == pytest.approx(2)  # each game counts once
    assert all(c.score == 0.0 and c.side_a == "village" and c.side_b == "mafia" for c in team)
    (single,) = [c for c in comparisons if c.game == 1]
    assert (single.side_a, single.side_b, single.score, single.weight) == ("seat 0", "seat 1", 1, 1)
    assert records[14].wins == 1 and records[10].losses == 1 and records[10].wins == 1
    # A draw is half a win for everyone; an agent seated twice is left out of the game.
    drawn = RatedGame(3, 1, "draw", None, [Seat(0, 1), Seat(1, 2), Seat(2, 1)])
    comparisons, records, _ = reduce_games([drawn], "draw")
    assert comparisons == [] and records == {}  # agent 2's only opponent was agent 1
    drawn = RatedGame(4, 1, "draw", None, [Seat(0, 1), Seat(1, 2), Seat(2, 3)])
    comparisons, records, _ = reduce_games([drawn], "draw")
    assert {c.score for c in comparisons} == {0.5} and len(comparisons) == 3
    assert all(r.draws == 1 and r.games == 1 for r in records.values())


def test_collapse_merges_mirrored_rows_and_keeps_game_weights():
    rows = [
        bt.Comparison(0, 5, "seat 0", 7, "seat 1", 1.0, 1.0),
        bt.Comparison(1, 7, "seat 1", 5, "seat 0", 0.0, 1.0),  # the same result, mirrored
        bt.Comparison(2, 5, "seat 0", 7, "seat 1", 0.5, 1.0),
    ]
    table = bt.collapse(rows, 3)
    assert table.agents == (5, 7) and len(table.score) == 2
    assert sorted(table.weights.tolist()) == [1.0, 2.0]
    assert table.by_game.shape == (2, 3)


def synthetic(games=1500, agents=10, seed=0, seat=0.4):
    rng = random.Random(seed)
    skills = np.linspace(-1, 1, agents)
    rows = []
    for g in range(games):
        i, j = rng.sample(range(agents), 2)
        p = 1 / (1 + math.exp(-(skills[i] - skills[j] + seat)))
        rows.append(bt.Comparison(g, i, "seat 0", j, "seat 1", float(rng.random() < p), 1.0))
    return bt.collapse(rows, games), skills


def test_fit_recovers_skills_and_seat_term_on_the_elo_scale():
    table, skills = synthetic(games=4000)
    fitted = bt.fit(table)
    assert np.allclose(fitted.theta, skills - skills.mean(), atol=0.15)
    assert fitted.side[0] == 0 and fitted.side[1] == pytest.approx(-0.4, abs=0.1)
    assert bt.win_probability(0) == 0.5 and bt.win_probability(400) == pytest.approx(10 / 11)


def test_bootstrap_is_seeded_and_the_linearised_rounds_match_refits():
    table, _ = synthetic()
    one = bt.bootstrap(table, rounds=100, seed=3)
    assert one.refit  # small table: every round refitted
    assert bt.bootstrap(table, rounds=100, seed=3).ratings == one.ratings
    assert bt.bootstrap(table, rounds=100, seed=4).ratings != one.ratings
    linear = bt.bootstrap(table, rounds=100, seed=3, refit=False)
    assert not linear.refit
    # The same resampled games: one Newton step lands close to the refitted optimum.
    gap = np.abs(linear.draws - one.draws)  # Elo points; the intervals span ~150
    assert gap.mean() < 3 and gap.max() < 25
    for exact, approx in zip(one.ratings, linear.ratings, strict=True):
        assert exact.estimate == approx.estimate
        assert abs(exact.low - approx.low) < 10 and abs(exact.high - approx.high) < 10
        assert exact.low < exact.estimate < exact.high


def test_tier_ranks_count_agents_wholly_above():
    tiers = bt.tier_ranks(
        [
            bt.Interval(1200, 1150, 1250),
            bt.Interval(1190, 1140, 1240),  # overlaps the first: shares rank 1
            bt.Interval(1000, 950, 1100),  # below both
            bt.Interval(900, 880, 1145),  # overlaps the second only
        ]
    )
    assert tiers == [1, 1, 3, 2]
