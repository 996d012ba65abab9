"""Unknown intervals (issue 17's defect): a pool with one or a few games used to get zero-width
bootstrap intervals ("1195 to 1195" for the demo's one FourX game), so a one-game agent got a
tier. Below `interval_games` games, or when the bootstrap is degenerate, the interval is
unknown: no tier of its own, provisional, listed after the ranked agents, not counted in the
tiers of the others. Both backends."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import arenadb
from arenadb import SeatResult
from arenadb.cli import app
from arenadb.models import GameType
from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import bradley_terry_boards
from arenadb.ratings.head_to_head import compare_agents
from arenadb.seeding.seeder import seed_database
from tests.support.skill_arena import register_agents

runner = CliRunner()


def duel(arena, a, b, *, first_wins=True, env_id="Duel-v0"):
    ranks = (1, 2) if first_wins else (2, 1)
    arena.start_game(env_id, [a, b]).finish(
        outcome="win", results={0: SeatResult(rank=ranks[0]), 1: SeatResult(rank=ranks[1])}
    )


def test_the_demo_fourx_game_has_unknown_intervals_and_no_tier(engine, db_settings):
    seed_database(db_settings, "demo")
    (board,) = bradley_terry_boards(engine, game_type="FourX-v0", rounds=100)
    assert board.games == 1 and len(board.rows) == 2
    for row in board.rows:
        assert row.ci_low is None and row.ci_high is None, row  # was 1195 to 1195
        assert row.rank is None and row.provisional
    assert board.rows[0].rating > board.rows[1].rating  # the point estimate stays
    (term,) = board.sides.terms  # the seat term of one game cannot be estimated either
    assert term.ci_low is None and term.ci_high is None
    # Even when the minimum is lowered to one game, one game is a degenerate bootstrap.
    (board,) = bradley_terry_boards(engine, game_type="FourX-v0", rounds=100, interval_games=1)
    assert all(r.ci_low is None and r.rank is None for r in board.rows)
    assert board.sides.terms[0].ci_low is None

    def top(*extra):
        args = ["--database-url", db_settings.database_url, "agents", "top", "-g", "FourX-v0"]
        result = runner.invoke(app, [*args, "--rounds", "50", *extra], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.stdout

    table = top()
    assert "unknown" in table and "1195 to 1195" not in table
    assert "│ ?" in table and "? = interval unknown" in table
    report = json.loads(top("--json"))
    assert [(r["rank"], r["ci_low"], r["ci_high"]) for r in report["rows"]] == [(None,) * 3] * 2
    assert report["interval_games"] == 5 and report["sides"]["terms"][0]["ci_low"] is None
    rows = list(csv.DictReader(io.StringIO(top("--csv"))))
    assert [(r["rank"], r["ci_low"], r["ci_high"]) for r in rows] == [("", "", "")] * 2
    assert all(r["provisional"] == "true" for r in rows)


@pytest.fixture
def arena(db_settings):
    with arenadb.connect(settings=db_settings, pooled=False) as arena:
        arena.register_game_type("Duel-v0", min_seats=2, max_seats=2)
        yield arena


def test_a_few_games_agent_has_no_tier_and_is_not_counted_in_the_others(engine, arena):
    strong, middle, weak, newcomer = register_agents(arena, 4, "few")
    for i in range(24):  # strong beats weak 5 times in 6; middle is in between
        duel(arena, strong, weak, first_wins=i % 6 != 0)
        duel(arena, strong, middle, first_wins=i % 3 != 0)
        duel(arena, middle, weak, first_wins=i % 3 != 0)
    duel(arena, newcomer, strong)  # two lucky wins
    duel(arena, newcomer, strong)
    (board,) = bradley_terry_boards(engine, game_type="Duel-v0", rounds=200)
    rows = {r.agent_id: r for r in board.rows}
    new = rows[newcomer]
    assert new.games == 2 and new.rank is None and new.ci_low is None and new.provisional
    assert board.rows[-1].agent_id == newcomer  # listed after every ranked agent
    assert new.rating > rows[weak].rating  # though its point estimate is above some of them
    ranked = [r for r in board.rows if r.rank is not None]
    assert {r.agent_id for r in ranked} == {strong, middle, weak}
    expected = bt.tier_ranks([bt.Interval(r.rating, r.ci_low, r.ci_high) for r in ranked])
    assert [r.rank for r in ranked] == expected  # the newcomer counts in no one's tier
    assert all(r.ci_low < r.rating < r.ci_high for r in ranked)
    # `ratings compare` follows the same rule: the newcomer's 2 wins give no interval.
    duel_of_two = compare_agents(engine, newcomer, strong, rounds=200)
    assert duel_of_two.games == 2 and duel_of_two.probability > 0.5
    assert duel_of_two.ci_low is None and duel_of_two.ci_high is None
    assert not duel_of_two.significant
    known = compare_agents(engine, strong, weak, rounds=200)
    assert known.ci_low is not None and known.ci_low < known.probability < known.ci_high
    lowered = compare_agents(engine, newcomer, strong, rounds=200, interval_games=2)
    assert lowered.ci_low is not None
    # The minimum is a setting: per call, then per game type (like provisional_games).
    (board,) = bradley_terry_boards(engine, game_type="Duel-v0", rounds=200, interval_games=2)
    rows = {r.agent_id: r for r in board.rows}
    assert rows[newcomer].rank is not None and rows[newcomer].ci_low is not None
    assert board.interval_games == 2
    with arena.session(write=True) as session:
        game_type = session.execute(sa.select(GameType).where(GameType.env_id == "Duel-v0"))
        game_type.scalar_one().config = {"interval_games": 100}
    (board,) = bradley_terry_boards(engine, game_type="Duel-v0", rounds=50)
    assert board.interval_games == 100
    assert all(r.rank is None and r.ci_low is None and r.provisional for r in board.rows)
    assert board.sides.terms[0].ci_low is None  # the seat term: < 100 games too


def test_is_identified_rejects_zero_width_and_non_finite_intervals():
    assert not bt.is_identified(bt.Interval(1195.0, 1195.0, 1195.0))
    assert not bt.is_identified(bt.Interval(1000.0, float("nan"), 1010.0))
    assert bt.is_identified(bt.Interval(1000.0, 990.0, 1010.0))
    assert bt.tier_ranks([bt.Interval(0, 10, 20), None, bt.Interval(0, 0, 5)]) == [1, None, 2]
