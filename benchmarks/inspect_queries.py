"""Benchmark of the inspection queries on a small and a ten times larger arena.

Builds synthetic arenas of 2,000 and 20,000 games (`tests.support.synthetic.build_arena`) on
SQLite (a temporary folder) and, when ARENADB_BENCH_POSTGRES_URL names a server, on PostgreSQL
(throwaway `arenadb_bench_*` databases, dropped at the end). Times each query warm (median of
several runs, the small and large arena taking turns) and prints the times and the large/small
ratio, with a `SELECT 1` round trip as the floor measured in the same run.

Goal: games list, game info and agents top at most 10 ms each on both backends, and at most 1.5x
slower on the large arena than on the small one. Other rows are printed for information.

    python benchmarks/inspect_queries.py           # SQLite, and PostgreSQL if configured
    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/inspect_queries.py --sizes 2000,20000 --runs 15
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path, and this file is named like the
# standard library's `inspect` (which dataclasses and SQLAlchemy import): take the folder out.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from arenadb.config import Settings, load_settings  # noqa: E402
from arenadb.db import create_database, create_engine, drop_database  # noqa: E402
from arenadb.inspection import agents as agent_views  # noqa: E402
from arenadb.inspection import games as inspect  # noqa: E402
from arenadb.inspection import replay, usage  # noqa: E402
from arenadb.schema.migrations import upgrade  # noqa: E402
from arenadb.urls import parse_url  # noqa: E402
from tests.support.synthetic import build_arena  # noqa: E402

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
GOAL_MS = 10.0
GOAL_RATIO = 1.5
GOAL_OPS = ("games list", "game info", "agents top")
# The same game in every arena: the generator gives game N the same content whatever the size.
PROBE_GAME = 1_000


def agents_top_op() -> Callable[[sa.Engine], Any] | str:
    """The ratings leaderboard query (`agents top`) if this build has one, else why not."""
    import importlib

    for module_name in ("arenadb.ratings.leaderboard", "arenadb.ratings.book"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in ("top_agents", "leaderboard"):
            function = getattr(module, name, None)
            if callable(function):
                return lambda engine: function(engine, limit=20)
    return "not available in this build (no top_agents in arenadb.ratings.leaderboard / ratings)"


def select_one(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).scalar()


def operations(engine: sa.Engine, probe: int) -> dict[str, Callable[[], Any]]:
    ops: dict[str, Callable[[], Any]] = {
        "games list": lambda: inspect.list_games(engine, limit=50),
        "game info": lambda: inspect.game_info(engine, probe),
    }
    top = agents_top_op()
    if not isinstance(top, str):
        ops["agents top"] = lambda: top(engine)
    ops.update(
        {
            "games list --status failed": lambda: inspect.list_games(engine, status="failed"),
            "games list --agent 3": lambda: inspect.list_games(engine, agent=3),
            "games list --model o3-mini": lambda: inspect.list_games(engine, model="o3-mini"),
            "games list --type FourX-v0": lambda: inspect.list_games(engine, game_type="FourX-v0"),
            "games list --offset 1000": lambda: inspect.list_games(engine, offset=1_000),
            "game info --turns": lambda: inspect.game_info(engine, probe, with_turns=True),
            "game replay": lambda: replay.game_replay(engine, probe),
            "agents list": lambda: agent_views.list_agents(engine),
            "models stats (full scan)": lambda: usage.models_stats(engine),
            # The floor under every query: a round trip through the pool and the driver.
            "baseline: SELECT 1": lambda: select_one(engine),
        }
    )
    return ops


def build(settings: Settings, games: int) -> sa.Engine:
    """Create, migrate and fill one arena; returns an engine on it."""
    create_database(settings)
    upgrade(settings, "head")
    engine = create_engine(settings)
    start = time.perf_counter()
    built = build_arena(engine, games=games)
    print(
        f"  {settings.backend} {games:,} games: built in {time.perf_counter() - start:.1f} s "
        f"({built.turns:,} turns, {built.llm_calls:,} llm calls, {built.actions:,} actions)",
        file=sys.stderr,
    )
    if settings.backend == "postgresql":
        # What autovacuum would have done by now: statistics and a visibility map.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return engine


def interleaved_medians(
    ops_by_size: dict[int, dict[str, Callable[[], Any]]], runs: int
) -> dict[int, dict[str, float]]:
    """Median ms of each query per size, the sizes' runs interleaved.

    Taking turns between the small and the large arena exposes both to the same background
    load, so the ratio stays meaningful on a busy machine.
    """
    sizes = list(ops_by_size)
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
    for name in ops_by_size[sizes[0]]:
        for size in sizes:
            ops_by_size[size][name]()  # warm: pool, statement cache, pages in memory
        for _ in range(runs):
            for size in sizes:
                start = time.perf_counter()
                ops_by_size[size][name]()
                samples[size].setdefault(name, []).append((time.perf_counter() - start) * 1000)
    return {
        size: {name: statistics.median(times) for name, times in by_name.items()}
        for size, by_name in samples.items()
    }


def run_backend(name: str, make_settings: Callable[[int], Settings], sizes: list[int], runs: int):
    probe = min(PROBE_GAME, sizes[0] // 2)
    engines: dict[int, sa.Engine] = {}
    settings = {size: make_settings(size) for size in sizes}
    try:
        for size in sizes:
            engines[size] = build(settings[size], size)
        ops = {size: operations(engine, probe) for size, engine in engines.items()}
        return name, interleaved_medians(ops, runs)
    finally:
        for engine in engines.values():
            engine.dispose()
        for one in settings.values():
            drop_database(one, missing_ok=True)


def report(all_results: list[tuple[str, dict[int, dict[str, float]]]], sizes: list[int]) -> bool:
    small, large = sizes[0], sizes[-1]
    ok = True
    width = max(len(op) for _, r in all_results for op in r[small]) + 2
    header = f"{'query':<{width}}" + "".join(
        f"{backend + ' ' + format(size, ','):>18}" for backend, _ in all_results for size in sizes
    )
    header += "".join(f"{backend + ' ratio':>18}" for backend, _ in all_results)
    print(header)
    print("-" * len(header))
    for op in all_results[0][1][small]:
        line = f"{op:<{width}}"
        for _, results in all_results:
            for size in sizes:
                line += f"{results[size].get(op, float('nan')):>15.2f} ms"
        for _, results in all_results:
            ratio = results[large][op] / results[small][op]
            line += f"{ratio:>17.2f}x"
            slowest = max(results[size][op] for size in sizes)
            if op in GOAL_OPS and (ratio > GOAL_RATIO or slowest > GOAL_MS):
                ok = False
        print(line)
    top = agents_top_op()
    if isinstance(top, str):
        print(f"agents top: {top}")
    print(
        f"goal (games list, game info, agents top): <= {GOAL_MS:g} ms and <= {GOAL_RATIO}x "
        f"from {small:,} to {large:,} games: {'met' if ok else 'NOT met'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000", help="game counts, small first")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per query (median)")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    all_results = []
    with tempfile.TemporaryDirectory(prefix="arenadb_bench_") as folder:
        all_results.append(
            run_backend(
                "sqlite",
                lambda size: load_settings(
                    f"sqlite:///{Path(folder) / f'{size}.db'}", environ={}, cwd=folder
                ),
                sizes,
                args.runs,
            )
        )
    pg_url = os.environ.get(PG_ENV)
    if pg_url and not args.sqlite_only:
        server = parse_url(pg_url)
        suffix = uuid.uuid4().hex[:8]
        all_results.append(
            run_backend(
                "postgresql",
                lambda size: load_settings(
                    server.with_database(f"arenadb_bench_{suffix}_{size}").render(),
                    environ={},
                    cwd=os.devnull,
                ),
                sizes,
                args.runs,
            )
        )
    elif not args.sqlite_only:
        print(f"PostgreSQL skipped: set {PG_ENV} to a server URL to include it", file=sys.stderr)
    return 0 if report(all_results, sizes) else 1


if __name__ == "__main__":
    sys.exit(main())
