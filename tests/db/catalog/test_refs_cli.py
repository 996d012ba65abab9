"""Every command that takes a reference takes every form of it, with the same result.

On the demo database (`arenadb seed --env demo`), per backend: a game type named by id, env id,
name and name in another case; an agent by id, alias and alias in another case; a model by id,
name and LiteLLM name; a game by id, UUID (two spellings) and a UUID prefix. For each command
that takes that kind of reference, every form must give the output of the first one; an
unknown reference is one "not found" line with exit 1 everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine, drop_database
from arenadb.models import Agent, Game, GameType, LLMModel
from tests.conftest import BACKENDS, _skip_without_pg

runner = CliRunner()


@dataclass
class Demo:
    settings: Settings
    forms: dict[str, list[str]]  # kind -> every spelling of one row of that kind


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        _skip_without_pg()
    return request.param


@pytest.fixture(scope="module")
def demo(backend: str, _templates, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if backend == "sqlite":
        settings = _templates.sqlite(Path(tmp_path_factory.mktemp("demo")) / "demo.db")
    else:
        settings = _templates.postgresql()
    try:
        seeded = runner.invoke(
            app, ["--database-url", settings.database_url, "seed", "--env", "demo"]
        )
        assert seeded.exit_code == 0, seeded.output
        engine = create_engine(settings)
        with engine.connect() as conn:
            mafia = conn.execute(
                sa.select(GameType.id, GameType.env_id, GameType.name).where(
                    GameType.env_id == "SecretMafia-v0"
                )
            ).one()
            agent = conn.execute(sa.select(Agent.id).where(Agent.alias == "gpt41-cot")).one()
            model = conn.execute(
                sa.select(LLMModel.id, LLMModel.litellm_name).where(LLMModel.name == "gpt-4.1")
            ).one()
            uuids = [u.hex for u in conn.execute(sa.select(Game.uuid)).scalars()]
            game_id, game_uuid = conn.execute(
                sa.select(Game.id, Game.uuid).where(Game.game_type_id == mafia.id).order_by(Game.id)
            ).first()
        engine.dispose()
        # The shortest prefix (from 8 characters) that names this game alone.
        length = next(
            n for n in range(8, 33) if sum(u.startswith(game_uuid.hex[:n]) for u in uuids) == 1
        )
        forms = {
            "game_type": [str(mafia.id), mafia.env_id, mafia.name, mafia.name.lower()],
            "agent": [str(agent.id), "gpt41-cot", "GPT41-COT"],
            "model": [str(model.id), "gpt-4.1", model.litellm_name],
            "game": [str(game_id), str(game_uuid), game_uuid.hex.upper(), game_uuid.hex[:length]],
        }
        yield Demo(settings, forms)
    finally:
        if backend == "postgresql":
            drop_database(settings, missing_ok=True)


def _ids(stdout: str) -> Any:
    return [row["id"] for row in json.loads(stdout)]


def _export_uuids(stdout: str) -> Any:
    records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    return [r["uuid"] for r in records if r["type"] == "game"]


def _without(*keys: str) -> Callable[[str], Any]:
    def read(stdout: str) -> Any:
        data = json.loads(stdout)
        for key in keys:
            data.pop(key, None)
        return data

    return read


# (kind, command with {} for the reference, how to read the output)
COMMANDS: list[tuple[str, list[str], Callable[[str], Any]]] = [
    ("game_type", ["games", "list", "--type", "{}", "--limit", "500", "--json"], _ids),
    ("game_type", ["export", "--type", "{}"], _export_uuids),
    ("game_type", ["agents", "top", "--game-type", "{}", "--json"], json.loads),
    (
        "game_type",
        ["ratings", "rebuild", "--game-type", "{}", "--yes", "--json"],
        _without("seconds"),
    ),
    ("agent", ["games", "list", "--agent", "{}", "--limit", "500", "--json"], _ids),
    ("agent", ["export", "--agent", "{}"], _export_uuids),
    ("agent", ["agent", "info", "{}", "--json"], json.loads),
    ("agent", ["conversations", "list", "--agent", "{}", "--json"], json.loads),
    ("model", ["games", "list", "--model", "{}", "--limit", "500", "--json"], _ids),
    ("model", ["export", "--model", "{}"], _export_uuids),
    ("model", ["agents", "list", "--model", "{}", "--json"], _ids),
    ("game", ["game", "info", "{}", "--json"], json.loads),
    ("game", ["game", "replay", "{}", "--json"], json.loads),
    ("game", ["events", "list", "--game", "{}", "--json"], json.loads),
    ("game", ["conversations", "list", "--game", "{}", "--json"], json.loads),
]
# What the demo certainly has: these must not be empty (the others may be, and must agree).
NOT_EMPTY = {"games", "export", "agents", "agent", "game"}
UNKNOWN = {"game_type": "Chess-v0", "agent": "nobody", "model": "o3-pro", "game": "fedcba98"}
LABEL = {"game_type": "game type", "agent": "agent", "model": "model", "game": "game"}


def _run(demo: Demo, command: list[str], ref: str):
    args = [ref if part == "{}" else part for part in command]
    return runner.invoke(app, ["--database-url", demo.settings.database_url, *args])


@pytest.mark.parametrize(
    ("kind", "command", "read"), COMMANDS, ids=[" ".join(c[1][:3]) for c in COMMANDS]
)
def test_every_reference_form_gives_the_same_result(
    demo: Demo, kind: str, command: list[str], read: Callable[[str], Any]
) -> None:
    results = {}
    for ref in demo.forms[kind]:
        result = _run(demo, command, ref)
        assert result.exit_code == 0, (ref, result.output)
        results[ref] = read(result.stdout)
    first = demo.forms[kind][0]
    for ref, value in results.items():
        assert value == results[first], (ref, first)
    if command[0] in NOT_EMPTY:
        assert results[first], command


@pytest.mark.parametrize(
    ("kind", "command", "read"), COMMANDS, ids=[" ".join(c[1][:3]) for c in COMMANDS]
)
def test_an_unknown_reference_is_not_found_everywhere(
    demo: Demo, kind: str, command: list[str], read: Callable[[str], Any]
) -> None:
    result = _run(demo, command, UNKNOWN[kind])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == f"error: {LABEL[kind]} {UNKNOWN[kind]} not found\n"


@pytest.mark.parametrize(
    "command", [c[1] for c in COMMANDS if c[0] == "game"], ids=lambda c: " ".join(c[:2])
)
def test_an_ambiguous_game_prefix_is_refused_everywhere(demo: Demo, command: list[str]) -> None:
    prefix = demo.forms["game"][1][0]  # one character: shared by many of 159 games
    result = _run(demo, command, prefix)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: game prefix {prefix} is ambiguous: it matches ")
    assert result.stderr.count(", ") >= 4  # a few candidates are named


def test_a_malformed_game_reference_is_a_usage_error(demo: Demo) -> None:
    for command in [c[1] for c in COMMANDS if c[0] == "game"]:
        result = _run(demo, command, "xyz!")
        assert result.exit_code == 2, (command, result.output)
        assert "is not a game id or uuid" in result.stderr


def test_games_list_and_export_select_the_same_games_with_the_same_filter(demo: Demo) -> None:
    filters = [
        ["--status", "completed"],
        ["--type", "Secret Mafia", "--status", "completed"],
        ["--agent", "gpt41-cot", "--since", "2026-01-01"],
        ["--model", "gpt-4.1", "--until", "2026-10-04"],
        ["--type", "FourX-v0", "--agent", "GPT41-4X"],
    ]
    for options in filters:
        listed = _run(demo, ["games", "list", *options, "--limit", "1000", "--json"], "")
        exported = _run(demo, ["export", *options], "")
        assert listed.exit_code == 0 and exported.exit_code == 0, (options, listed.output)
        list_uuids = sorted(row["uuid"] for row in json.loads(listed.stdout))
        assert list_uuids, options
        assert sorted(_export_uuids(exported.stdout)) == list_uuids, options


def test_the_library_names_no_flag_and_the_cli_adds_it(demo: Demo) -> None:
    from arenadb.errors import InvalidArgumentError
    from arenadb.portability.upkeep import check_categories

    with pytest.raises(InvalidArgumentError) as info:
        check_categories(["payloads"])
    assert "--" not in str(info.value)
    result = _run(demo, ["clean", "--before", "30d", "--what", "payloads", "--dry-run"], "")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: unknown retention category 'payloads'")
    assert result.stderr.rstrip().endswith("(see --what)")
