"""Synthetic arenas with KNOWN skills, recorded through the public API (`arenadb.connect`,
`register_agent`, `start_game`, `finish`), to test the Bradley-Terry board against the truth.

Outcomes follow the board's own model: P(A beats B) = logistic(skill_A - skill_B + side term).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import arenadb
from arenadb import Seat, SeatResult
from arenadb.config import Settings


@dataclass(frozen=True)
class SkillArena:
    agent_ids: list[int]
    skills: list[float]  # logit units, per agent (same order as agent_ids)


def register_agents(arena: arenadb.Arena, count: int, prefix: str) -> list[int]:
    return [
        arena.register_agent(
            model=f"{prefix}-model-{i}",
            kind=f"{prefix}-kind",
            prompt=(f"{prefix}-prompt", f"You are {prefix}."),
            alias=f"{prefix}-{i}",
        ).id
        for i in range(count)
    ]


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def duel_arena(
    settings: Settings,
    skills: Sequence[float],
    games: int,
    *,
    seed: int,
    seat_advantage: float = 0.0,
    draw_rate: float = 0.0,
    env_id: str = "Duel-v0",
    prefix: str = "duel",
) -> SkillArena:
    """1v1 games between random pairs; seat 0 gets `seat_advantage` (logit units)."""
    rng = random.Random(seed)
    with arenadb.connect(settings=settings, pooled=False) as arena:
        arena.register_game_type(env_id, min_seats=2, max_seats=2)
        ids = register_agents(arena, len(skills), prefix)
        for _ in range(games):
            i, j = rng.sample(range(len(ids)), 2)
            recorder = arena.start_game(env_id, [ids[i], ids[j]])
            if rng.random() < draw_rate:
                recorder.finish(outcome="draw")
                continue
            first_wins = rng.random() < logistic(skills[i] - skills[j] + seat_advantage)
            ranks = (1, 2) if first_wins else (2, 1)
            recorder.finish(
                outcome="win", results={0: SeatResult(rank=ranks[0]), 1: SeatResult(rank=ranks[1])}
            )
    return SkillArena(ids, list(skills))


def team_arena(
    settings: Settings,
    skills: Sequence[float],
    games: int,
    *,
    seed: int,
    small_side_advantage: float,
    only: Sequence[str | None] | None = None,
    env_id: str = "Teams-v0",
    prefix: str = "team",
) -> SkillArena:
    """4 (village) vs 2 (mafia) games; mafia wins with
    logistic(mean mafia skill - mean village skill + small_side_advantage). `only[i]` pins
    agent i to one side ("mafia" / "village"); None lets it play either."""
    rng = random.Random(seed)
    only = list(only) if only is not None else [None] * len(skills)
    with arenadb.connect(settings=settings, pooled=False) as arena:
        arena.register_game_type(env_id, min_seats=6, max_seats=6, sides=["village", "mafia"])
        ids = register_agents(arena, len(skills), prefix)
        for _ in range(games):
            mafia_pool = [i for i, o in enumerate(only) if o != "village"]
            mafia = rng.sample(mafia_pool, 2)
            village_pool = [i for i, o in enumerate(only) if o != "mafia" and i not in mafia]
            village = rng.sample(village_pool, 4)
            seats = [Seat(ids[p], side="village") for p in village]
            seats += [Seat(ids[p], side="mafia") for p in mafia]
            edge = sum(skills[p] for p in mafia) / 2 - sum(skills[p] for p in village) / 4
            won = "mafia" if rng.random() < logistic(edge + small_side_advantage) else "village"
            arena.start_game(env_id, seats).finish(outcome="win", winning_side=won)
    return SkillArena(ids, list(skills))
