"""The unified cross-game board (`agents top --unified`), Kaggle Game Arena style: one
Bradley-Terry fit over every game type, each type's games weighted 1 / its game count, so a
type with many games does not dominate. Planted skills, both backends."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

import arenadb
from arenadb.cli import app
from arenadb.errors import RefusedError
from arenadb.ratings import bradley_terry as bt
from arenadb.ratings.board import bradley_terry_boards, load_pools
from arenadb.ratings.unified import unified_board
from tests.support.skill_arena import duel_arena, register_agents, team_arena

runner = CliRunner()


def ratings(board) -> dict[int, float]:
    return {r.agent_id: r.rating for r in board.rows}


def test_every_game_type_weighs_the_same_whatever_its_game_count(engine, db_settings):
    # The same three agents; Many-v0 (400 games) plants the order 0 > 1 > 2, Few-v0 (100
    # games) the reverse with the same gaps. Weighted equally, the types cancel out; weighted
    # by their game counts (one pooled fit), Many-v0 would win 4 to 1.
    skills = [1.5, 0.0, -1.5]
    many = duel_arena(db_settings, skills, 400, seed=3, env_id="Many-v0", prefix="u")
    few = duel_arena(db_settings, skills[::-1], 100, seed=4, env_id="Few-v0", prefix="u")
    assert many.agent_ids == few.agent_ids  # the same agents in both types
    first, _, last = many.agent_ids
    boards = {b.game_type: b for b in bradley_terry_boards(engine, rounds=100)}
    per_type = ratings(boards["Many-v0"])
    assert per_type[first] - per_type[last] > 350  # ~520 planted
    board = unified_board(engine, rounds=200, seed=2)
    assert board.unified and board.game_type == "unified" and board.games == 500
    assert "Kaggle Game Arena" in board.label and "weighted equally" in board.label
    weights = {w.game_type: w for w in board.game_types}
    assert (weights["Many-v0"].games, weights["Few-v0"].games) == (400, 100)
    # Each type's games weigh 1 / its count (times a common factor: the mean count, 250).
    assert weights["Many-v0"].weight == pytest.approx(250 / 400)
    assert weights["Few-v0"].weight == pytest.approx(250 / 100)
    unified = ratings(board)
    assert abs(unified[first] - unified[last]) < 150
    # A pooled fit with every game weighted once (what the unified board must not be) keeps
    # most of Many-v0's order: the fit of both types' games as one type.
    pooled_gap = _pooled_gap(engine, first, last)
    assert pooled_gap > 200 and abs(unified[first] - unified[last]) < pooled_gap / 2
    # Every row is an agent over all types; side terms stay per type, each its own reference.
    assert sum(r.games for r in board.rows) == 2 * 500
    assert {(t.side, t.reference) for t in board.sides.terms} == {
        ("Many-v0: seat 1", "Many-v0: seat 0"),
        ("Few-v0: seat 1", "Few-v0: seat 0"),
    }
    assert board.sides.reference is None
    _check_cli(db_settings, first)


def _pooled_gap(engine, first: int, last: int) -> float:
    """The Elo gap of one fit of both types' comparisons, every game weighted once."""
    with engine.connect() as conn:
        pools = load_pools(conn, None)
    comparisons, offset = [], 0
    for pool in pools:
        comparisons += [replace(c, game=c.game + offset) for c in pool.comparisons]
        offset += pool.games
    table = bt.collapse(comparisons, offset)
    fit = bt.fit(table)
    theta = dict(zip(table.agents, fit.theta, strict=True))
    return bt.ELO_SCALE * float(theta[first] - theta[last])


def _check_cli(db_settings, first: int) -> None:
    def top(*extra):
        args = ["--database-url", db_settings.database_url, "agents", "top", "--unified"]
        return runner.invoke(app, [*args, "--rounds", "20", *extra], env={"COLUMNS": "200"})

    table = top()
    assert table.exit_code == 0, table.output
    assert "unified cross-game board, Kaggle Game Arena style" in table.stdout
    assert "Many-v0: 400 games, weight 0.625 a game" in table.stdout
    report = json.loads(top("--json").stdout)
    assert report["unified"] is True and report["game_type"] == "unified"
    assert "Kaggle Game Arena" in report["label"] and len(report["game_types"]) == 2
    assert {"rank", "agent_id", "rating", "ci_low", "ci_high", "provisional"} <= set(
        report["rows"][0]
    )
    rows = list(csv.DictReader(io.StringIO(top("--csv").stdout)))
    assert {r["game_type"] for r in rows} == {"unified"}
    assert all("Kaggle Game Arena" in r["board"] for r in rows)
    per_type = runner.invoke(
        app, ["--database-url", db_settings.database_url, "agents", "top", "--csv"]
    )
    assert {r["board"] for r in csv.DictReader(io.StringIO(per_type.stdout))} == {"per game type"}
    refused = top("-g", "Many-v0")
    assert refused.exit_code == 2 and "--unified" in refused.stderr


def test_types_whose_agents_never_meet_get_no_unified_board(engine, db_settings):
    duel_arena(db_settings, [0.5, 0.0, -0.5], 20, seed=1, env_id="One-v0", prefix="one")
    duel_arena(db_settings, [0.5, 0.0, -0.5], 20, seed=2, env_id="Two-v0", prefix="two")
    with pytest.raises(RefusedError, match="2 groups that never meet"):
        unified_board(engine, rounds=10)
    result = runner.invoke(
        app, ["--database-url", db_settings.database_url, "agents", "top", "--unified"]
    )
    assert result.exit_code == 1 and "never meet" in result.stderr
    assert "Traceback" not in result.output
    with arenadb.connect(settings=db_settings, pooled=False) as arena:
        (bridge,) = register_agents(arena, 1, "bridge")
        for env_id, opponent in (("One-v0", "one-0"), ("Two-v0", "two-0")):
            for _ in range(3):
                arena.start_game(env_id, [bridge, _agent_id(db_settings, opponent)]).finish(
                    outcome="draw"
                )
    board = unified_board(engine, rounds=10)  # one agent in both types joins the groups
    assert len(board.rows) == 7


def _agent_id(db_settings, alias: str) -> int:
    from arenadb.catalog.refs import resolve_agent_id
    from arenadb.db import create_engine

    engine = create_engine(db_settings, pooled=False)
    try:
        with engine.connect() as conn:
            return resolve_agent_id(conn, alias)
    finally:
        engine.dispose()


def test_consistent_skills_are_recovered_across_types(engine, db_settings):
    skills = list(np.linspace(-1.2, 1.2, 6))
    truth = duel_arena(db_settings, skills, 300, seed=8, env_id="Duel-v0", prefix="c")
    team_arena(db_settings, skills, 120, seed=9, small_side_advantage=0.4, prefix="c")
    board = unified_board(engine, rounds=100, seed=1)
    fitted = ratings(board)
    assert _spearman([fitted[a] for a in truth.agent_ids], skills) >= 0.9
    mafia = next(t for t in board.sides.terms if t.side.startswith("Teams-v0"))
    assert mafia.reference == "Teams-v0: mafia" and mafia.side == "Teams-v0: village"
    assert mafia.ci_low is not None and mafia.rating < 0  # the planted mafia edge


def _spearman(x, y) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])
