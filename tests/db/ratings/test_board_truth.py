"""The Bradley-Terry board against the truth: synthetic arenas with known skills, recorded
through the public API, on both backends."""

from __future__ import annotations

import math

import numpy as np

from arenadb.ratings.board import bradley_terry_boards
from arenadb.ratings.bradley_terry import ELO_BASE, ELO_SCALE
from tests.support.skill_arena import duel_arena, team_arena


def spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def test_duels_recover_the_true_order_and_the_intervals_cover_the_truth(engine, db_settings):
    skills = list(np.linspace(-1.5, 1.5, 12))
    # No draws here: draws that do not depend on skill are not the model's (they shrink the
    # fitted spread), and coverage is measured against the model's own truth.
    truth = duel_arena(db_settings, skills, 1000, seed=5, seat_advantage=0.5)
    (board,) = bradley_terry_boards(engine, game_type="Duel-v0", rounds=300, seed=1)
    by_agent = {r.agent_id: r for r in board.rows}
    assert set(by_agent) == set(truth.agent_ids)
    assert all(r.games > 120 for r in board.rows)  # ~170 games per agent
    fitted = [by_agent[a].rating for a in truth.agent_ids]
    assert spearman(fitted, skills) >= 0.9
    # Coverage: the true skill on the Elo scale, centred like the ratings (mean 1000).
    centred = [ELO_BASE + ELO_SCALE * (s - float(np.mean(skills))) for s in skills]
    covered = [
        by_agent[a].ci_low <= t <= by_agent[a].ci_high
        for a, t in zip(truth.agent_ids, centred, strict=True)
    ]
    assert sum(covered) >= 10  # ~95% of 12 (95.6% over 15 simulated arenas of this shape)
    # The planted seat advantage (seat 0: +0.5 logit) is recovered, with its interval.
    (term,) = board.sides.terms
    assert board.sides.reference == "seat 0" and term.side == "seat 1"
    assert term.ci_low <= -0.5 * ELO_SCALE <= term.ci_high and term.ci_high < 0
    assert term.win_probability < 0.5
    # Tiers: the best agent's rank is 1, the worst is ranked below several others, and a rank
    # is 1 + the number of agents whose interval lies wholly above.
    best, worst = by_agent[truth.agent_ids[-1]], by_agent[truth.agent_ids[0]]
    assert best.rank == 1 and worst.rank > 5
    for row in board.rows:
        assert row.rank == 1 + sum(other.ci_low > row.ci_high for other in board.rows)
    assert board.bootstrap == "refit" and board.rounds == 300 and board.seed == 1


def test_equal_skill_side_only_agents_are_equal_and_the_side_term_is_recovered(engine, db_settings):
    only = ["mafia"] * 3 + ["village"] * 3 + [None] * 8
    planted = 0.8  # mafia (the small side) wins 69% between equal agents
    truth = team_arena(
        db_settings, [0.0] * 14, 700, seed=3, small_side_advantage=planted, only=only
    )
    (board,) = bradley_terry_boards(engine, game_type="Teams-v0", rounds=300, seed=2)
    assert board.sides.reference == "mafia"
    (village,) = board.sides.terms
    assert village.ci_low <= -planted * ELO_SCALE <= village.ci_high and village.ci_high < 0
    assert math.isclose(village.win_probability, 1 - 0.69, abs_tol=0.06)
    # Every agent's interval overlaps every other's: one tier, mafia-only agents do not lead.
    assert {r.rank for r in board.rows} == {1}
    ratings = {r.agent_id: r.rating for r in board.rows}
    mafia_only = np.mean([ratings[a] for a in truth.agent_ids[:3]])
    village_only = np.mean([ratings[a] for a in truth.agent_ids[3:6]])
    assert abs(mafia_only - village_only) < 60  # Elo points; the confounded gap is ~140
