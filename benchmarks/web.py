"""Benchmark of `arenadb serve`: every page and its JSON twin, warm, over HTTP.

Builds a synthetic arena (`tests.support.synthetic.build_arena`, 30,000 games by default) on
SQLite in a temporary folder and, when ARENADB_BENCH_POSTGRES_URL names a server, on PostgreSQL
(a throwaway `arenadb_bench_*` database, dropped at the end); starts a real `arenadb serve`
(uvicorn, a subprocess) on each; requests every page once to warm it (the default boards and
the model usage are computed then, and kept while the data is unchanged), then N times, and
prints each page's median and p95 against the 50 ms goal, with the round trip of a static file
(the floor: HTTP + uvicorn alone) measured in the same run and the ratio to it.

    python benchmarks/web.py                      # SQLite, and PostgreSQL if configured
    python benchmarks/web.py --games 5000 --runs 20 --backends postgresql
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support, from a checkout
from arenadb.config import Settings, load_settings, parse_url
from arenadb.db import create_database, create_engine, drop_database
from arenadb.schema.migrations import upgrade
from tests.support.synthetic import build_arena

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
GOAL_MS = 50.0
FLOOR = "/static/style.css"


def pages(probe_game: int, agent: int, game_type: str) -> list[str]:
    paths = [
        "/",
        f"/leaderboard/{game_type}",
        "/games",
        "/games?status=completed",
        f"/games?agent={agent}",
        f"/games?type={game_type}&limit=100",
        "/games?offset=20000",
        f"/games/{probe_game}",
        f"/games/{probe_game}/replay",
        f"/agents/{agent}",
        "/models",
    ]
    twins = []
    for path in paths:
        base, _, query = path.partition("?")
        twins.append(("/index" if base == "/" else base) + ".json" + (f"?{query}" if query else ""))
    return [FLOOR, *paths, *twins, "/models/daily.json"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(settings: Settings) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ARENADB_DATABASE_URL": settings.database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "arenadb", "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url + FLOOR, timeout=2)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("arenadb serve did not start")


def measure(url: str, paths: list[str], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {p: [] for p in paths}
    with httpx.Client(base_url=url, timeout=600) as client:
        for path in paths:  # warm: caches filled, connections open
            started = time.perf_counter()
            response = client.get(path)
            response.raise_for_status()
            print(f"  warm-up {path}: {(time.perf_counter() - started) * 1000:,.0f} ms", flush=True)
        for _ in range(runs):  # pages take turns, so a slow moment hits all alike
            for path in paths:
                started = time.perf_counter()
                response = client.get(path)
                times[path].append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
    return times


def report(backend: str, games: int, times: dict[str, list[float]]) -> bool:
    floor = statistics.median(times[FLOOR])
    print(f"\n{backend}, {games:,} games: median / p95 per page (goal <= {GOAL_MS:.0f} ms)")
    print(f"{'page':<46} {'median':>9} {'p95':>9} {'x floor':>8}  goal")
    ok = True
    for path, values in times.items():
        values = sorted(values)
        median = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        met = p95 <= GOAL_MS
        ok = ok and met
        print(
            f"{path:<46} {median:>7.1f}ms {p95:>7.1f}ms {median / floor:>8.1f}  "
            f"{'ok' if met else 'MISSED'}"
        )
    return ok


def run(settings: Settings, backend: str, games: int, runs: int) -> bool:
    create_database(settings, if_not_exists=True)
    upgrade(settings, "head")
    engine = create_engine(settings)
    started = time.perf_counter()
    arena = build_arena(engine, games=games)
    print(f"{backend}: built {games:,} games in {time.perf_counter() - started:,.0f} s", flush=True)
    engine.dispose()
    process, url = serve(settings)
    try:
        probe = arena.first_game_id + games // 2
        agent = arena.agent_ids[0]
        return report(backend, games, measure(url, pages(probe, agent, "SecretMafia-v0"), runs))
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    backends = args.backends.split(",")
    ok = True
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            ok = run(load_settings(f"sqlite:///{path}"), "sqlite", args.games, args.runs) and ok
    server = os.environ.get(PG_ENV)
    if server and "postgresql" in backends:
        name = f"arenadb_bench_{uuid.uuid4().hex[:10]}"
        settings = load_settings(parse_url(server).with_database(name).render())
        try:
            ok = run(settings, "postgresql", args.games, args.runs) and ok
        finally:
            drop_database(settings, missing_ok=True, any_database=True)
    print("\nall pages met the goal" if ok else "\nsome pages missed the goal")


if __name__ == "__main__":
    main()
