"""The log readers and `arenadb logs system|execution`, on both backends."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from arenadb import events as ev
from arenadb.cli import app
from arenadb.db import session_scope
from arenadb.errors import InvalidArgumentError, NotFoundError
from arenadb.inspection.logs import read_execution_logs, read_system_logs
from arenadb.models.events import ExecutionLog
from arenadb.social.system_logs import write_system_log
from tests.support.social_helpers import make_agents, make_game

runner = CliRunner()
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture
def logs(engine):
    """5 system logs (one per level, an hour apart), 3 execution logs; the ids they refer to."""
    engine_id = ev.register_engine(engine, "actor", name="logger").id
    with session_scope(engine, write=True) as s:
        agent = make_agents(s, ["alpha"])["alpha"]
        game, other = make_game(s), make_game(s)
        for i, level in enumerate(("debug", "info", "warning", "error", "critical")):
            log = write_system_log(
                s,
                f"system {level}",
                level=level,
                component="runner" if i % 2 == 0 else "matchmaker",
                game_id=game if level != "info" else other,
                agent_id=agent if level in ("error", "critical") else None,
                context={"i": i},
            )
            log.created_at = T0 + timedelta(hours=i)
        for i, level in enumerate(("info", "error", "info")):
            s.add(
                ExecutionLog(
                    level=level,
                    message=f"step {i}",
                    game_id=game,
                    engine_id=engine_id if i < 2 else None,
                    data={"step": i},
                    created_at=T0 + timedelta(hours=i),
                )
            )
    return {"agent": agent, "game": game, "other": other, "engine": engine_id}


def test_read_system_logs_filters_and_pages(engine, logs):
    def messages(**kw):
        return [r.message for r in read_system_logs(engine, **kw)]

    assert messages() == [f"system {x}" for x in ("critical", "error", "warning", "info", "debug")]
    assert messages(min_level="error") == ["system critical", "system error"]
    assert messages(agent="alpha") == ["system critical", "system error"]
    assert messages(game=logs["other"]) == ["system info"]
    assert messages(component="matchmaker") == ["system error", "system info"]
    assert messages(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [
        "system warning",
        "system info",
    ]
    assert messages(limit=2, offset=1) == ["system error", "system warning"]
    row = read_system_logs(engine, limit=1)[0]
    assert row.context == {"i": 4} and row.agent_id == logs["agent"]
    with pytest.raises(InvalidArgumentError, match="unknown log level"):
        read_system_logs(engine, min_level="loud")
    with pytest.raises(NotFoundError, match="agent nobody not found"):
        read_system_logs(engine, agent="nobody")
    with pytest.raises(InvalidArgumentError, match="limit"):
        read_system_logs(engine, limit=0)


def test_read_execution_logs_filters_and_pages(engine, logs):
    def messages(**kw):
        return [r.message for r in read_execution_logs(engine, **kw)]

    assert messages() == ["step 2", "step 1", "step 0"]
    assert messages(min_level="error") == ["step 1"]
    assert messages(engine_id=str(logs["engine"])) == ["step 1", "step 0"]
    assert messages(game=logs["game"], since=T0 + timedelta(minutes=30)) == ["step 2", "step 1"]
    assert messages(game=logs["other"]) == []
    assert read_execution_logs(engine, limit=1)[0].data == {"step": 2}
    with pytest.raises(InvalidArgumentError, match="not an engine id"):
        read_execution_logs(engine, engine_id="xyz")
    with pytest.raises(NotFoundError, match="game 999 not found"):
        read_execution_logs(engine, game=999)


def run(cli_env, *args):
    return runner.invoke(app, list(args), env=cli_env)


def test_logs_system_cli_table_json_csv(cli_env, logs):
    table = run(cli_env, "logs", "system", "--level", "warning", "--agent", "alpha")
    assert table.exit_code == 0, table.output
    assert "system critical" in table.stdout and "system warning" not in table.stdout
    as_json = run(cli_env, "logs", "system", "--json", "--since", "2026-03-01T02:00", "-n", "2")
    assert as_json.exit_code == 0, as_json.output
    rows = json.loads(as_json.stdout)
    assert [r["level"] for r in rows] == ["critical", "error"]
    assert rows[0]["context"] == {"i": 4} and rows[0]["game_id"] == logs["game"]
    as_csv = run(cli_env, "--csv", "logs", "system", "--component", "matchmaker", "--offset", "1")
    assert as_csv.exit_code == 0, as_csv.output
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["message"] for r in parsed] == ["system info"]
    empty = run(
        cli_env, "logs", "system", "--csv", "--level", "critical", "--agent", "1", "--offset", "5"
    )
    assert empty.stdout.splitlines()[0] == as_csv.stdout.splitlines()[0]  # the same header


def test_logs_execution_cli(cli_env, logs):
    result = run(cli_env, "logs", "execution", "--json", "--engine", str(logs["engine"]))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["message"] for r in rows] == ["step 1", "step 0"]
    assert rows[0]["engine_id"] == str(logs["engine"]) and rows[0]["data"] == {"step": 1}
    until = run(cli_env, "logs", "execution", "--until", "2026-03-01T01:00", "--json")
    assert [r["message"] for r in json.loads(until.stdout)] == ["step 0"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["logs", "system", "--level", "loud"], 2, "unknown log level 'loud'"),
        (["logs", "execution", "--engine", "xyz"], 2, "is not an engine id"),
        (["logs", "system", "--game", "999"], 1, "game 999 not found"),
        (["logs", "system", "--since", "99999999999999d"], 2, "out of range"),
        (["logs", "execution", "--agent", "alpha"], 2, "no such option: --agent"),
    ],
)
def test_logs_bad_input_is_one_line(cli_env, logs, args, code, message):
    result = run(cli_env, *args)
    assert result.exit_code == code, result.output
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr
