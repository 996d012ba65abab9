"""Seed files: find, parse and validate them before anything is written.

Format: TOML, one folder per environment under `seeds/` (`seeds/demo/arena.toml`, ...), plus
`seeds/common/` loaded for every environment. TOML because people edit these files: it has
comments, multi-line strings for prompts, real datetimes, and a parser in the standard library
(Python 3.11+; `tomli` on 3.10) that reports the line and column of a syntax error.

Every problem is reported as `FILE: PLACE: what is wrong`, and nothing is written until every
file of the environment has been read and checked.
"""

from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from arenadb.errors import InvalidArgumentError, InvalidDataError
from arenadb.resources import seeds_dir
from arenadb.seeding.generators import GENERATORS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

COMMON = "common"

_STR, _INT, _NUM, _BOOL, _LIST, _TABLE = str, int, (int, float), bool, list, dict
# section -> {key: (type, required)}
SCHEMA: dict[str, dict[str, tuple[Any, bool]]] = {
    "seed": {
        "version": (_INT, True),
        "description": (_STR, False),
        "random_seed": (_INT, True),
        "start_time": (datetime, True),
    },
    "models": {
        "name": (_STR, True),
        "provider": (_STR, False),
        "litellm_name": (_STR, False),
        "input_price_per_mtok": (_NUM, False),
        "output_price_per_mtok": (_NUM, False),
        "active": (_BOOL, False),
    },
    "kinds": {"name": (_STR, True), "description": (_STR, False), "active": (_BOOL, False)},
    "prompts": {"name": (_STR, True), "content": (_STR, True), "active": (_BOOL, False)},
    "agents": {
        "alias": (_STR, True),
        "kind": (_STR, True),
        "model": (_STR, True),
        "prompt": (_STR, True),
        "prompt_version": (_INT, False),
        "class": (_STR, False),
        "config": (_TABLE, False),
        "active": (_BOOL, False),
    },
    "game_types": {
        "env_id": (_STR, True),
        "name": (_STR, False),
        "description": (_STR, False),
        "min_seats": (_INT, False),
        "max_seats": (_INT, False),
        "sides": (_LIST, False),
        "roles": (_LIST, False),
        "config": (_TABLE, False),
    },
    "generate": {
        "game": (_STR, True),
        "game_type": (_STR, True),
        "games": (_INT, True),
        "agents": (_LIST, True),
        "rounds": (_LIST, False),
        "turns": (_INT, False),
        "snapshot_every": (_INT, False),
        "crash": (_BOOL, False),
        "running": (_BOOL, False),
    },
}
ARENA_SECTIONS = tuple(SCHEMA)


@dataclass
class SeedFile:
    path: Path
    data: dict[str, Any]


@dataclass
class SeedData:
    """Everything one environment's files say, validated."""

    env: str
    files: list[SeedFile]
    seed: dict[str, Any]
    sections: dict[str, list[tuple[SeedFile, int, dict[str, Any]]]] = field(default_factory=dict)
    extra: dict[str, list[tuple[SeedFile, Any]]] = field(default_factory=dict)
    checksum: str = ""

    def rows(self, section: str) -> list[dict[str, Any]]:
        return [row for _, _, row in self.sections.get(section, [])]


def known_environments(root: Path | None = None) -> list[str]:
    root = root or seeds_dir()
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.name != COMMON and any(p.glob("*.toml"))
    )


def _fail(path: Path, place: str, problem: str) -> InvalidDataError:
    return InvalidDataError(f"{path}: {place}: {problem}")


def _type_name(expected: Any) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}
    names.update({dict: "a table", datetime: "a date-time"})
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, str(expected))


def _check_row(file: SeedFile, section: str, index: int, row: Any) -> None:
    place = f"{section}[{index}]" if section != "seed" else "[seed]"
    if not isinstance(row, dict):
        raise _fail(file.path, place, "must be a table")
    schema = SCHEMA[section]
    for key, value in row.items():
        if key not in schema:
            known = ", ".join(schema)
            raise _fail(file.path, f"{place}.{key}", f"unknown key (known: {known})")
        expected = schema[key][0]
        # bool is a subclass of int in Python: keep true/false out of numeric fields.
        if isinstance(value, bool) and expected is not bool:
            raise _fail(file.path, f"{place}.{key}", f"must be {_type_name(expected)}")
        if not isinstance(value, expected):
            raise _fail(file.path, f"{place}.{key}", f"must be {_type_name(expected)}")
    for key, (_, required) in schema.items():
        if required and key not in row:
            raise _fail(file.path, place, f"missing required key {key!r}")


def _check_finite(path: Path, value: Any, place: str) -> None:
    """TOML has nan and inf; seed values end up in JSON columns and numeric ones, where the one
    JSON policy allows finite numbers only (arenadb.db.json): refused here, before writing."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(path, place or "(top level)", f"{value!r} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(path, item, f"{place}.{key}" if place else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(path, item, f"{place}[{index}]")


def load_seed(env: str, root: Path | None = None) -> SeedData:
    """Read and validate every TOML file of `env` (and `common/`); raise before writing."""
    root = root or seeds_dir()
    known = known_environments(root)
    if env not in known:
        raise InvalidArgumentError(f"unknown seed environment {env!r}; known: {', '.join(known)}")
    paths = sorted((root / COMMON).glob("*.toml")) + sorted((root / env).glob("*.toml"))
    files: list[SeedFile] = []
    digest = hashlib.sha256()
    for path in paths:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + raw)
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise _fail(path, f"byte {exc.start}", "not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidDataError(f"{path}: {exc}") from None
        _check_finite(path, data, "")
        files.append(SeedFile(path, data))

    seed_blocks = [(f, f.data["seed"]) for f in files if "seed" in f.data]
    if not seed_blocks:
        raise InvalidArgumentError(f"seed environment {env!r} has no [seed] table in {root / env}")
    seed_file, seed = seed_blocks[-1]
    _check_row(seed_file, "seed", 0, seed)
    start = seed["start_time"]
    if start.tzinfo is None:
        seed["start_time"] = start.replace(tzinfo=timezone.utc)

    result = SeedData(env, files, seed, checksum=digest.hexdigest())
    for file in files:
        for section, value in file.data.items():
            if section == "seed":
                continue
            if section not in SCHEMA:
                # Sections owned by other loaders (social, event types, ...) are kept as read.
                result.extra.setdefault(section, []).append((file, value))
                continue
            if not isinstance(value, list):
                raise _fail(file.path, section, "must be an array of tables ([[" + section + "]])")
            for index, row in enumerate(value):
                _check_row(file, section, index, row)
                result.sections.setdefault(section, []).append((file, index, row))
    _check_references(result)
    return result


def _check_references(data: SeedData) -> None:
    def names(section: str, key: str) -> set[str]:
        seen: set[str] = set()
        for file, index, row in data.sections.get(section, []):
            if row[key] in seen and section != "prompts":
                raise _fail(file.path, f"{section}[{index}].{key}", f"duplicate {row[key]!r}")
            seen.add(row[key])
        return seen

    models, kinds = names("models", "name"), names("kinds", "name")
    game_types, aliases = names("game_types", "env_id"), names("agents", "alias")
    versions: dict[str, int] = {}
    for _, _, row in data.sections.get("prompts", []):
        versions[row["name"]] = versions.get(row["name"], 0) + 1
    for file, index, row in data.sections.get("agents", []):
        place = f"agents[{index}]"
        for ref, known in (("kind", kinds), ("model", models), ("prompt", set(versions))):
            if row[ref] not in known:
                raise _fail(file.path, f"{place}.{ref}", f"unknown {ref} {row[ref]!r}")
        version = row.get("prompt_version")
        if version is not None and not 1 <= version <= versions[row["prompt"]]:
            raise _fail(
                file.path,
                f"{place}.prompt_version",
                f"prompt {row['prompt']!r} has versions 1..{versions[row['prompt']]}",
            )
    for file, index, row in data.sections.get("generate", []):
        place = f"generate[{index}]"
        if row["game"] not in GENERATORS:
            choices = ", ".join(GENERATORS)
            raise _fail(
                file.path, f"{place}.game", f"unknown generator {row['game']!r} ({choices})"
            )
        if row["game_type"] not in game_types:
            raise _fail(file.path, f"{place}.game_type", f"unknown game type {row['game_type']!r}")
        if row["games"] < 0:
            raise _fail(file.path, f"{place}.games", "must not be negative")
        for alias in row["agents"]:
            if alias not in aliases:
                raise _fail(file.path, f"{place}.agents", f"unknown agent {alias!r}")
        generator = GENERATORS[row["game"]]
        low, high = generator.min_agents, generator.max_agents
        if len(set(row["agents"])) < low:
            raise _fail(file.path, f"{place}.agents", f"{row['game']} needs at least {low} agents")
        if high is not None and len(row["agents"]) > high:
            raise _fail(file.path, f"{place}.agents", f"{row['game']} seats at most {high} agents")
        rounds = row.get("rounds", [2, 3])
        if (
            len(rounds) != 2
            or not all(isinstance(r, int) and not isinstance(r, bool) for r in rounds)
            or not 1 <= rounds[0] <= rounds[1]
        ):
            raise _fail(file.path, f"{place}.rounds", "must be [low, high] with 1 <= low <= high")
