"""Benchmark: `arenadb search` latency on the biggest synthetic arena built here.

Builds a synthetic arena (`tests.support.synthetic.build_arena`), by default the paper-scale 1x
arena of `benchmarks/scale.py` (30,000 games, 900 agents, about a million turns and as many LLM
calls, each call with ~1 KB request messages, a quarter of that in its response and half in its
turn's observation), on SQLite and, when ARENADB_BENCH_POSTGRES_URL names a server, on
PostgreSQL (a throwaway `arenadb_bench_*` database, dropped at the end); the index is
maintained by the writes as it is in production. Then writes a selective word into 20 turns and
20 LLM responses, and times `arenadb.inspection.search.search` warm (median of --runs), with a
`SELECT 1` round trip measured in the same run as the floor.

Goal: a selective word (20 + 20 hits among ~2 million searched rows at 1x) in <= 50 ms on both
backends, in every case measured (all sources, `--in turns`, `--game-type`). A common word
(every Secret Mafia vote turn) is printed for information. Each time is printed with the CPU
this process spent in it (on SQLite, the whole query): a busy machine stretches the wall time
past it.

    python benchmarks/search.py                  # SQLite, and PostgreSQL if configured
    python benchmarks/search.py --games 10000 --payload-bytes 0   # a smaller arena
    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/search.py --games 30000 --runs 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from arenadb.config import Settings, load_settings, parse_url
from arenadb.db import create_database, create_engine, drop_database, write_transaction
from arenadb.inspection.filters import GameFilter
from arenadb.inspection.search import search
from arenadb.schema.migrations import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.synthetic import build_arena

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
GOAL_MS = 50.0
PAPER_GAMES = 30_000  # benchmarks/scale.py's 1x arena
PAPER_AGENTS = 900
WORD = "zanzibar"


def build(settings: Settings, games: int, agents: int, payload: int) -> sa.Engine:
    create_database(settings)
    upgrade(settings, "head")
    engine = create_engine(settings)
    start = time.perf_counter()
    built = build_arena(engine, games=games, agents=agents, payload_bytes=payload)
    with write_transaction(engine) as conn:
        step = max(1, built.last_game_id // 20)
        ids = list(range(built.first_game_id, built.last_game_id + 1, step))[:20]
        for game_id in ids:
            conn.execute(
                sa.text(
                    "update game_turns set action = action || ' ' || :w "
                    "where game_id = :g and seq = 1"
                ),
                {"w": WORD, "g": game_id},
            )
            conn.execute(
                sa.text("update llm_calls set reasoning = :r where game_id = :g and turn_seq = 2"),
                {"r": f"I suspect {WORD} is lying", "g": game_id},
            )
    print(
        f"  {settings.backend} {games:,} games: built in {time.perf_counter() - start:.1f} s "
        f"({built.turns:,} turns, {built.llm_calls:,} llm calls, {agents} agents, "
        f"{payload} B payloads)",
        file=sys.stderr,
    )
    if settings.backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return engine


def median_ms(op: Callable[[], Any], runs: int) -> tuple[float, float]:
    """The median wall time of `op` and the median CPU time this process spent in it, in ms
    (on SQLite that CPU is the whole query; a busy machine stretches the wall time past it)."""
    op()  # warm
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        op()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def measure(engine: sa.Engine, runs: int) -> dict[str, tuple[float, float]]:
    def select_one() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").all()

    hits = search(engine, WORD, limit=100)
    # 20 turns and the LLM calls of 20 turns (a retried call is two).
    assert 40 <= len(hits) < 60, f"expected 40 or so hits of {WORD!r}, got {len(hits)}"
    ops: dict[str, Callable[[], Any]] = {
        "select 1 (floor)": select_one,
        f"{WORD} (all sources)": lambda: search(engine, WORD),
        f"{WORD} --in turns": lambda: search(engine, WORD, within=["turns"]),
        f"{WORD} --game-type SecretMafia-v0": lambda: search(
            engine, WORD, filters=GameFilter(game_type="SecretMafia-v0")
        ),
        "eliminated --in turns (common, info)": lambda: search(
            engine, "eliminated", within=["turns"]
        ),
    }
    return {name: median_ms(op, runs) for name, op in ops.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=PAPER_GAMES)
    parser.add_argument("--agents", type=int, default=PAPER_AGENTS)
    parser.add_argument("--payload-bytes", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    backends = args.backends.split(",")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    size = (args.games, args.agents, args.payload_bytes)
    with tempfile.TemporaryDirectory(prefix="arenadb_bench_") as folder:
        if "sqlite" in backends:
            settings = load_settings(
                f"sqlite:///{Path(folder) / 'arena.db'}", environ={}, cwd=folder
            )
            engine = build(settings, *size)
            try:
                results["sqlite"] = measure(engine, args.runs)
                print(results["sqlite"], file=sys.stderr, flush=True)
            finally:
                engine.dispose()
    pg_url = os.environ.get(PG_ENV)
    if pg_url and "postgresql" in backends:
        server = parse_url(pg_url)
        name = f"arenadb_bench_{uuid.uuid4().hex[:8]}_search"
        settings = load_settings(server.with_database(name).render(), environ={}, cwd=os.devnull)
        try:
            engine = build(settings, *size)
            try:
                results["postgresql"] = measure(engine, args.runs)
                print(results["postgresql"], file=sys.stderr, flush=True)
            finally:
                engine.dispose()
        finally:
            drop_database(settings, missing_ok=True)
    elif "postgresql" in backends:
        print(f"PostgreSQL skipped: set {PG_ENV} to a server URL to include it", file=sys.stderr)
    ok = True
    for backend, times in results.items():
        print(
            f"{backend} ({args.games:,} games, {args.agents} agents, {args.payload_bytes} B "
            f"payloads, median of {args.runs}; load average {os.getloadavg()[0]:.1f})"
        )
        for name, (ms, cpu) in times.items():
            print(f"  {name:<40} {ms:8.2f} ms  (this process's CPU {cpu:6.2f} ms)")
        selective = {name: ms for name, (ms, _cpu) in times.items() if name.startswith(WORD)}
        worst = max(selective, key=selective.__getitem__)
        ok = ok and selective[worst] <= GOAL_MS
        floor = times["select 1 (floor)"][0]
        print(
            f"  selective word, worst case ({worst}): {selective[worst]:.2f} ms, "
            f"{selective[worst] / floor:.0f}x the floor"
        )
    print(
        f"goal: every selective-word case <= {GOAL_MS:g} ms on every backend: "
        f"{'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
