"""Secret Mafia: six seats, a night kill, a day talk and vote, until one side wins."""

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

MAFIA_ROLES = ["Mafia", "Mafia", "Doctor", "Detective", "Villager", "Villager"]
ACCUSATIONS = [
    "Player {t} has been very quiet; that worries me.",
    "I watched Player {t}'s vote last round. It protected the Mafia.",
    "Player {t} changed their story twice. I am voting for them.",
    "I trust Player {t}, but someone here is lying about last night.",
    "Let's not rush. Player {t}, what did you do during the night?",
]


def secret_mafia(
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
    seat_agents = rng.sample(agents, 6)
    roles = MAFIA_ROLES[:]
    rng.shuffle(roles)
    seats = [
        SeatRecord(i, a.agent_id, "Mafia" if r == "Mafia" else "Village", r)
        for i, (a, r) in enumerate(zip(seat_agents, roles, strict=True))
    ]
    game = new_game(game_id, game_type_id, rng.randrange(2**31), start, seats)
    clock = Clock(start)
    alive = set(range(6))
    max_rounds = rng.randint(*rounds)
    turn_number = 0
    history = 300
    stop_at = rng.randint(3, 8) if crash or running else None

    def mafia_alive() -> int:
        return sum(1 for s in alive if seats[s].side == "Mafia")

    def act(seat: int, phase: str, observation: str, action: str) -> bool:
        nonlocal history
        agent = seat_agents[seat]
        valid = rng.random() > (1 - agent.skill) * 0.12
        if not valid:
            action = f"{action.split(']')[0]} ... (no target given)"
            seats[seat].invalid_moves += 1
        game.turns.append(
            turn_record(
                rng, clock, agent, turn_number, phase, seat, observation, action, valid, history
            )
        )
        history += len(action) // 4 + 40
        return stop_at is not None and len(game.turns) >= stop_at

    for round_no in range(1, max_rounds + 1):
        turn_number = round_no
        # Night: the Mafia choose a victim, the Doctor protects, the Detective investigates.
        village = sorted(s for s in alive if seats[s].side == "Village")
        victim = rng.choice(village)
        protected = None
        for seat in sorted(alive):
            role = seats[seat].role
            if role == "Mafia":
                action = f"[Kill] Player {victim}"
            elif role == "Doctor":
                protected = rng.choice(sorted(alive))
                action = f"[Protect] Player {protected}"
            elif role == "Detective":
                action = f"[Investigate] Player {rng.choice(sorted(alive - {seat}))}"
            else:
                continue
            observation = f"Night {round_no}. You are Player {seat}, the {role}. Choose a target."
            if act(seat, "night", observation, action):
                break
        if stop_at is not None and len(game.turns) >= stop_at:
            break
        if protected != victim:
            alive.discard(victim)
            seats[victim].eliminated_turn = turn_number
        if mafia_alive() >= len(alive) - mafia_alive():
            break
        # Day: everyone alive speaks, then votes. The Village finds the Mafia more often when
        # its players are stronger than the Mafia's.
        for seat in sorted(alive):
            target = rng.choice(sorted(alive - {seat}))
            observation = f"Day {round_no}. Alive: {sorted(alive)}. Discuss."
            if act(seat, "day", observation, "[Say] " + rng.choice(ACCUSATIONS).format(t=target)):
                break
        if stop_at is not None and len(game.turns) >= stop_at:
            break
        village_skill = sum(seat_agents[s].skill for s in alive if seats[s].side == "Village")
        mafia_skill = sum(seat_agents[s].skill for s in alive if seats[s].side == "Mafia")
        p_mafia = village_skill / (village_skill + 1.2 * mafia_skill)
        mafia_seats = sorted(s for s in alive if seats[s].side == "Mafia")
        village_seats = sorted(s for s in alive if seats[s].side == "Village")
        if mafia_seats and rng.random() < p_mafia:
            out = rng.choice(mafia_seats)
        else:
            out = rng.choice(village_seats)
        for seat in sorted(alive):
            choice = (
                out if rng.random() < 0.7 and seat != out else rng.choice(sorted(alive - {seat}))
            )
            observation = f"Day {round_no} vote. Alive: {sorted(alive)}. Vote to eliminate."
            if act(seat, "vote", observation, f"[Vote] Player {choice}"):
                break
        if stop_at is not None and len(game.turns) >= stop_at:
            break
        alive.discard(out)
        seats[out].eliminated_turn = turn_number
        if mafia_alive() == 0 or mafia_alive() >= len(alive) - mafia_alive():
            break

    if running:
        game.status = "running"
        return game
    game.finished_at = clock.advance(500)
    if crash:
        game.status = "failed"
        game.environment_crashed = True
        game.outcome = "no_contest"
        game.error = "EnvironmentError: vote tally referenced an eliminated player"
        game.end_reason = "environment crashed"
        return game
    if mafia_alive() == 0:
        game.outcome, game.winning_side, game.end_reason = "win", "Village", "all Mafia eliminated"
    elif mafia_alive() >= len(alive) - mafia_alive():
        game.outcome, game.winning_side, game.end_reason = "win", "Mafia", "Mafia reached parity"
    else:
        game.outcome, game.end_reason = "draw", f"no winner after {max_rounds} rounds"
    for player in seats:
        if game.outcome == "draw":
            player.reward, player.rank = 0.0, 1
        elif player.side == game.winning_side:
            player.reward, player.rank = 1.0, 1
        else:
            player.reward, player.rank = -1.0, 2
    return game


GENERATOR = Generator(
    "secret_mafia", min_agents=6, max_agents=None, play=rounds_block(secret_mafia)
)
