"""Rows per second of `export` and `import`, next to the recording path's rows/s, same run.

Builds a synthetic arena (`arenadb.ops._synthetic.build_arena`) in a temporary SQLite database
(and in a throwaway PostgreSQL database when ARENADB_BENCH_POSTGRES_URL names a server; created
and dropped here), then times on each backend:

- record: the recording path writing the games. Until the recording API (`arenadb.ops.recording`)
  is part of the build, `build_arena`'s bulk insert stands in for it and the output says so;
  `record_rows_per_second` is the one function to switch over.
- export: `export_games` of every game to a .jsonl.gz file;
- import: `import_games` of that file into a second, empty database.

Rows are games + seats + turns + actions + LLM calls + snapshots. Prints one line per backend
and the ratios export/record and import/record last.

    python benchmarks/portability.py [--games 3000]
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path, and benchmarks/inspect.py would shadow
# the standard library's `inspect`: take the folder out.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from arenadb.config import Settings, load_settings, parse_url  # noqa: E402
from arenadb.db import create_database, create_engine, drop_database  # noqa: E402
from arenadb.ops._synthetic import build_arena  # noqa: E402
from arenadb.ops.migrations import upgrade  # noqa: E402
from arenadb.ops.portability import export_games, import_games  # noqa: E402


def settings_for(url: str) -> Settings:
    return load_settings(url, environ={}, cwd=Path("/nonexistent-arenadb-cwd"))


def recording_api_available() -> bool:
    try:
        import arenadb.ops.recording  # noqa: F401
    except ImportError:
        return False
    return True


def record_rows_per_second(settings: Settings, games: int) -> tuple[float, int, str]:
    """Write `games` games the way an arena does; (rows/s, rows, what was measured).

    TODO(lead): once `arenadb.ops.recording` is merged, record the games through it here.
    """
    engine = create_engine(settings)
    try:
        started = time.perf_counter()
        arena = build_arena(engine, games=games)
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    rows = (
        arena.games
        + arena.players
        + arena.turns
        + arena.actions
        + arena.llm_calls
        + arena.snapshots
    )
    label = "build_arena bulk insert (recording API not available in this build)"
    if recording_api_available():
        label = "build_arena bulk insert (recording API present: switch this benchmark to it)"
    return rows / seconds, rows, label


def run(make: Callable[[str], Settings], games: int, folder: Path) -> dict[str, float]:
    source, target = make("source"), make("target")
    for settings in (source, target):
        create_database(settings)
        upgrade(settings)
    record_rate, rows, label = record_rows_per_second(source, games)
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
