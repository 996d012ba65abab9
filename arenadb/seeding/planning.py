"""Which games a seed generates, and when: the plan its `[[generate]]` blocks make.

Each game has a stable UUID derived from the environment, its block and its index (seeding again
finds it), its own random stream, and a start on the seed's time line: games start one after
another from the seed's `start_time`, each block continuing where the previous one ended, so the
whole history is ordered and reproducible.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arenadb.seeding.files import SeedData
from arenadb.seeding.generators import game_uuid


@dataclass(frozen=True)
class GameSlot:
    """The `index`-th game of `[[generate]]` block number `block` (`spec`)."""

    block: int
    index: int
    spec: dict[str, Any]
    uuid: uuid.UUID


@dataclass
class PlannedGame:
    """A slot with the random stream that generates its game and the time it starts."""

    slot: GameSlot
    rng: random.Random
    start: datetime


def game_slots(data: SeedData) -> list[GameSlot]:
    """Every game the seed generates, in the order of its time line."""
    return [
        GameSlot(block, index, spec, game_uuid(data.env, block, index))
        for block, spec in enumerate(data.rows("generate"))
        for index in range(spec["games"])
    ]


def planned_games(data: SeedData, slots: list[GameSlot]) -> Iterator[PlannedGame]:
    """`slots` on the seed's time line, one at a time (a stream each: a big seed holds few)."""
    clock: datetime = data.seed["start_time"]
    seed = data.seed["random_seed"]
    for slot in slots:
        rng = random.Random(f"{seed}/{slot.block}/{slot.index}")
        # The stream places the game, then plays it: the next game starts after this one did.
        clock += timedelta(minutes=rng.randint(5, 45))
        yield PlannedGame(slot, rng, clock)
