"""Deterministic game generators for seed data: believable Secret Mafia, Colonel Blotto, 4X.

Generators are pure: given a `random.Random`, the agents (with their ids) and a start time, they
return the recorder's whole-game record (`GameRecord`: seats, turns with their LLM calls and
actions, snapshots, result), which the seeder writes with `write_game` as it is. Same seed in,
same games out. One module per game family, each declaring its `GENERATOR`; `GENERATORS` is
the one registry of them, by the name a `[[generate]]` block gives: the seed-file check
(`arenadb.seeding.files`) and `generate` both read it.

Outcomes follow a hidden skill per agent (pricier models and thinking kinds play better), so the
ratings the seed produces tell a story instead of noise.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from arenadb.recording.records import GameRecord
from arenadb.seeding.generators.blotto import GENERATOR as BLOTTO
from arenadb.seeding.generators.blotto import colonel_blotto
from arenadb.seeding.generators.common import Generator, SeedAgent, game_uuid
from arenadb.seeding.generators.fourx import GENERATOR as FOURX
from arenadb.seeding.generators.fourx import fourx
from arenadb.seeding.generators.mafia import GENERATOR as MAFIA
from arenadb.seeding.generators.mafia import secret_mafia

__all__ = [
    "GENERATORS",
    "Generator",
    "SeedAgent",
    "colonel_blotto",
    "fourx",
    "game_uuid",
    "generate",
    "secret_mafia",
]

GENERATORS: dict[str, Generator] = {g.name: g for g in (MAFIA, BLOTTO, FOURX)}


def generate(
    spec: dict[str, Any],
    rng: random.Random,
    agents: list[SeedAgent],
    start: datetime,
    game_id: uuid.UUID,
    *,
    game_type_id: int,
) -> GameRecord:
    """The game a `[[generate]]` block (`spec`) describes, played by `agents` from `start`."""
    return GENERATORS[spec["game"]].play(spec, rng, agents, start, game_id, game_type_id)
