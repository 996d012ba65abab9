"""Deterministic game generators for seed data: believable Secret Mafia, Colonel Blotto, 4X.

Generators are pure: given a `random.Random`, the agents (with their ids) and a start time, they
return the recorder's whole-game record (`GameRecord`: seats, turns with their LLM calls and
actions, snapshots, result), which the seeder writes with `write_game` as it is. Same seed in,
same games out.

Outcomes follow a hidden skill per agent (pricier models and thinking kinds play better), so the
ratings the seed produces tell a story instead of noise.
"""

from __future__ import annotations

import math
import random
import uuid
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


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, ms: int) -> datetime:
        self.now += timedelta(milliseconds=ms)
        return self.now


def _llm_call(
    rng: random.Random,
    clock: _Clock,
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


def _turn(
    rng: random.Random,
    clock: _Clock,
    agent: SeedAgent | None,
    turn_number: int,
    phase: str,
    seat: int | None,
    observation: str,
    action: str,
    valid: bool,
    history_tokens: int,
) -> TurnRecord:
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


def _game(
    game_id: uuid.UUID, game_type_id: int, seed: int, start: datetime, seats: list[SeatRecord]
) -> GameRecord:
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


# ---------------------------------------------------------------------------------------------
# Secret Mafia

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
    game = _game(game_id, game_type_id, rng.randrange(2**31), start, seats)
    clock = _Clock(start)
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
            _turn(rng, clock, agent, turn_number, phase, seat, observation, action, valid, history)
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


# ---------------------------------------------------------------------------------------------
# Colonel Blotto

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
    game = _game(game_id, game_type_id, rng.randrange(2**31), start, seats)
    clock = _Clock(start)
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
                _turn(
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


# ---------------------------------------------------------------------------------------------
# 4X


def fourx(
    rng: random.Random,
    agents: list[SeedAgent],
    start: datetime,
    game_id: uuid.UUID,
    turns: int,
    snapshot_every: int,
    *,
    game_type_id: int,
    running: bool = False,
) -> GameRecord:
    players = agents[:]
    seats = [SeatRecord(i, a.agent_id) for i, a in enumerate(players)]
    game = _game(game_id, game_type_id, rng.randrange(2**31), start, seats)
    clock = _Clock(start)
    empire = [{"cities": 1, "units": 2, "gold": 10, "science": 0, "score": 0} for _ in players]
    history = 500
    for turn_number in range(1, turns + 1):
        for seat, agent in enumerate(players):
            state = empire[seat]
            actions = []
            for index in range(rng.randint(1, 4)):
                kind = rng.choices(["move", "build", "research", "trade"], [4, 2, 2, 1])[0]
                payload: dict[str, Any] = {"unit": rng.randint(1, 9)}
                result: dict[str, Any] = {"ok": True}
                if kind == "build":
                    payload = {"what": rng.choice(["settler", "warrior", "granary", "library"])}
                    state["gold"] = max(0, state["gold"] - 3)
                    if payload["what"] == "settler" and rng.random() < agent.skill * 0.2:
                        state["cities"] += 1
                        result = {"ok": True, "new_city": state["cities"]}
                elif kind == "research":
                    payload = {"tech": rng.choice(["bronze", "writing", "wheel", "currency"])}
                    state["science"] += 1 + round(agent.skill * 3)
                elif kind == "trade":
                    payload = {"with": rng.choice([s for s in range(len(players)) if s != seat])}
                    state["gold"] += rng.randint(1, 5)
                else:
                    payload = {
                        "unit": rng.randint(1, 9),
                        "to": [rng.randint(0, 40), rng.randint(0, 40)],
                    }
                actions.append(
                    {"idx": index, "action_type": kind, "payload": payload, "result": result}
                )
            state["gold"] += state["cities"] * 2
            state["score"] = state["cities"] * 10 + state["science"] + state["gold"] // 5
            observation = (
                f"Turn {turn_number}. Your empire: {dict(state)}. Rivals: {len(players) - 1}."
            )
            action = ", ".join(str(a["action_type"]) for a in actions)
            turn = _turn(
                rng, clock, agent, turn_number, "orders", seat, observation, action, True, history
            )
            turn.actions = actions
            game.turns.append(turn)
            history = min(history + 80, 12000)
        if turn_number % snapshot_every == 0:
            # (turns included: every turn so far, kind, state, taken when the last turn ended)
            snapshot = {
                "turn": turn_number,
                "map_seed": game.seed,
                "empires": [dict(e) for e in empire],
            }
            last_at = game.turns[-1].created_at
            game.snapshots.append((len(game.turns), "periodic", snapshot, last_at))
        if running and turn_number >= turns // 2:
            game.status = "running"
            return game
    game.finished_at = clock.advance(1000)
    scores = [e["score"] for e in empire]
    order = sorted(range(len(players)), key=lambda s: -scores[s])
    for rank, seat in enumerate(order, start=1):
        seats[seat].rank = rank
        seats[seat].reward = float(scores[seat])
    game.outcome = "win"
    game.end_reason = f"turn limit {turns} reached; highest score wins"
    game.info = {"scores": scores}
    return game
