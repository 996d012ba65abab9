"""`arenadb ratings rebuild`, `arenadb agents top` and `arenadb agent info` end to end."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from tests.support.imports import imported_by
from tests.support.ratings_factory import (
    MAFIA_SIDES,
    finish_and_rate,
    make_agents,
    make_game,
    make_game_types,
    ratings_snapshot,
)

runner = CliRunner()


def run(settings, *args):
    return runner.invoke(app, ["--database-url", settings.database_url, *args])


@pytest.fixture
def played(engine):
    """Agent 1 wins all its 3 blotto games; a mafia game; agent 8 never plays."""
    agents = make_agents(engine, 8)
    types = make_game_types(engine)
    for opponent in agents[1:4]:
        game_id = make_game(engine, types["ColonelBlotto-v0"], [agents[0], opponent])
        finish_and_rate(engine, game_id, ranks={0: 1, 1: 2})
    game_id = make_game(engine, types["SecretMafia-v0"], agents[1:7], sides=MAFIA_SIDES)
    finish_and_rate(engine, game_id, winning_side="mafia")
    return agents, types


def test_agents_top_json_ranks_by_conservative_score(db_settings, played):
    agents, _ = played
    result = run(db_settings, "agents", "top", "--method", "trueskill", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {"agent_id", "mu", "sigma", "score", "games", "wins", "win_rate"} <= set(rows[0])
    assert rows[0]["agent_id"] == agents[0] and rows[0]["games"] == 3 and rows[0]["wins"] == 3
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(r["score"] == pytest.approx(r["mu"] - 3 * r["sigma"]) for r in rows)
    assert agents[7] not in {r["agent_id"] for r in rows}  # no games, no rating
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_agents_top_filters(db_settings, played):
    agents, _ = played
    result = run(db_settings, "agents", "top", "-s", "trueskill", "--min-games", "2", "--json")
    assert {r["agent_id"] for r in json.loads(result.stdout)} == set(agents[:4])
    result = run(db_settings, "agents", "top", "-s", "trueskill", "--min-games", "3", "--json")
    assert [r["agent_id"] for r in json.loads(result.stdout)] == [agents[0]]
    result = run(db_settings, "--json", "agents", "top", "--limit", "2", "--system", "openskill")
    assert len(json.loads(result.stdout)) == 2
    result = run(
        db_settings, "agents", "top", "-s", "trueskill", "--game-type", "SecretMafia-v0", "--json"
    )
    rows = json.loads(result.stdout)
    assert len(rows) == 6 and all(r["games"] == 1 for r in rows)
    assert {r["agent_id"] for r in rows[:2]} == {agents[5], agents[6]}  # the winning mafia
    result = run(db_settings, "agents", "top", "-s", "trueskill", "--csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert table[0]["agent_id"] == str(agents[0]) and "score" in table[0]
    wide = runner.invoke(
        app,
        ["--database-url", db_settings.database_url, "agents", "top", "-s", "trueskill"],
        env={"COLUMNS": "160"},
    )
    assert wide.exit_code == 0 and "agent-model-0" in wide.stdout and "mu - 3σ" in wide.stdout


def test_agents_top_errors(db_settings, played):
    result = run(db_settings, "agents", "top", "--game-type", "Chess-v0")
    assert result.exit_code == 1 and "game type Chess-v0 not found" in result.stderr
    result = run(db_settings, "agents", "top", "--system", "elo")
    assert result.exit_code == 2 and "unknown rating system" in result.stderr


def test_agent_info(db_settings, played):
    agents, _ = played
    result = run(db_settings, "agent", "info", str(agents[0]), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["id"] == agents[0] and info["model"] == "agent-model-0"
    assert info["kind"] == "agent-kind" and info["prompt_content"] == "You are agent."
    assert {(r["system"], r["game_type"]) for r in info["ratings"]} == {
        ("trueskill", None),
        ("trueskill", "ColonelBlotto-v0"),
        ("openskill", None),
        ("openskill", "ColonelBlotto-v0"),
    }
    assert len(info["trajectory"]) == 3 and info["trajectory"] == sorted(info["trajectory"])
    assert [g["game_id"] for g in info["recent_games"]] == [3, 2, 1]
    assert all(g["delta_mu"] > 0 for g in info["recent_games"])

    result = run(db_settings, "agent", "info", str(agents[0]))
    assert result.exit_code == 0, result.output
    assert "agent-kind" in result.stdout and "3 games" in result.stdout
    result = run(db_settings, "agent", "info", str(agents[0]), "--csv")
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 4

    result = run(db_settings, "agent", "info", "999")
    assert result.exit_code == 1 and "agent 999 not found" in result.stderr


def test_ratings_rebuild_asks_then_rebuilds(engine, db_settings, played):
    before = ratings_snapshot(engine)
    result = run(db_settings, "ratings", "rebuild")
    assert result.exit_code == 1 and "pass --yes" in result.stderr
    result = run(db_settings, "ratings", "rebuild", "--yes")
    assert result.exit_code == 0, result.output
    assert "4 games" in result.stderr and result.stdout == ""
    assert ratings_snapshot(engine) == before
    result = run(db_settings, "--json", "ratings", "rebuild", "-y", "-s", "trueskill", "-g", "2")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["systems"] == ["trueskill"] and report["game_type_id"] == 2
    assert report["games"] == 3 and report["events"] == 6
    assert ratings_snapshot(engine) == before


def test_agents_top_is_the_bradley_terry_board_per_game_type(db_settings, played):
    agents, _ = played
    result = run(db_settings, "agents", "top", "--json", "--rounds", "50")
    assert result.exit_code == 0, result.output
    boards = json.loads(result.stdout)
    assert [b["game_type"] for b in boards] == ["ColonelBlotto-v0", "SecretMafia-v0"]
    blotto = boards[0]
    assert blotto["method"] == "bradley-terry" and blotto["rounds"] == 50 and blotto["seed"] == 17
    row = blotto["rows"][0]
    keys = {"rank", "agent_id", "alias", "rating", "ci_low", "ci_high", "games", "win_rate"}
    assert keys | {"provisional"} <= set(row)
    assert row["agent_id"] == agents[0] and row["games"] == 3 and row["win_rate"] == 1.0
    # 3 games: below interval_games (5), so the interval is unknown and there is no tier.
    assert row["provisional"] and row["ci_low"] is None and row["ci_high"] is None
    assert row["rank"] is None and blotto["interval_games"] == 5
    assert blotto["sides"]["reference"] == "seat 0"
    assert [t["side"] for t in blotto["sides"]["terms"]] == ["seat 1"]
    assert "sides" not in row  # the side term once per board, not per row
    mafia = boards[1]
    assert mafia["sides"]["reference"] == "mafia" and len(mafia["rows"]) == 6

    result = run(db_settings, "agents", "top", "-g", "SecretMafia-v0", "--json", "--rounds", "20")
    board = json.loads(result.stdout)
    assert (
        board["game_type"] == "SecretMafia-v0" and board["sides"]["terms"][0]["side"] == "village"
    )
    again = json.loads(
        run(db_settings, "agents", "top", "-g", "SecretMafia-v0", "--json", "--rounds", "20").stdout
    )
    assert again == board  # seeded: the same board twice

    result = run(db_settings, "agents", "top", "--csv", "--rounds", "20")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["game_type"] for r in table} == {"ColonelBlotto-v0", "SecretMafia-v0"}
    assert {"rank", "agent_id", "rating", "ci_low", "ci_high", "provisional"} <= set(table[0])

    wide = runner.invoke(
        app,
        ["--database-url", db_settings.database_url, "agents", "top", "--rounds", "20"],
        env={"COLUMNS": "200"},
    )
    assert wide.exit_code == 0, wide.output
    assert "ColonelBlotto-v0: Bradley-Terry, 3 games" in wide.stdout
    assert "provisional" in wide.stdout and "95% CI" in wide.stdout
    assert "side term: village" in wide.stdout and "seed 17" in wide.stdout
    assert "unknown" in wide.stdout  # no LLM calls logged: cost unknown, not $0


def test_agents_top_serves_a_stored_board_without_scipy(db_settings, played):
    # scipy is the fit's; a stored board is read back without importing it (a cold start).
    stored = run(db_settings, "ratings", "boards", "--rounds", "20")
    assert stored.exit_code == 0, stored.output
    argv = ["agents", "top", "--rounds", "20"]
    assert imported_by(db_settings.database_url, argv, ["scipy", "alembic"]) == []
    assert imported_by(db_settings.database_url, [*argv, "--seed", "3"], ["scipy"]) == ["scipy"]


def test_ratings_compare_and_matrix(db_settings, played):
    agents, _ = played
    compare = ("ratings", "compare", "--rounds", "50")
    result = run(db_settings, *compare, str(agents[0]), str(agents[1]), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["game_type"] == "ColonelBlotto-v0"  # the only type both played
    assert (report["games"], report["a_wins"], report["b_wins"]) == (1, 1, 0)
    # One game between them (3 and 1 games in all): the interval is unknown, as on the board.
    assert report["ci_low"] is None and report["ci_high"] is None
    assert report["probability"] > 0.5 and report["significant"] is False
    result = run(db_settings, *compare, str(agents[0]), str(agents[1]))
    assert result.exit_code == 0 and "P(A beats B)" in result.stdout
    assert "unknown: too few games" in result.stdout
    result = run(db_settings, *compare, str(agents[1]), str(agents[2]))
    assert result.exit_code == 2 and "several game types" in result.stderr  # name one
    result = run(db_settings, *compare, str(agents[0]), "999")
    assert result.exit_code == 1 and "agent 999 not found" in result.stderr

    result = run(db_settings, "ratings", "matrix", "-g", "ColonelBlotto-v0", "--json")
    cells = json.loads(result.stdout)
    assert len(cells) == 6  # 3 pairs, both ways
    first = next(c for c in cells if c["agent_a_id"] == agents[0] and c["agent_b_id"] == agents[1])
    assert first["games"] == 1 and first["wins"] == 1 and first["win_rate"] == 1.0
    result = run(db_settings, "ratings", "matrix", "--csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(table) == 6 + 2 * 4 * 2  # mafia: 4 villagers x 2 mafia opponents, both ways
    assert {"agent_a_id", "agent_b_id", "games", "win_rate"} <= set(table[0])
    result = run(db_settings, "ratings", "matrix")
    assert result.exit_code == 0 and "win rate" in result.stdout
