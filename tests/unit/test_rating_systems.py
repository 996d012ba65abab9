"""The rating math: teams, ranks and side weights of a game, and the team-size bias they fix.

No database here: these are the adapters over `trueskill` and `openskill`.
"""

from __future__ import annotations

import pytest
import trueskill

from arenadb.errors import InvalidArgumentError, InvalidDataError
from arenadb.ratings.systems import Seat, build_match, check_systems, rating_system

VILLAGE_VS_MAFIA = [Seat(i, 100 + i, "village") for i in range(4)] + [
    Seat(4 + i, 200 + i, "mafia") for i in range(2)
]


def deltas(system_name: str, winning_side: str) -> tuple[float, float]:
    """Per-player mu change of (villagers, mafia) when `winning_side` wins from fresh ratings."""
    system = rating_system(system_name)
    match = build_match(1, "win", winning_side, VILLAGE_VS_MAFIA)
    assert match is not None
    before = [[system.initial() for _ in team] for team in match.teams]
    after = system.rate(before, match.ranks, match.weights)
    village = [a[0] - b[0] for a, b in zip(after[0], before[0], strict=True)]
    mafia = [a[0] - b[0] for a, b in zip(after[1], before[1], strict=True)]
    # Players of one side move alike (up to rounding in the factor graph).
    assert max(village) - min(village) < 1e-9 and max(mafia) - min(mafia) < 1e-9
    return village[0], mafia[0]


def test_plain_trueskill_is_biased_by_team_size():
    """What the weighting fixes: 4 villagers look twice as strong as 2 mafia to plain TrueSkill."""
    env = trueskill.TrueSkill()
    village = [env.create_rating() for _ in range(4)]
    mafia = [env.create_rating() for _ in range(2)]
    village_win = env.rate([village, mafia], ranks=[0, 1])
    mafia_win = env.rate([village, mafia], ranks=[1, 0])
    village_win_move = village_win[0][0].mu - 25
    mafia_win_move = mafia_win[1][0].mu - 25
    assert abs(village_win_move) < 0.5  # an "expected" villager win barely moves anyone
    assert mafia_win_move > 7  # a mafia win swings mafia by ~8 mu
    assert mafia_win_move / village_win_move > 20


@pytest.mark.parametrize("system", ["trueskill", "openskill"])
def test_weighted_4v2_moves_both_sides_comparably(system):
    village_up, mafia_down = deltas(system, "village")
    village_down, mafia_up = deltas(system, "mafia")
    # Signs: winners gain, losers lose.
    assert village_up > 0 > mafia_down and mafia_up > 0 > village_down
    # Either result moves the ratings by the same amount: no side is "expected" to win.
    assert village_up == pytest.approx(-village_down, rel=1e-6)
    assert mafia_up == pytest.approx(-mafia_down, rel=1e-6)
    # Both sides move comparably: per player within a factor 2 (a villager carries half the
    # weight of a mafioso), and as whole sides by the same total.
    ratio = abs(mafia_up) / abs(village_down)
    assert 1 / 2.0001 <= ratio <= 2.0001
    assert 4 * village_up == pytest.approx(-2 * mafia_down, rel=0.05)
    # And far from the unweighted extremes (~0.13 vs ~7.9 in TrueSkill).
    assert abs(village_up) > 1 and abs(mafia_up) < 5


def test_openskill_plain_equal_teams_match_the_library_exactly():
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    system = rating_system("openskill")
    ours = system.rate([[(25.0, 8.0)], [(27.0, 6.0)]], [1, 2], [1.0, 1.0])
    theirs = model.rate(
        [[model.rating(mu=25.0, sigma=8.0)], [model.rating(mu=27.0, sigma=6.0)]], ranks=[1, 2]
    )
    assert ours == [
        [(theirs[0][0].mu, theirs[0][0].sigma)],
        [(theirs[1][0].mu, theirs[1][0].sigma)],
    ]


def test_free_for_all_by_rank_then_reward():
    seats = [Seat(0, 1, rank=3), Seat(1, 2, rank=1), Seat(2, 3, rank=2)]
    match = build_match(1, "win", None, seats)
    assert match is not None
    assert match.ranks == (3, 1, 2) and match.weights == (1.0, 1.0, 1.0)
    assert match.results == ("loss", "win", "loss")
    by_reward = [Seat(0, 1, reward=1.0), Seat(1, 2, reward=5.0), Seat(2, 3, reward=1.0)]
    match = build_match(1, "win", None, by_reward)
    assert match is not None and match.ranks == (2, 1, 2)


def test_draws_tie_every_team_and_shared_first_place_is_a_draw():
    match = build_match(1, "draw", None, VILLAGE_VS_MAFIA)
    assert match is not None and match.ranks == (1, 1) and match.results == ("draw", "draw")
    tied = [Seat(0, 1, reward=2.0), Seat(1, 2, reward=2.0), Seat(2, 3, reward=0.0)]
    match = build_match(1, "win", None, tied)
    assert match is not None and match.results == ("draw", "draw", "loss")


def test_unrateable_games():
    assert build_match(1, "win", "village", VILLAGE_VS_MAFIA[:4]) is None  # one team only
    with pytest.raises(InvalidDataError, match="game 7"):
        build_match(7, "win", None, [Seat(0, 1), Seat(1, 2)])
    with pytest.raises(InvalidArgumentError):
        check_systems(["elo"])


def test_an_agent_in_several_seats_never_moves():
    """Issue 17 reverses the old rule (an agent in several seats moved once, by the mean of
    its seats): an agent playing itself learns nothing, so it does not move at all; the other
    agents of the game are rated as usual."""
    from arenadb.ratings.replay import RatedGame, RatingBook

    seats = [Seat(0, 1, rank=1), Seat(1, 2, rank=2), Seat(2, 1, rank=3)]
    book = RatingBook()
    changes = book.apply(RatedGame(5, 9, "win", None, seats), ["trueskill"], [None])
    assert [(c.agent_id, c.seat, c.result) for c in changes] == [(2, 1, "loss")]
    assert book.states[("trueskill", None, 1)].games == 0
    assert book.states[("trueskill", None, 2)].sigma < 25 / 3  # it learned from the game
    # Pure self-play (one agent in both seats of a 1v1) changes nothing at all.
    selfplay = [Seat(0, 7, rank=1), Seat(1, 7, rank=2)]
    assert (
        book.apply(RatedGame(6, 9, "win", None, selfplay), ["trueskill", "openskill"], [None]) == []
    )


def test_shared_first_place_is_a_draw_or_a_win_per_game_type():
    tied = [Seat(0, 1, rank=1), Seat(1, 2, rank=1), Seat(2, 3, rank=2)]
    assert build_match(1, "win", None, tied).results == ("draw", "draw", "loss")
    assert build_match(1, "win", None, tied, "win").results == ("win", "win", "loss")
    assert build_match(1, "draw", None, tied, "win").results == ("draw", "draw", "draw")
    from arenadb.errors import InvalidDataError as Invalid
    from arenadb.ratings.systems import shared_first_setting

    assert shared_first_setting(None) == "draw" and shared_first_setting({"shared_first": "win"})
    with pytest.raises(Invalid, match="shared_first"):
        shared_first_setting({"shared_first": "both"})
