"""`arenadb agent info` shows the agent's LLM usage per game type and in total, read from the
seat rollup: calls, tokens, cost with the CLI's money rule; its JSON too; both backends."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import arenadb
from arenadb import SeatResult
from arenadb.cli import app
from arenadb.inspection.usage import agent_usage
from tests.support.skill_arena import register_agents

runner = CliRunner()


def _game(arena, env_id, agents, costs, *, tokens=(100, 10)):
    recorder = arena.start_game(env_id, agents)
    for seat, cost in enumerate(costs):
        if cost != "none":
            recorder.record_llm_call(
                seat=seat,
                cost=cost,
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                turn_seq=None,
            )
    recorder.record_llm_call(seat=None, cost=9.0, input_tokens=999, turn_seq=None)  # no agent's
    recorder.finish(outcome="win", results={0: SeatResult(rank=1), 1: SeatResult(rank=2)})


@pytest.fixture
def usage_arena(db_settings):
    with arenadb.connect(settings=db_settings, pooled=False) as arena:
        for env_id in ("Duel-v0", "Other-v0"):
            arena.register_game_type(env_id, min_seats=2, max_seats=2)
        a, b, c = register_agents(arena, 3, "use")
        _game(arena, "Duel-v0", [a, b], [0.25, 0.125])
        _game(arena, "Duel-v0", [b, a], [0.125, 0.5], tokens=(50, 5))
        _game(arena, "Other-v0", [a, c], [None, "none"])  # a: unpriced; c: no call at all
        yield arena, (a, b, c)


def test_agent_usage_per_game_type_and_in_total(usage_arena):
    arena, (a, _b, c) = usage_arena
    with arena.engine.connect() as conn:
        per_type, total = agent_usage(conn, a)
        c_types, c_total = agent_usage(conn, c)
    duel, other = per_type
    assert (duel.game_type, duel.games, duel.calls) == ("Duel-v0", 2, 2)
    assert (duel.input_tokens, duel.output_tokens) == (150, 15)
    assert duel.cost == pytest.approx(0.75) and duel.cost_complete
    assert (other.calls, other.cost, other.cost_complete) == (1, None, False)
    assert (total.game_type, total.games, total.calls, total.input_tokens) == (None, 3, 3, 250)
    assert total.cost == pytest.approx(0.75) and not total.cost_complete
    assert [(u.game_type, u.games, u.calls, u.cost) for u in c_types] == [("Other-v0", 1, 0, None)]
    assert not c_total.cost_complete and c_total.logged_games == 0


def test_agent_info_shows_the_usage_table_and_json(usage_arena, db_settings):
    _arena, _agents = usage_arena
    env = {"ARENADB_DATABASE_URL": db_settings.database_url, "COLUMNS": "200"}
    result = runner.invoke(app, ["agent", "info", "use-0"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stdout[result.stdout.index("LLM usage") :].splitlines()
    duel = next(line for line in lines if "Duel-v0" in line)
    assert "$0.7500" in duel and "≥" not in duel and "150" in duel
    other = next(line for line in lines if "Other-v0" in line)
    assert "unknown" in other
    every = next(line for line in lines if "(all)" in line)
    assert "≥ $0.7500" in every and "250" in every

    result = runner.invoke(app, ["agent", "info", "use-2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    profile = json.loads(result.stdout)
    assert profile["usage"] == [
        {
            "calls": 0,
            "errors": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "reasoning_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "game_type": "Other-v0",
            "games": 1,
            "logged_games": 0,
            "cost": None,
            "cost_unknown": 0,
            "cost_complete": False,
        }
    ]
    assert profile["usage_total"]["game_type"] is None and profile["usage_total"]["games"] == 1
