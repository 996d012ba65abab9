"""Colonel Blotto: two players split 20 troops over three fields, round after round."""

from __future__ import annotations

import random
import uuid
from datetime import datetime

from arenadb.recording.records import GameRecord, SeatRecord
from arenadb.seeding.generators.common import (
    Clock,
    Generator,
    SeedAgent,
    new_game,
    rounds_block,
    turn_record,
)

FIELDS = "ABC"
TROOPS = 20


def _allocation(rng: random.Random) -> list[int]:
    cuts = sorted(rng.sample(range(1, TROOPS), 2))
    return [cuts[0], cuts[1] - cuts[0], TROOPS - cuts[1]]


def _beats(a: list[int], b: list[int]) -> int:
    won = sum(1 for x, y in zip(a, b, strict=True) if x > y)
    lost = sum(1 for x, y in zip(a, b, strict=True) if x < y)
    return (won > lost) - (won < lost)


def colonel_blotto(
    rng: random.Random,
    agents: list[SeedAgent],
    start: datetime,
    game_id: uuid.UUID,
    rounds: tuple[int, int],
    *,
    game_type_id: int,
    crash: bool = False,
    running: bool = False,
) -> GameRecord:
    pair = rng.sample(agents, 2)
    seats = [SeatRecord(i, a.agent_id) for i, a in enumerate(pair)]
    game = new_game(game_id, game_type_id, rng.randrange(2**31), start, seats)
    clock = Clock(start)
    wins = [0, 0]
    n_rounds = rng.randint(*rounds)
    history = 120
    for round_no in range(1, n_rounds + 1):
        # A stronger player samples more candidate allocations and keeps the most balanced.
        allocations = []
        for agent in pair:
            tries = 1 + round(agent.skill * 4)
            candidates = [_allocation(rng) for _ in range(tries)]
            allocations.append(min(candidates, key=lambda c: max(c) - min(c)))
        for seat, agent in enumerate(pair):
            alloc = allocations[seat]
            action = "[" + " ".join(f"{f}{n}" for f, n in zip(FIELDS, alloc, strict=True)) + "]"
            valid = rng.random() > (1 - agent.skill) * 0.08
            if not valid:
                action = action.replace("]", " D3]")
                seats[seat].invalid_moves += 1
            observation = f"Round {round_no} of {n_rounds}. Score {wins[0]}-{wins[1]}. Allocate."
            game.turns.append(
                turn_record(
                    rng,
                    clock,
                    agent,
                    round_no,
                    "allocate",
                    seat,
                    observation,
                    action,
                    valid,
                    history,
                )
            )
        history += 60
        result = _beats(allocations[0], allocations[1])
        if result > 0:
            wins[0] += 1
        elif result < 0:
            wins[1] += 1
        if running and round_no >= 2:
            game.status = "running"
            return game
    game.finished_at = clock.advance(300)
    if crash:
        game.status, game.environment_crashed, game.outcome = "failed", True, "no_contest"
        game.error = "EnvironmentError: allocation parser crashed"
        return game
    game.info = {"rounds": n_rounds, "score": wins}
    if wins[0] == wins[1]:
        game.outcome, game.end_reason = "draw", f"tied {wins[0]}-{wins[1]}"
        for player in seats:
            player.reward, player.rank = 0.0, 1
        return game
    winner = 0 if wins[0] > wins[1] else 1
    game.outcome, game.end_reason = "win", f"won {max(wins)}-{min(wins)}"
    for index, player in enumerate(seats):
        player.reward, player.rank = (1.0, 1) if index == winner else (-1.0, 2)
    return game


GENERATOR = Generator(
    "colonel_blotto", min_agents=2, max_agents=None, play=rounds_block(colonel_blotto)
)
