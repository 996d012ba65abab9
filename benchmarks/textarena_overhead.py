"""Benchmark: what recording a TextArena game costs per move, against TextArena's own step time.

Workload (default): 30 games each of SecretMafia-v0 (6 players), ThreePlayerIPD-v0 (3) and
KuhnPoker-v0 (2), played offline by seeded fake agents (fixed replies, valid and invalid), the
same moves in every method. Methods:
- bare:     `ta.make(...)`, reset / get_observation / step / close, nothing recorded;
- replay:   the same games through `arenadb.integrations.textarena.record(...)` and
            `RecordedAgent` with the Arena's default batching (a batch per 1000 turns or per
            second): the cost at replay speed;
- per_move: the same, writing after each step (`recorder.flush()`): one transaction per move,
            which is what a game played at LLM speed pays (the turns of a step are recorded
            together; the next step, an LLM call later, finds them due and writes them);
- per_turn: `batch_turns=1`: one write transaction per recorded turn (a move and each message
            it sends), the worst case.
Each method is timed over the whole loop (reset to close), best of --repeat runs, into a fresh
database per run. Printed per backend: moves, TextArena's own time per move, arenadb's overhead
per move (method - bare) and its ratio to the bare step, and that overhead as a fraction of a
1-second LLM call. The last line is:
    sqlite_replay=.. sqlite_per_move=.. sqlite_per_turn=.. postgresql_replay=.. ...
(overhead per move / TextArena's own time per move).

    python benchmarks/textarena_overhead.py
    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/textarena_overhead.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import textarena as ta
from record import PG_ENV, Databases

import arenadb
from arenadb.integrations.textarena import RecordedAgent, record

GAMES = [
    ("SecretMafia-v0", 6, ["[1]", "[2]", "I suspect [3]", "[4]", "[0]", "no idea"]),
    ("ThreePlayerIPD-v0", 3, ["hi", "[1 cooperate] [2 defect]", "[0 defect] [2 defect]"]),
    ("KuhnPoker-v0", 2, ["[check]", "[bet]", "[call]", "[fold]"]),
]
LLM_CALL_SECONDS = 1.0


class FixedAgent(ta.Agent):
    def __init__(self, replies: list[str], seed: int) -> None:
        self.replies = replies
        self.random = random.Random(seed)
        self.model_name = "fake-llm"

    def __call__(self, observation: str) -> str:
        return self.random.choice(self.replies)


def play_all(
    games: int,
    arena: Any | None,
    agents: dict[int, list[Any]],
    *,
    flush_each_move: bool = False,
    **options: Any,
) -> int:
    """Play every game (recorded when `arena` is given); returns the number of moves."""
    moves = 0
    for env_id, players, replies in GAMES:
        for game in range(games):
            env = ta.make(env_id)
            if arena is not None:
                env = record(env, arena, agents[players], **options)
            env.reset(num_players=players, seed=game)
            brains: list[Any] = [FixedAgent(replies, game * 10 + i) for i in range(players)]
            if arena is not None:
                brains = [RecordedAgent(b, env) for b in brains]
            done = False
            while not done:
                player_id, observation = env.get_observation()
                done, _info = env.step(brains[player_id](observation))
                if flush_each_move:
                    env.recorder.flush()
                moves += 1
            env.close()
    return moves


def measure(
    databases: Databases | None, backend: str, games: int, repeat: int, **options: Any
) -> tuple[float, int]:
    best, moves = float("inf"), 0
    for _ in range(repeat):
        if databases is None:
            started = time.perf_counter()
            moves = play_all(games, None, {})
            best = min(best, time.perf_counter() - started)
            continue
        settings = databases.fresh(backend)
        with arenadb.connect(settings=settings) as arena:
            arena.register_model("fake-llm")
            agents = {
                n: [
                    arena.register_agent(model="fake-llm", kind="ta", prompt=("p", f"seat {i}"))
                    for i in range(n)
                ]
                for n in {players for _, players, _ in GAMES}
            }
            started = time.perf_counter()
            moves = play_all(games, arena, agents, rated=False, **options)
            best = min(best, time.perf_counter() - started)
        databases.drop(settings)
    return best, moves


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--games", type=int, default=30, help="games per environment")
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    pg_url = os.environ.get(PG_ENV)
    backends = [b for b in args.backends.split(",") if b == "sqlite" or pg_url]
    bare, moves = measure(None, "", args.games, args.repeat)
    own = bare / moves
    print(f"{moves} moves; TextArena's own time {own * 1e6:.0f} us per move (bare loop)")
    summary = []
    databases = Databases(pg_url)
    try:
        for backend in backends:
            methods: list[tuple[str, dict[str, Any]]] = [
                ("replay", {}),
                ("per_move", {"flush_each_move": True}),
                ("per_turn", {"batch_turns": 1}),
            ]
            for method, options in methods:
                seconds, _ = measure(databases, backend, args.games, args.repeat, **options)
                overhead = (seconds - bare) / moves
                ratio = overhead / own
                print(
                    f"{backend} {method}: {seconds:.2f}s, overhead {overhead * 1e6:.0f} us per "
                    f"move = {ratio:.1f}x TextArena's step, "
                    f"{overhead / LLM_CALL_SECONDS:.2%} of a {LLM_CALL_SECONDS:.0f} s LLM call"
                )
                summary.append(f"{backend}_{method}={ratio:.2f}")
    finally:
        databases.close()
    print(" ".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
