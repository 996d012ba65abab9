"""`arenadb ratings rebuild`, `arenadb agents top` and `arenadb agent info` end to end."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.cli.commands.agents import sparkline
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
    assert info["agent_id"] == agents[0] and info["model"] == "agent-model-0"
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


def test_sparkline():
    assert sparkline([]) == ""
    assert sparkline([1, 2, 3]) == "▁▅█"
    assert sparkline([5, 5]) == "▁▁"
    assert len(sparkline(list(range(500)), width=40)) == 40
