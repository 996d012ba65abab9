"""Output options declared once (arenadb/cli/options.py) and honoured the same in both positions.

`arenadb --json CMD` and `arenadb CMD --json` (and `--csv`) must behave alike for every command;
a command that cannot render a format refuses it, exit 2, one line, in both positions.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

from typer.testing import CliRunner

from arenadb import events as ev
from arenadb.cli import app
from arenadb.cli.app import COMMANDS, load_command
from arenadb.cli.options import formats_of, leaf_commands
from arenadb.db import session_scope
from arenadb.social import conversations as cv
from arenadb.social import knowledge as kn

runner = CliRunner()

# Arguments a command needs to get past its parser; {out} is a fresh path per invocation.
ARGUMENTS: dict[tuple[str, ...], list[str]] = {
    ("game", "info"): ["1"],
    ("game", "replay"): ["1", "--no-pager"],
    ("agent", "info"): ["1"],
    ("events", "show"): ["1"],
    ("events", "retry"): ["--failed"],
    ("conversation", "show"): ["1"],
    ("migrate", "down"): ["base"],
    ("seed",): ["--env", "test"],
    ("export",): ["-o", "{out}.jsonl"],
    ("import",): ["{empty}"],
    ("copy",): ["--to", "sqlite:///{out}.db"],
    ("clean",): ["--before", "90d", "--dry-run"],
    ("backup",): ["{out}.bak"],
    ("ratings", "rebuild"): ["--yes"],
    ("ratings", "compare"): ["1", "2"],
    ("models", "prices", "set"): ["model-a", "--input", "1", "--from", "2026-01-01"],
}


def every_command() -> dict[tuple[str, ...], object]:
    paths: dict[tuple[str, ...], object] = {}
    for name in COMMANDS:
        paths.update(dict(leaf_commands(load_command(name), (name,))))
    return paths


def run(url: str, *args: str):
    return runner.invoke(app, ["--database-url", url, *args])


def _shape(fmt: str, stdout: str):
    """What must agree between the two positions (values may not: timings, seed state)."""
    if fmt == "json":
        data = json.loads(stdout)
        return type(data).__name__, sorted(data) if isinstance(data, dict) else None
    header = stdout.splitlines()[0] if stdout else ""
    assert "│" not in stdout and "┃" not in stdout, stdout  # not a Rich table
    return header


def test_every_command_honours_format_flags_alike_in_both_positions(db_settings, tmp_path):
    url = db_settings.database_url
    assert run(url, "seed", "--env", "test").exit_code == 0
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    counter = iter(range(10_000))
    rendered: dict[str, list[tuple[str, ...]]] = {"json": [], "csv": []}
    refused: dict[str, list[tuple[str, ...]]] = {"json": [], "csv": []}
    paths = every_command()
    assert len(paths) > 30
    for path, command in paths.items():
        supported = formats_of(command)
        for fmt in ("json", "csv"):

            def args(extra: list[str] = ARGUMENTS.get(path, [])) -> list[str]:
                out = str(tmp_path / f"out{next(counter)}")
                return [a.replace("{out}", out).replace("{empty}", str(empty)) for a in extra]

            before = run(url, f"--{fmt}", *path, *args())
            after = run(url, *path, *args(), f"--{fmt}")
            where = f"arenadb {' '.join(path)} --{fmt}"
            assert before.exit_code == after.exit_code, (where, before.output, after.output)
            if fmt not in supported:
                refused[fmt].append(path)
                assert before.exit_code == 2, (where, before.output)
                assert before.stderr == after.stderr, where
                assert before.stderr.strip().splitlines() == [
                    f"error: arenadb {' '.join(path)} cannot print {fmt.upper()} (--{fmt})"
                ]
                assert before.stdout == after.stdout == ""
                continue
            if before.exit_code == 0:
                rendered[fmt].append(path)
                assert _shape(fmt, before.stdout) == _shape(fmt, after.stdout), where
    # Not vacuous: most commands rendered, and the known cases are where they belong.
    assert ("migrate", "status") in rendered["json"] and ("migrate", "status") in refused["csv"]
    assert ("games", "list") in rendered["csv"] and ("games", "list") in rendered["json"]
    assert ("game", "info") in rendered["csv"] and ("events", "list") in rendered["csv"]
    assert ("init",) in refused["json"] and ("db", "drop") in refused["json"]
    assert len(rendered["json"]) >= 20 and len(rendered["csv"]) >= 8


def test_the_reported_case_migrate_status_csv(cli_env):
    # Was: `arenadb --csv migrate status` printed text (exit 0); `migrate status --csv` exit 2.
    for args in (["--csv", "migrate", "status"], ["migrate", "status", "--csv"]):
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 2, result.output
        assert result.stderr == "error: arenadb migrate status cannot print CSV (--csv)\n"
    for args in (["--json", "migrate", "status"], ["migrate", "status", "--json"]):
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["status"] == "up_to_date"


def test_json_and_csv_together_is_a_usage_error_in_any_position(cli_env):
    for args in (
        ["--json", "--csv", "games", "list"],
        ["--json", "games", "list", "--csv"],
        ["games", "list", "--json", "--csv"],
    ):
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr == "error: --json and --csv cannot be used together\n"


LISTS = [
    ["games", "list"],
    ["agents", "list"],
    ["agents", "top"],
    ["models", "stats"],
    ["events", "list"],
    ["engines", "list"],
    ["conversations", "list"],
    ["knowledge", "list"],
]


def _csv(stdout: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(stdout))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _fill(engine) -> None:
    """One of everything the list commands show, besides what `seed --env test` writes."""
    with session_scope(engine, write=True) as session:
        ev.ensure_event_types(session, ev.read_event_types())
        ev.enqueue_events(session, [ev.NewEvent("system.tick", {"tick": 1})])
        cv.create_conversation(session, title="Day 1", participants=[1, 2])
        kn.bulk_upsert_knowledge_chunks(
            session, [{"source": "rules", "external_id": "day", "content": "Discuss."}]
        )
    ev.register_engine(engine, "worker", now=datetime.now(timezone.utc) - timedelta(hours=1))


def test_csv_header_is_the_same_for_an_empty_and_a_full_result(db_settings, engine):
    url = db_settings.database_url
    empty_headers = {}
    for command in LISTS:
        result = run(url, *command, "--csv")
        assert result.exit_code == 0, (command, result.output)
        header, rows = _csv(result.stdout)
        assert rows == [], command
        empty_headers[tuple(command)] = header
    assert run(url, "seed", "--env", "test").exit_code == 0
    assert run(url, "ratings", "rebuild", "--yes").exit_code == 0
    _fill(engine)
    for command in LISTS:
        result = run(url, *command, "--csv")
        assert result.exit_code == 0, (command, result.output)
        header, rows = _csv(result.stdout)
        assert rows, command
        assert header == empty_headers[tuple(command)], command
        assert len(header) == len(set(header)), command


def test_csv_booleans_are_true_and_false(db_settings, engine):
    url = db_settings.database_url
    assert run(url, "seed", "--env", "test").exit_code == 0
    _fill(engine)
    _header, agents = _csv(run(url, "agents", "list", "--csv").stdout)
    assert {a["active"] for a in agents} == {"true"}
    _header, engines = _csv(run(url, "engines", "list", "--csv").stdout)
    assert [e["stale"] for e in engines] == ["true"]
    _header, games = _csv(run(url, "games", "list", "--csv").stdout)
    assert {g["crashed"] for g in games} <= {"true", "false"} and games


def test_engines_list_shows_a_stale_engine_as_plain_text_in_every_format(db_settings, engine):
    url = db_settings.database_url
    ev.register_engine(engine, "worker", now=datetime.now(timezone.utc) - timedelta(hours=1))
    table = run(url, "engines", "list")
    assert table.exit_code == 0, table.output
    assert "[" not in table.stdout and "[/]" not in table.stdout, table.stdout
    assert re.search(r"│ active \(stale\) +│", table.stdout), table.stdout
    data = json.loads(run(url, "engines", "list", "--json").stdout)
    assert [(e["status"], e["stale"]) for e in data] == [("active", True)]
    _header, rows = _csv(run(url, "--csv", "engines", "list").stdout)
    assert [(e["status"], e["stale"]) for e in rows] == [("active", "true")]


SHARED = ("--json", "--csv", "--limit", "--offset", "--yes", "--force", "--since", "--until")


def test_shared_options_are_declared_once():
    # Declared once in cli/options.py: every command that has one has the same flags and help.
    seen: dict[str, set[tuple[tuple[str, ...], str]]] = {flag: set() for flag in SHARED}
    users: dict[str, int] = dict.fromkeys(SHARED, 0)
    for command in every_command().values():
        for param in command.params:
            for flag in SHARED:
                if flag in param.opts and not getattr(param, "hidden", False):
                    seen[flag].add((tuple(param.opts + param.secondary_opts), param.help))
                    users[flag] += 1
    for flag in SHARED:
        assert users[flag] >= 2, flag
        assert len(seen[flag]) == 1, (flag, seen[flag])
