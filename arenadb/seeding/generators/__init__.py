"""Deterministic game generators for seed data: believable Secret Mafia, Colonel Blotto, 4X.

Generators are pure: given a `random.Random`, the agents (with their ids) and a start time, they
return the recorder's whole-game record (`GameRecord`: seats, turns with their LLM calls and
actions, snapshots, result), which the seeder writes with `write_game` as it is. Same seed in,
same games out. One module per game family; `generate` picks one by the name a `[[generate]]`
block gives.

Outcomes follow a hidden skill per agent (pricier models and thinking kinds play better), so the
ratings the seed produces tell a story instead of noise.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from arenadb.recording.records import GameRecord
from arenadb.seeding.generators.blotto import colonel_blotto
from arenadb.seeding.generators.common import SeedAgent, game_uuid
from arenadb.seeding.generators.fourx import fourx
from arenadb.seeding.generators.mafia import secret_mafia

__all__ = ["SeedAgent", "colonel_blotto", "fourx", "game_uuid", "generate", "secret_mafia"]


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
    rounds = tuple(spec.get("rounds", [2, 3]))
    crash, running = bool(spec.get("crash")), bool(spec.get("running"))
    if spec["game"] == "secret_mafia":
        return secret_mafia(
            rng,
            agents,
            start,
            game_id,
            rounds,
            game_type_id=game_type_id,
            crash=crash,
            running=running,
        )
    if spec["game"] == "colonel_blotto":
        return colonel_blotto(
            rng,
            agents,
            start,
            game_id,
            rounds,
            game_type_id=game_type_id,
            crash=crash,
            running=running,
        )
    return fourx(
        rng,
        agents,
        start,
        game_id,
        spec.get("turns", 60),
        spec.get("snapshot_every", 10),
        game_type_id=game_type_id,
        running=running,
    )
