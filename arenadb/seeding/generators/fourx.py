"""4X: two to four empires expand, build, research and trade for a fixed number of turns,
with periodic snapshots of every empire."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from arenadb.recording.records import GameRecord, SeatRecord
from arenadb.seeding.generators.common import Clock, Generator, SeedAgent, new_game, turn_record


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
    game = new_game(game_id, game_type_id, rng.randrange(2**31), start, seats)
    clock = Clock(start)
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
            turn = turn_record(
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


def _play(
    spec: dict[str, Any],
    rng: random.Random,
    agents: list[SeedAgent],
    start: datetime,
    game_id: uuid.UUID,
    game_type_id: int,
) -> GameRecord:
    return fourx(
        rng,
        agents,
        start,
        game_id,
        spec.get("turns", 60),
        spec.get("snapshot_every", 10),
        game_type_id=game_type_id,
        running=bool(spec.get("running")),
    )


# Every agent the block lists plays (an empire each).
GENERATOR = Generator("fourx", min_agents=2, max_agents=4, play=_play)
