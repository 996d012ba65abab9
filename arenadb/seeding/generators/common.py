"""What every generator shares: the agents as they see them, the game's clock, a turn with its
LLM calls, an empty game record, a generated game's stable UUID, and what a generator declares
(`Generator`: its name in seed files, how many agents it takes, how it plays a block)."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arenadb.recording.records import GameRecord, LLMCallRecord, SeatRecord, TurnRecord

SEED_NAMESPACE = uuid.UUID("6c0f7a51-3b8e-4d7e-9a51-a7e4db0f5eed")


@dataclass(frozen=True)
class SeedAgent:
    """An agent of the seed as the generators see it: its ids in the database being seeded (so
    that they emit records ready to write), its model's prices and its prompt."""

    alias: str
    agent_id: int
    model_id: int
    model: str
    kind: str
    provider: str | None
    input_price: float
    output_price: float
    prompt: str

    @property
    def thinks(self) -> bool:
        return self.kind in {"chain-of-thought", "self-consistency"}

    @property
    def skill(self) -> float:
        """0..1: log of the output price (a proxy for model strength) plus a bonus for thinking."""
        base = math.log1p(self.output_price) / math.log1p(15.0)
        return min(1.0, 0.25 + 0.6 * base + (0.1 if self.thinks else 0.0))


# (the `[[generate]]` block, its random numbers, its agents, the game's start, the game's UUID,
# the game type id) -> the whole game
PlayBlock = Callable[
    [dict[str, Any], random.Random, list["SeedAgent"], datetime, uuid.UUID, int], GameRecord
]


@dataclass(frozen=True)
class Generator:
    """A game family a `[[generate]]` block names by `name`: the seed files are checked against
    `min_agents` / `max_agents` before anything is written, and `play` draws one game."""

    name: str
    min_agents: int  # the block lists at least this many distinct agents
    max_agents: int | None  # at most this many (None: any; the game draws its seats from them)
    play: PlayBlock


def rounds_block(play_game: Callable[..., GameRecord]) -> PlayBlock:
    """The `play` of a game family whose block gives a `rounds` range (default 2 to 3) and may
    ask for a `crash` or a game left `running` (Secret Mafia, Colonel Blotto)."""

    def play(
        spec: dict[str, Any],
        rng: random.Random,
        agents: list[SeedAgent],
        start: datetime,
        game_id: uuid.UUID,
        game_type_id: int,
    ) -> GameRecord:
        return play_game(
            rng,
            agents,
            start,
            game_id,
            tuple(spec.get("rounds", [2, 3])),
            game_type_id=game_type_id,
            crash=bool(spec.get("crash")),
            running=bool(spec.get("running")),
        )

    return play


class Clock:
    """A generated game's time: each turn and LLM call moves it on from the game's start."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, ms: int) -> datetime:
        self.now += timedelta(milliseconds=ms)
        return self.now


def _llm_call(
    rng: random.Random,
    clock: Clock,
    agent: SeedAgent,
    system: str,
    observation: str,
    action: str,
    history_tokens: int,
) -> list[LLMCallRecord]:
    """One successful call, sometimes after a failed attempt (timeout or provider error)."""
    calls: list[LLMCallRecord] = []
    attempts = 2 if rng.random() < 0.03 else 1
    for attempt in range(1, attempts + 1):
        failed = attempt < attempts
        started = clock.now
        ttft = int(rng.lognormvariate(math.log(350 if not agent.thinks else 900), 0.35))
        input_tokens = history_tokens + (len(system) + len(observation)) // 4
        reasoning_tokens = rng.randint(150, 900) if agent.thinks else None
        output_tokens = max(1, len(action) // 4) + (reasoning_tokens or 0)
        gen_ms = int(output_tokens * rng.uniform(8, 25))
        latency = ttft + (0 if failed else gen_ms)
        clock.advance(latency)
        request = {
            "model": agent.model,
            "messages": [
                {"role": "system", "content": system.strip()},
                {"role": "user", "content": observation},
            ],
        }
        if failed:
            timeout = rng.random() < 0.5
            calls.append(
                LLMCallRecord(
                    model_id=agent.model_id,
                    attempt=attempt,
                    provider=agent.provider,
                    request_model=agent.model,
                    started_at=started,
                    first_token_at=started + timedelta(milliseconds=ttft),
                    finished_at=clock.now,
                    latency_ms=latency,
                    # a failed call reports no usage: NULL, never a fake 0 or 1
                    status="timeout" if timeout else "error",
                    error="request timed out after 30 s" if timeout else "503 Service Unavailable",
                    request=request,
                )
            )
            continue
        cost = (input_tokens * agent.input_price + output_tokens * agent.output_price) / 1e6
        calls.append(
            LLMCallRecord(
                model_id=agent.model_id,
                attempt=attempt,
                provider=agent.provider,
                request_model=agent.model,
                response_model=agent.model,
                started_at=started,
                first_token_at=started + timedelta(milliseconds=ttft),
                finished_at=clock.now,
                latency_ms=latency,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                reasoning_tokens=reasoning_tokens,
                cost=round(cost, 8),
                finish_reason="stop",
                status="ok",
                request=request,
                response={"content": action, "model": agent.model},
                reasoning="Weighing who benefits from each claim..." if agent.thinks else None,
            )
        )
    return calls


def turn_record(
    rng: random.Random,
    clock: Clock,
    agent: SeedAgent | None,
    turn_number: int,
    phase: str,
    seat: int | None,
    observation: str,
    action: str,
    valid: bool,
    history_tokens: int,
) -> TurnRecord:
    """One move, `agent`'s LLM call(s) included, a few seconds after the previous one."""
    clock.advance(rng.randint(1500, 9000))  # the environment, and the other players, think too
    at = clock.now
    calls = []
    if agent is not None:
        calls = _llm_call(rng, clock, agent, agent.prompt, observation, action, history_tokens)
    latency = sum(c.latency_ms or 0 for c in calls) if calls else None
    return TurnRecord(
        turn_number=turn_number,
        seat=seat,
        phase=phase,
        observation=observation,
        action=action,
        valid=valid,
        latency_ms=latency,
        created_at=at,
        llm_calls=calls,
    )


def new_game(
    game_id: uuid.UUID, game_type_id: int, seed: int, start: datetime, seats: list[SeatRecord]
) -> GameRecord:
    """A started game with its seats and no turns yet: the generators play it from here."""
    return GameRecord(
        uuid=game_id,
        game_type_id=game_type_id,
        seats=seats,
        seed=seed,
        created_at=start,
        started_at=start,
    )


def game_uuid(env: str, block: int, index: int) -> uuid.UUID:
    """Stable identity of a generated game: seeding twice finds it instead of adding it again."""
    return uuid.uuid5(SEED_NAMESPACE, f"{env}/{block}/{index}")
