"""Seed files are validated before anything is written; every error names the file and place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from arenadb.errors import InvalidArgumentError, InvalidDataError
from arenadb.resources import seeds_dir
from arenadb.seeding.files import known_environments, load_seed


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    shutil.copytree(seeds_dir(), root)
    return root


def test_shipped_environments_load():
    assert {"demo", "development", "test"} <= set(known_environments())
    demo = load_seed("demo")
    assert len(demo.rows("models")) >= 6
    assert len({m["provider"] for m in demo.rows("models")}) >= 4
    assert len(demo.rows("agents")) >= 12
    names = [p["name"] for p in demo.rows("prompts")]
    assert len(names) > len(set(names)), "the demo must include a forked prompt"
    mafia = [g for g in demo.rows("generate") if g["game"] == "secret_mafia"]
    assert sum(g["games"] for g in mafia if not g.get("crash") and not g.get("running")) >= 100
    development = load_seed("development")
    assert len(development.rows("agents")) >= 15


def test_unknown_environment_lists_known_ones(seeds):
    with pytest.raises(InvalidArgumentError) as info:
        load_seed("staging", root=seeds)
    assert "unknown seed environment 'staging'" in str(info.value)
    assert "demo" in str(info.value) and "test" in str(info.value)


def _break(seeds: Path, old: str, new: str) -> Path:
    path = seeds / "test" / "arena.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "place"),
    [
        ('name = "model-a"', "name = ", "(at line 10, column 8)"),
        ('name = "model-a"', 'name = "model-a"\nprice = 3', "models[0].price: unknown key"),
        ('model = "model-a"', 'model = "model-z"', "agents[0].model: unknown model 'model-z'"),
        ("prompt_version = 1", "prompt_version = 7", "agents[0].prompt_version"),
        ("games = 3", 'games = "three"', "generate[0].games: must be an integer"),
        ('game = "colonel_blotto"', 'game = "chess"', "generate[0].game: unknown generator"),
        ("input_price_per_mtok = 1.0", "input_price_per_mtok = true", "must be a number"),
        ("random_seed = 1", "", "[seed]: missing required key 'random_seed'"),
        # TOML has nan and inf; JSON (and so arenadb) has finite numbers only.
        ('alias = "a2"', 'alias = "a2"\nconfig = { t = nan }', "agents[1].config.t: nan is not"),
        ("input_price_per_mtok = 1.0", "input_price_per_mtok = inf", "models[0].input_price_per"),
    ],
)
def test_broken_files_name_file_and_place(seeds, old, new, place):
    path = _break(seeds, old, new)
    with pytest.raises(InvalidDataError) as info:
        load_seed("test", root=seeds)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert place in message, message


def _generator_cases() -> list[tuple[str, int, str]]:
    from arenadb.seeding.generators import GENERATORS

    cases = []
    for name, generator in GENERATORS.items():
        cases.append((name, generator.min_agents - 1, f"{name} needs at least"))
        cases.append((name, generator.min_agents, ""))
        if generator.max_agents is not None:
            cases.append((name, generator.max_agents + 1, f"{name} seats at most"))
    return cases


@pytest.mark.parametrize(("game", "agents", "refused"), _generator_cases())
def test_every_generator_is_checked_by_its_own_agent_counts(seeds, game, agents, refused):
    """The seed check and `generate` read one registry (GENERATORS): a block's agents are
    checked against the counts its generator declares."""
    aliases = ", ".join(f'"{a}"' for a in ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "b4"][:agents])
    block = (
        f'\n[[generate]]\ngame = "{game}"\ngame_type = "SecretMafia-v0"\ngames = 1\n'
        f"agents = [{aliases}]\n"
    )
    path = seeds / "test" / "arena.toml"
    path.write_text(path.read_text() + block)
    if not refused:
        load_seed("test", root=seeds)
        return
    with pytest.raises(InvalidDataError) as info:
        load_seed("test", root=seeds)
    assert refused in str(info.value)


def test_generate_plays_every_registered_generator():
    import random
    import uuid
    from datetime import datetime, timezone

    from arenadb.seeding.generators import GENERATORS, SeedAgent, generate

    agents = [SeedAgent(f"a{i}", i, 1, "m", "basic", None, 1.0, 2.0, "p") for i in range(1, 9)]
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for name, generator in GENERATORS.items():
        spec = {"game": name, "agents": [a.alias for a in agents[: generator.min_agents]]}
        game = generate(
            spec,
            random.Random(1),
            agents[: generator.min_agents],
            start,
            uuid.uuid4(),
            game_type_id=1,
        )
        assert len(game.seats) >= 2 and game.turns, name
