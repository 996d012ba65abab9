"""A real arena-runner process for the multi-process tests (run as a script, not collected).

python recording_worker.py URL games WORKER GAMES    record GAMES complete games
python recording_worker.py URL endless WORKER BATCH  record turns forever, BATCH per commit,
                                                     printing "writing GAME TURNS" before
                                                     and "committed GAME TURNS" after each
                                                     batch (the parent kills it)
"""

from __future__ import annotations

import sys
import time

import arenadb
from arenadb.config import load_settings

SEATS = 3
TURNS = 7


def register(arena: arenadb.Arena) -> list[int]:
    # Every worker registers the same rows at the same time: get-or-create must hold.
    arena.register_model("worker-model", input_price_per_mtok=1.0, output_price_per_mtok=2.0)
    return [
        arena.register_agent(
            model="worker-model", kind="worker", prompt=(f"worker-{s}", f"prompt {s}")
        ).id
        for s in range(SEATS)
    ]


def turn_kwargs(worker: int, game: int, seq: int) -> dict:
    return {
        "seat": seq % SEATS,
        "turn_number": seq // SEATS,
        "action": f"w{worker} g{game} t{seq}",
        "state": {"worker": worker, "game": game, "turns": seq + 1},
        "llm_calls": [
            {
                "model": "worker-model",
                "request": {"messages": [{"role": "user", "content": f"turn {seq}"}]},
                "response": {"content": "ok"},
                "input_tokens": 10,
                "output_tokens": 2,
            }
        ],
        "actions": [{"action_type": "move", "payload": {"n": seq}}],
    }


def record_games(url: str, worker: int, games: int) -> None:
    settings = load_settings(url, environ={})
    with arenadb.connect(settings=settings, batch_turns=3) as arena:
        agents = register(arena)
        for g in range(games):
            seats = [arenadb.Seat(agents[s], side="a" if s == 0 else "b") for s in range(SEATS)]
            recorder = arena.start_game(
                "Worker-v0", seats, seed=worker * 1000 + g, snapshot_every=2
            )
            for seq in range(TURNS):
                recorder.record_turn(**turn_kwargs(worker, g, seq))
            recorder.finish(
                outcome="win",
                winning_side="a",
                results={
                    s: {"reward": 1.0 if s == 0 else 0.0, "rank": 1 if s == 0 else 2}
                    for s in range(SEATS)
                },
            )


def record_forever(url: str, worker: int, batch: int) -> None:
    settings = load_settings(url, environ={})
    with arenadb.connect(settings=settings, batch_turns=batch, flush_seconds=3600) as arena:
        agents = register(arena)
        for g in range(10**6):
            recorder = arena.start_game("Killed-v0", agents, snapshot_every=2)
            for seq in range(10**6):
                if recorder.pending_rows and len(recorder._batch.turns) == batch:
                    print(f"writing {recorder.game_id} {recorder.next_seq}", flush=True)
                    recorder.flush()
                    print(f"committed {recorder.game_id} {recorder.next_seq}", flush=True)
                    time.sleep(0.002)  # let the parent keep up: it kills on "writing"
                    if recorder.next_seq >= 5 * batch:
                        break  # next game: several games end up in the database
                recorder.record_turn(**turn_kwargs(worker, g, seq))


if __name__ == "__main__":
    url, mode, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "games":
        record_games(url, worker, count)
    else:
        record_forever(url, worker, count)
