"""Rows per second of `export` and `import`, next to the recording path's rows/s, same run.

Builds a synthetic arena (`tests.support.synthetic.build_arena`) in a temporary SQLite database
(and in a throwaway PostgreSQL database when ARENADB_BENCH_POSTGRES_URL names a server; created
and dropped here), then times on each backend:

- record: the recording API (`arenadb.connect(...).start_game(...).record_turn(...)`) writing
  games of the same shape (6 seats, turns with an LLM call and an action, snapshots) into a
  separate database;
- export: `export_games` of every game to a .jsonl.gz file;
- import: `import_games` of that file into a second, empty database.

Rows are games + seats + turns + actions + LLM calls + snapshots. Prints one line per backend
and the ratios export/record and import/record last.

    python benchmarks/portability.py [--games 3000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import arenadb
from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database
from arenadb.portability.export import export_games
from arenadb.portability.importing import import_games
from arenadb.schema.migrations import upgrade
from arenadb.urls import parse_url
from tests.support.synthetic import build_arena


def settings_for(url: str) -> Settings:
    return load_settings(url, environ={}, cwd=Path("/nonexistent-arenadb-cwd"))


TABLES = ("games", "game_players", "game_turns", "player_actions", "llm_calls", "game_snapshots")


def record_rows_per_second(settings: Settings, games: int) -> tuple[float, int, str]:
    """Record `games` games through the public recording API; (rows/s, rows, what)."""
    seats, rounds = 6, 20
    message = {"messages": [{"role": "user", "content": "x" * 2000}]}
    answer = {"content": "y" * 1000}
    with arenadb.connect(settings=settings) as arena:
        model = arena.register_model("bench-model", input_price_per_mtok=1.0)
        prompt = arena.register_prompt("bench", "Play.")
        agents = [
            arena.register_agent(
                kind=arena.register_kind(f"bench-{i}"), model=model, prompt=prompt, alias=f"b{i}"
            )
            for i in range(seats)
        ]
        game_type = arena.register_game_type("Bench-v0", min_seats=seats, max_seats=seats)
        board = list(range(50))
        started = time.perf_counter()
        for g in range(games):
            recorder = arena.start_game(
                game_type,
                [arenadb.Seat(a, side="ab"[i % 2]) for i, a in enumerate(agents)],
                seed=g,
                rated=False,
            )
            for r in range(rounds):
                for seat in range(seats):
                    recorder.record_turn(
                        seat=seat,
                        turn_number=r,
                        observation="o" * 200,
                        action="a" * 50,
                        state={"round": r, "board": board},
                        llm_calls=[
                            {
                                "model": model,
                                "request": message,
                                "response": answer,
                                "input_tokens": 500,
                                "output_tokens": 250,
                                "latency_ms": 900,
                            }
                        ],
                        actions=[{"action_type": "move", "payload": {"to": seat}}],
                    )
            recorder.finish(outcome="win", winning_side="a")
        seconds = time.perf_counter() - started
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            rows = sum(
                conn.exec_driver_sql(f"select count(*) from {table}").scalar_one()
                for table in TABLES
            )
    finally:
        engine.dispose()
    return rows / seconds, rows, "recording API"


def run(make: Callable[[str], Settings], games: int, folder: Path) -> dict[str, float]:
    source, target = make("source"), make("target")
    for settings in (source, target):
        create_database(settings)
        upgrade(settings)
    recorded = make("recorded")
    create_database(recorded)
    upgrade(recorded)
    record_rate, _recorded_rows, label = record_rows_per_second(recorded, max(1, games // 10))
    engine = create_engine(source)
    try:
        arena_rows = build_arena(engine, games=games)
    finally:
        engine.dispose()
    rows = (
        arena_rows.games
        + arena_rows.players
        + arena_rows.turns
        + arena_rows.actions
        + arena_rows.llm_calls
        + arena_rows.snapshots
    )
    path = folder / f"{source.backend}.jsonl.gz"
    engine = create_engine(source)
    try:
        exported = export_games(engine, path)
    finally:
        engine.dispose()
    assert exported.rows == rows, (exported.rows, rows)
    engine = create_engine(target)
    try:
        imported = import_games(engine, path)
    finally:
        engine.dispose()
    assert imported.rows == rows and not imported.problems, imported.problems[:3]
    export_rate = rows / exported.seconds
    import_rate = rows / imported.seconds
    size = path.stat().st_size / 1e6
    print(
        f"{source.backend:<10} rows={rows} record={record_rate:,.0f} rows/s [{label}]  "
        f"export={export_rate:,.0f} rows/s ({size:.1f} MB gz)  import={import_rate:,.0f} rows/s"
    )
    return {"record": record_rate, "export": export_rate, "import": import_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=3000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="arenadb-bench-") as tmp:
        folder = Path(tmp)
        results["sqlite"] = run(
            lambda name: settings_for(f"sqlite:///{folder / name}.db"), args.games, folder
        )
        server = os.environ.get("ARENADB_BENCH_POSTGRES_URL")
        if server:
            created: list[Settings] = []

            def make_pg(name: str) -> Settings:
                url = parse_url(server).with_database(f"arenadb_bench_{uuid.uuid4().hex[:10]}")
                created.append(settings_for(url.render()))
                return created[-1]

            try:
                results["postgresql"] = run(make_pg, args.games, folder)
            finally:
                for settings in created:
                    drop_database(settings, missing_ok=True)
    for backend, rates in results.items():
        print(
            f"{backend}: export_vs_record={rates['export'] / rates['record']:.2f} "
            f"import_vs_record={rates['import'] / rates['record']:.2f}"
        )


if __name__ == "__main__":
    main()
