"""Many recorder processes against one PostgreSQL: throughput, the rating lock, finish latency.

Runs 1, 4 and 8 arena-runner processes at once, each recording complete rated games through the
public API (2 seats, one LLM call per turn, a snapshot every 10 turns), at full speed and at
LLM-like pacing (a sleep per turn standing in for the model), into a throwaway database on the
server ARENADB_BENCH_POSTGRES_URL names (created and dropped here). For each run it prints:

- total rows/s over all processes (turns, LLM calls, actions, snapshots, games, seats);
- the time finishes waited for the rating writer lock (`take_rating_lock`, timed inside each
  worker: p50 / p99 / max), and the p99 latency of `finish()`;
- the checks: no process failed, every game and turn is there, and the ratings equal a
  `ratings rebuild` of the same games (finishing in parallel loses no update).

    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        python benchmarks/many_writers.py [--processes 1,4,8] [--games 30] [--turns 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

SEATS = 2
AGENTS = 8
RATINGS_SQL = (
    "SELECT agent_id, system, coalesce(game_type_id, 0), mu, sigma, games FROM ratings "
    "ORDER BY 1, 2, 3"
)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def worker(url: str, worker_id: int, games: int, turns: int, pace: float) -> None:
    """One arena runner (run as a subprocess): prints one JSON line of what it measured."""
    import random

    import arenadb
    from arenadb.config import load_settings
    from arenadb.ratings import book

    waits: list[float] = []
    take_lock = book.take_rating_lock

    def timed_lock(conn):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        take_lock(conn)
        waits.append(time.perf_counter() - started)

    book.take_rating_lock = timed_lock  # type: ignore[assignment]
    rng = random.Random(worker_id)
    finishes: list[float] = []
    rows = 0
    started = time.perf_counter()
    with arenadb.connect(settings=load_settings(url, environ={})) as arena:
        arena.register_model("bench-model", input_price_per_mtok=1.0, output_price_per_mtok=2.0)
        agents = [
            arena.register_agent(
                model="bench-model", kind="bench", prompt=(f"bench-{a}", f"prompt {a}")
            ).id
            for a in range(AGENTS)
        ]
        for game in range(games):
            seats = rng.sample(agents, SEATS)
            recorder = arena.start_game("Bench-v0", seats, seed=worker_id * 100_000 + game)
            for seq in range(turns):
                if pace:
                    time.sleep(pace)
                recorder.record_turn(
                    seat=seq % SEATS,
                    action=f"move {seq}",
                    observation="x" * 200,
                    state={"turn": seq, "board": list(range(20))},
                    llm_calls=[
                        {
                            "model": "bench-model",
                            "request": {"messages": [{"role": "user", "content": "y" * 300}]},
                            "response": {"content": "z" * 100},
                            "input_tokens": 120,
                            "output_tokens": 30,
                        }
                    ],
                    actions=[{"action_type": "move", "payload": {"n": seq}}],
                )
            winner = rng.randrange(SEATS)
            began = time.perf_counter()
            recorder.finish(
                outcome="win", results={s: {"rank": 1 if s == winner else 2} for s in range(SEATS)}
            )
            finishes.append(time.perf_counter() - began)
            rows += 1 + SEATS + turns * 3 + recorder.stats.snapshots
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": time.perf_counter() - started,
                "finishes": finishes,
                "lock_waits": waits,
            }
        )
    )


def run(url: str, processes: int, games: int, turns: int, pace: float) -> dict:
    from arenadb.config import load_settings
    from arenadb.db import create_database, create_engine, drop_database
    from arenadb.schema.migrations import upgrade

    base = load_settings(url, environ={})
    settings = base.with_url(base.url.with_database(f"arenadb_bench_mw_{uuid.uuid4().hex[:10]}"))
    create_database(settings)
    try:
        upgrade(settings)
        began = time.perf_counter()
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    settings.database_url,
                    str(i),
                    str(games),
                    str(turns),
                    str(pace),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
            )
            for i in range(processes)
        ]
        outputs = [w.communicate(timeout=1800) for w in workers]
        wall = time.perf_counter() - began
        failed = [
            err.strip().splitlines()[-1]
            for w, (_o, err) in zip(workers, outputs, strict=True)
            if w.returncode
        ]
        results = [
            json.loads(out.strip().splitlines()[-1])
            for w, (out, _e) in zip(workers, outputs, strict=True)
            if not w.returncode
        ]
        engine = create_engine(settings, pooled=False)
        with engine.connect() as conn:
            stored_games = conn.execute(
                sa.text("SELECT count(*) FROM games WHERE status = 'completed'")
            ).scalar_one()
            stored_turns = conn.execute(sa.text("SELECT count(*) FROM game_turns")).scalar_one()
            before = conn.execute(sa.text(RATINGS_SQL)).all()
        from arenadb.ratings.book import rebuild_ratings

        rebuild_ratings(engine)
        with engine.connect() as conn:
            after = conn.execute(sa.text(RATINGS_SQL)).all()
        engine.dispose()
        same = len(before) == len(after) and all(
            a[:3] == b[:3] and abs(a[3] - b[3]) < 1e-9 and abs(a[4] - b[4]) < 1e-9 and a[5] == b[5]
            for a, b in zip(before, after, strict=True)
        )
        waits = [w for r in results for w in r["lock_waits"]]
        finishes = [f for r in results for f in r["finishes"]]
        return {
            "processes": processes,
            "pace_s": pace,
            # Over the workers' own recording time (start-up and imports left out), all at once.
            "rows_per_s": sum(r["rows"] for r in results)
            / max((r["seconds"] for r in results), default=wall),
            "lock_wait_p50_ms": _percentile(waits, 0.5) * 1000,
            "lock_wait_p99_ms": _percentile(waits, 0.99) * 1000,
            "lock_wait_max_ms": max(waits, default=0.0) * 1000,
            "finish_p99_ms": _percentile(finishes, 0.99) * 1000,
            "failed": failed,
            "games_ok": stored_games == processes * games,
            "turns_ok": stored_turns == processes * games * turns,
            "ratings_equal_rebuild": same,
        }
    finally:
        drop_database(settings, missing_ok=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, worker_id, games, turns, pace = sys.argv[2:7]
        worker(url, int(worker_id), int(games), int(turns), float(pace))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,4,8")
    parser.add_argument("--games", type=int, default=30, help="games per process (full speed)")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds per turn when paced")
    args = parser.parse_args()
    url = os.environ.get("ARENADB_BENCH_POSTGRES_URL")
    if not url:
        sys.exit("set ARENADB_BENCH_POSTGRES_URL to a PostgreSQL server (a database is made there)")
    ok = True
    for pace, games in ((0.0, args.games), (args.pace, max(1, args.games // 3))):
        for processes in (int(p) for p in args.processes.split(",")):
            result = run(url, processes, games, args.turns, pace)
            ok &= not result["failed"] and result["games_ok"] and result["turns_ok"]
            ok &= result["ratings_equal_rebuild"]
            complete = result["games_ok"] and result["turns_ok"]
            print(
                f"processes={processes} pace={pace:.3f}s rows/s={result['rows_per_s']:,.0f} "
                f"lock_wait_ms p50={result['lock_wait_p50_ms']:.2f} "
                f"p99={result['lock_wait_p99_ms']:.2f} max={result['lock_wait_max_ms']:.2f} "
                f"finish_p99_ms={result['finish_p99_ms']:.1f} failed={len(result['failed'])} "
                f"complete={complete} ratings_equal_rebuild={result['ratings_equal_rebuild']}",
                flush=True,
            )
    print(f"all_checks_ok={ok}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
