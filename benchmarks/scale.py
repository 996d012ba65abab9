"""Benchmark at the MindGames paper's scale (1x) and ten times past it (10x).

Builds arenas through the bulk path (`tests.support.synthetic.build_arena`): 1x is about 30,000
games, 900 agents and a million turns and LLM calls, each call with ~1 KB request messages, a
quarter of that in its response and half in its turn's observation (`--payload-bytes`); 10x is
300,000 games with 200-byte payloads (PostgreSQL only, behind `--scale 10`: it takes long).
`--games` builds a smaller "1x" when the machine cannot take the full one (say so when quoting).
`--workers N` builds a PostgreSQL arena from N processes at once; `--only 10 --save F` measures
one size into a file, and `--report F1 F2` prints the table and the last line of saved runs (to
build the two sizes side by side). `--keep` leaves a database in place, `--database NAME`
(with `--only`) and `--sqlite-file PATH` measure a kept one again without building it (or build
into it); a database named either way is never dropped.

Measures every inspection command warm through the library (median of `--runs`; export and
clean once each: they write; a query slower than 2 s once) and cold through the CLI (a fresh
`arenadb` process, best of `--cold-runs`; one run of a query slower than 2 s),
against `arenadb --help` and a `SELECT 1` measured in the same run. Clean of one month runs in a
transaction that is rolled back.

Goals (issue 19): every warm query <= 10 ms at 1x and <= 1.5x slower at 10x; a cold command
within 1.3x of `arenadb --help` plus the warm query. The last line prints the 10x/1x ratio of
each query (with --scale 10) and the worst warm time.

    python benchmarks/scale.py                           # 1x on SQLite (+ PostgreSQL if set)
    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/scale.py --scale 10            # 1x and 10x on PostgreSQL
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database
from arenadb.errors import ArenaDBError
from arenadb.events.reading import event_stats
from arenadb.inspection import games as inspect
from arenadb.inspection import replay, stats, usage
from arenadb.inspection.filters import GameFilter
from arenadb.models import Game, GameTurn
from arenadb.portability import upkeep
from arenadb.portability.export import export_games
from arenadb.ratings.board import bradley_terry_boards
from arenadb.ratings.leaderboard import agent_profile, top_agents
from arenadb.ratings.store import store_boards
from arenadb.schema.migrations import upgrade
from arenadb.urls import parse_url
from tests.support.synthetic import START, build_arena

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
PAPER_GAMES = 30_000
PAPER_AGENTS = 900
GOAL_MS = 10.0
GOAL_RATIO = 1.5
GOAL_COLD = 1.3
SLOW_MS = 2_000.0  # a query whose warm-up run takes longer is timed once more, warm and cold
BT_ROUNDS = 100  # bootstrap rounds of the Bradley-Terry board (the CLI's default is 1,000)
# The stored boards (`ratings boards`) get their own seed, so that "agents top (bt)" with the
# default seed still measures the live computation.
STORED_SEED = 18
ONCE = ("export one day", "clean one month")  # write work: timed once
INFO_ONLY = ("models stats --exact", "baseline: SELECT 1")
DAY = START + timedelta(days=10)
MONTH = START + timedelta(days=30)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def select_one(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).scalar()


def clean_rolled_back(engine: sa.Engine) -> int:
    """What `clean --before <a month in> --what all` does, in a transaction rolled back."""
    rows = 0
    with engine.connect() as conn, conn.begin() as transaction:
        for category in upkeep.ALL_CLEAN:
            for _name, _action, table, where in upkeep._statements(category, MONTH):
                rows += upkeep._apply(conn, category, table, where, False)
        transaction.rollback()
    return rows


def probes(engine: sa.Engine) -> dict[str, Any]:
    """The long game (most turns) to replay, a mid-arena game and agent, a busy model."""
    with engine.connect() as conn:
        long_game = conn.execute(
            sa.select(GameTurn.game_id)
            .where(GameTurn.game_id.in_(sa.select(Game.id).order_by(Game.id).limit(200)))
            .group_by(GameTurn.game_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).scalar_one()
    return {"long": long_game, "game": 100, "agent": 3, "model": "o3-mini"}


def operations(engine: sa.Engine, folder: Path) -> dict[str, tuple[Callable[[], Any], list[str]]]:
    """Name -> (the library call, the same command's CLI arguments)."""
    p = probes(engine)
    day = DAY.date().isoformat()
    next_day = (DAY + timedelta(days=1)).date().isoformat()
    out = folder / f"day-{uuid.uuid4().hex[:6]}.jsonl"
    one_day = GameFilter(since=DAY, until=DAY + timedelta(days=1))
    return {
        "games list": (lambda: inspect.list_games(engine), ["games", "list"]),
        "games list --status failed": (
            lambda: inspect.list_games(engine, status="failed"),
            ["games", "list", "--status", "failed"],
        ),
        "games list --type FourX-v0": (
            lambda: inspect.list_games(engine, game_type="FourX-v0"),
            ["games", "list", "--type", "FourX-v0"],
        ),
        "games list --agent": (
            lambda: inspect.list_games(engine, agent=p["agent"]),
            ["games", "list", "--agent", str(p["agent"])],
        ),
        "games list --model": (
            lambda: inspect.list_games(engine, model=p["model"]),
            ["games", "list", "--model", p["model"]],
        ),
        "games list --since --until": (
            lambda: inspect.list_games(engine, since=DAY, until=DAY + timedelta(days=1)),
            ["games", "list", "--since", day, "--until", next_day],
        ),
        "games list --offset 1000": (
            lambda: inspect.list_games(engine, offset=1_000),
            ["games", "list", "--offset", "1000"],
        ),
        "game info": (
            lambda: inspect.game_info(engine, p["game"]),
            ["game", "info", str(p["game"])],
        ),
        "game replay (long game)": (
            lambda: replay.game_replay(engine, p["long"]),
            ["game", "replay", str(p["long"])],
        ),
        "agents top (bt)": (
            lambda: bradley_terry_boards(engine, rounds=BT_ROUNDS, limit=20),
            ["agents", "top", "--method", "bt", "--rounds", str(BT_ROUNDS)],
        ),
        "agents top (bt, stored)": (
            lambda: bradley_terry_boards(engine, rounds=BT_ROUNDS, seed=STORED_SEED, limit=20),
            ["agents", "top", "--rounds", str(BT_ROUNDS), "--seed", str(STORED_SEED)],
        ),
        "agents top (trueskill)": (
            lambda: top_agents(engine, system="trueskill"),
            ["agents", "top", "--method", "trueskill"],
        ),
        "agents top (openskill)": (
            lambda: top_agents(engine, system="openskill"),
            ["agents", "top", "--method", "openskill"],
        ),
        "agent info": (
            lambda: agent_profile(engine, p["agent"]),
            ["agent", "info", str(p["agent"])],
        ),
        "models stats": (lambda: usage.models_stats(engine), ["models", "stats"]),
        "models stats --exact": (
            lambda: usage.models_stats(engine, exact=True),
            ["models", "stats", "--exact"],
        ),
        "db stats": (lambda: stats.db_stats(engine), ["db", "stats"]),
        "events stats": (lambda: event_stats(engine), ["events", "stats"]),
        "export one day": (
            lambda: export_games(engine, out, one_day, force=True),
            ["export", "--output", str(out), "--since", day, "--until", next_day, "--force"],
        ),
        "clean one month": (lambda: clean_rolled_back(engine), []),
        "baseline: SELECT 1": (lambda: select_one(engine), []),
    }


def build(settings: Settings, games: int, payload: int, workers: int) -> sa.Engine:
    create_database(settings)
    upgrade(settings, "head")
    engine = create_engine(settings)
    start = time.perf_counter()
    if settings.backend != "postgresql":
        workers = 1  # parallel parts would queue on SQLite's one writer
    built = build_arena(
        engine, games=games, agents=PAPER_AGENTS, payload_bytes=payload, workers=workers
    )
    if settings.backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    print(
        f"  {settings.backend} {games:,} games: built in {time.perf_counter() - start:.0f} s "
        f"({built.turns:,} turns, {built.llm_calls:,} LLM calls, {len(built.agent_ids)} agents, "
        f"{payload} B payloads, {workers} worker(s), load {_load()})",
        file=sys.stderr,
        flush=True,
    )
    return engine


def warm(ops: dict[str, tuple[Callable[[], Any], list[str]]], runs: int) -> dict[str, float]:
    times: dict[str, float] = {}
    for name, (call, _argv) in ops.items():
        start = time.perf_counter()
        call()  # warm: pool, statement cache, pages in memory
        slow = (time.perf_counter() - start) * 1000 > SLOW_MS
        samples = []
        for _ in range(1 if name in ONCE or slow else runs):
            start = time.perf_counter()
            call()
            samples.append((time.perf_counter() - start) * 1000)
        times[name] = statistics.median(samples)
    return times


def cli_ms(url: str, argv: list[str], runs: int = 2) -> float:
    env = {**os.environ, "ARENADB_DATABASE_URL": url}
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(["arenadb", *argv], env=env, capture_output=True, check=False)
        best = min(best, (time.perf_counter() - start) * 1000)
        if done.returncode != 0:  # said, and left out: the warm figures stay
            print(
                f"arenadb {' '.join(argv)} failed: {done.stderr.decode()[-300:]}", file=sys.stderr
            )
            return float("nan")
    return best


def measure(
    label: str, settings: Settings, games: int, payload: int, args: argparse.Namespace, folder: Path
):
    engine = create_engine(settings) if _built(settings) else None
    if engine is None:
        engine = build(settings, games, payload, args.workers)
    else:
        print(f"  {label}: measuring the arena already in it", file=sys.stderr, flush=True)
    try:
        skip = set(args.skip.split(";")) if args.skip else set()
        if "agents top (bt, stored)" not in skip:
            stored = store_boards(engine, rounds=BT_ROUNDS, seed=STORED_SEED)
            print(
                f"  ratings boards: {len(stored.boards)} boards stored in {stored.seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        ops = {k: v for k, v in operations(engine, folder).items() if k not in skip}
        times = warm(ops, args.runs)
        url = settings.database_url
        help_ms = cli_ms(url, ["--help"], runs=max(3, args.cold_runs))
        cold = {
            name: cli_ms(url, argv, 1 if times[name] > SLOW_MS else args.cold_runs)
            for name, (_c, argv) in ops.items()
            if argv
        }
        result = label, times, cold, help_ms
        if args.save:
            saved = json.loads(args.save.read_text()) if args.save.exists() else []
            args.save.write_text(json.dumps([*saved, result], indent=1))
        print(f"  {label} measured, load {_load()}", file=sys.stderr, flush=True)
        return result
    finally:
        engine.dispose()
        # A database the user named (--database, --sqlite-file) is theirs: never dropped.
        named = args.sqlite_file if settings.backend == "sqlite" else args.database
        if not args.keep and not named:
            drop_database(settings, missing_ok=True)


def _built(settings: Settings) -> bool:
    """Whether the database exists and holds an arena (`--database` of a kept one)."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.select(sa.func.count()).select_from(Game)).scalar())
    except (sa.exc.SQLAlchemyError, ArenaDBError):  # missing, or not an arena
        return False
    finally:
        engine.dispose()


def report(results: list[tuple[str, dict[str, float], dict[str, float], float]]) -> None:
    names = list(results[0][1])
    width = max(map(len, names)) + 2
    header = f"{'query':<{width}}" + "".join(f"{label + ' warm':>22}" for label, *_ in results)
    header += "".join(f"{label + ' cold/(help+warm)':>30}" for label, *_ in results)
    print(header)
    print("-" * len(header))
    for name in names:
        line = f"{name:<{width}}"
        for _label, times, _cold, _help in results:
            line += f"{times[name]:>19.2f} ms" if name in times else f"{'-':>22}"
        for _label, times, cold, help_ms in results:
            if name in cold:
                ratio = cold[name] / (help_ms + times[name])
                line += f"{cold[name]:>14.0f} ms = {ratio:>5.2f}x"
                line += " " if ratio <= GOAL_COLD else "!"
            else:
                line += f"{'':>30}"
        print(line)
    for label, _times, _cold, help_ms in results:
        print(f"{label}: arenadb --help {help_ms:.0f} ms")


def markdown(results: list[tuple[str, dict[str, float], dict[str, float], float]]) -> str:
    """The figures as docs/performance.md's tables: warm (with the 10x/1x ratio and the goals)
    and cold (each command against `arenadb --help` plus its warm time)."""
    labels = [label for label, *_ in results]
    by = {label: (times, cold, help_ms) for label, times, cold, help_ms in results}
    one, ten = by.get("postgresql 1x"), by.get("postgresql 10x")
    lines = ["| warm, median (ms) | " + " | ".join(labels) + " | 10x/1x | goal met |"]
    lines.append("| --- |" + " ---: |" * (len(labels) + 1) + " --- |")
    for name in results[0][1]:
        if name == "baseline: SELECT 1":
            continue
        cells = [
            f"{by[label][0][name]:,.1f}" if name in by[label][0] else "not measured"
            for label in labels
        ]
        ratio, met = "", "for information"
        if name not in INFO_ONLY and name not in ONCE:
            small = all(by[label][0][name] <= GOAL_MS for label in labels if label.endswith("1x"))
            met = "yes" if small else "no"
        if one and ten and name in ten[0]:
            r = ten[0][name] / one[0][name]
            ratio = f"{r:.2f}"
            if met != "for information":
                met = "yes" if met == "yes" and r <= GOAL_RATIO else "no"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ratio} | {met} |")
    lines.append(
        "| baseline: SELECT 1 | "
        + " | ".join(f"{by[label][0]['baseline: SELECT 1']:,.2f}" for label in labels)
        + " | | |"
    )
    lines += ["", "| cold CLI: ms (x of `--help` + warm) | " + " | ".join(labels) + " |"]
    lines.append("| --- |" + " ---: |" * len(labels))
    lines.append(
        "| `arenadb --help` | " + " | ".join(f"{by[label][2]:,.0f}" for label in labels) + " |"
    )
    for name in results[0][2]:
        cells = []
        for label in labels:
            times, cold, help_ms = by[label]
            if name not in cold:
                cells.append("not measured")
                continue
            cells.append(f"{cold[name]:,.0f} ({cold[name] / (help_ms + times[name]):.2f}x)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def last_line(results: list[tuple[str, dict[str, float], dict[str, float], float]]) -> str:
    worst_name, worst_label, worst = "", "", 0.0
    for label, times, _cold, _help in results:
        for name, ms in times.items():
            if name not in INFO_ONLY and name not in ONCE and ms > worst:
                worst_name, worst_label, worst = name, label, ms
    ratios = "n/a (run --scale 10 for the 10x/1x ratios)"
    small = [r for r in results if r[0].endswith(" 1x")]
    large = [r for r in results if r[0].endswith(" 10x")]
    if small and large:
        one, ten = small[-1][1], large[-1][1]
        ratios = " ".join(
            f"{name.replace(' ', '_')}={ten[name] / one[name]:.2f}"
            for name in one
            if name not in INFO_ONLY and name in ten
        )
    return f"10x/1x: {ratios}; worst warm: {worst:.1f} ms ({worst_name}, {worst_label})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, choices=(1, 10), default=1)
    parser.add_argument("--games", type=int, default=PAPER_GAMES, help="games of the 1x arena")
    parser.add_argument("--payload-bytes", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=7, help="warm runs per query (median)")
    parser.add_argument("--cold-runs", type=int, default=2, help="CLI runs per command (best)")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes building a PostgreSQL arena at once"
    )
    parser.add_argument(
        "--only", type=int, choices=(1, 10), help="with --scale 10: build this PostgreSQL size only"
    )
    parser.add_argument(
        "--database", help="with --only: the PostgreSQL database (measured as is if it holds games)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the databases in place")
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        help="the SQLite 1x arena's file (measured as is if it holds games; kept)",
    )
    parser.add_argument("--save", type=Path, help="append each arena's figures to this JSON file")
    parser.add_argument(
        "--report", type=Path, nargs="+", help="print the table and last line of saved runs"
    )
    parser.add_argument(
        "--skip", help="queries not to measure, separated by ; (the stored board: not stored)"
    )
    parser.add_argument("--markdown", action="store_true", help="with --report: as tables")
    args = parser.parse_args()
    if args.report:
        saved = [tuple(r) for path in args.report for r in json.loads(path.read_text())]
        report(saved)
        if args.markdown:
            print(markdown(saved))
        print(last_line(saved))
        return 0
    backends = args.backends.split(",")
    pg_url = os.environ.get(PG_ENV)
    results = []
    with tempfile.TemporaryDirectory(prefix="arenadb_scale_") as name:
        folder = Path(name)
        if "sqlite" in backends and args.scale == 1:
            path = args.sqlite_file or folder / "x1.db"
            settings = load_settings(f"sqlite:///{path}", environ={}, cwd=name)
            results.append(
                measure("sqlite 1x", settings, args.games, args.payload_bytes, args, folder)
            )
        if "postgresql" in backends and pg_url:
            server = parse_url(pg_url)
            suffix = uuid.uuid4().hex[:8]
            sizes = [(1, args.payload_bytes)] + ([(10, 200)] if args.scale == 10 else [])
            sizes = [size for size in sizes if args.only in (None, size[0])]
            for factor, payload in sizes:
                settings = load_settings(
                    server.with_database(
                        args.database or f"arenadb_bench_scale_{suffix}_{factor}x"
                    ).render(),
                    environ={},
                    cwd=os.devnull,
                )
                label = f"postgresql {factor}x"
                games = args.games * factor
                results.append(measure(label, settings, games, payload, args, folder))
        elif "postgresql" in backends:
            print(f"PostgreSQL skipped: set {PG_ENV} to a server URL", file=sys.stderr)
    if not results:
        raise SystemExit("nothing measured (SQLite runs at --scale 1 only)")
    report(results)
    print(last_line(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
