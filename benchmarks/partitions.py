"""PostgreSQL partitions (migration 0013): pruning of recent-game queries, and retention by
partition drop against the DELETE path on the same data in the same run.

Builds a synthetic arena at head (`tests.support.synthetic.build_arena`, bulk path; game n
starts at START + 3n minutes, so 20,000 games span 41 days), EXPLAINs a query on the newest
games and one on an old game (which partitions each plan reads) and times them warm. Then, in
transactions rolled back, the rows of the first range of 10,000 games are removed twice: by
DELETE (the path SQLite and a partly old range take) and by dropping the range's partitions
(both taking the LLM calls out of the usage rollup); then `clean --before <START + 30 days>
--what game-detail`, whole ranges dropped and the rest deleted, against the DELETE path alone
for the same month. (Committed, each deleted row stays as a dead row until VACUUM; a dropped
partition leaves none.) The last line prints the DELETE/drop ratios.

    ARENADB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python benchmarks/partitions.py --games 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database, partitions
from arenadb.db.rollups import take_calls
from arenadb.models import Game, GameSnapshot, GameTurn, LLMCall, PlayerAction
from arenadb.portability import upkeep
from arenadb.schema.migrations import upgrade
from arenadb.urls import parse_url
from tests.support.synthetic import START, build_arena

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
MONTH = START + timedelta(days=30)


def _build(settings: Settings, games: int, payload: int) -> sa.Engine:
    create_database(settings)
    upgrade(settings, "head")
    engine = create_engine(settings)
    start = time.perf_counter()
    built = build_arena(engine, games=games, payload_bytes=payload)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    print(
        f"  {games:,} games built in {time.perf_counter() - start:.0f} s "
        f"({built.turns:,} turns, {built.llm_calls:,} LLM calls)",
        file=sys.stderr,
        flush=True,
    )
    return engine


def _queries(newest: int) -> dict[str, sa.Select]:
    turns, calls = GameTurn.__table__, LLMCall.__table__
    return {
        "turns of the newest 100 games": sa.select(sa.func.count())
        .select_from(turns)
        .where(turns.c.game_id > newest - 100),
        "LLM calls of one old game": sa.select(calls.c.id, calls.c.input_tokens).where(
            calls.c.game_id == 100
        ),
    }


def _warm_ms(engine: sa.Engine, query: sa.Select, runs: int = 9) -> float:
    samples = []
    with engine.connect() as conn:
        conn.execute(query).all()
        for _ in range(runs):
            start = time.perf_counter()
            conn.execute(query).all()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _rolled_back(engine: sa.Engine, remove: Callable[[Connection], int]) -> tuple[float, int]:
    """Seconds `remove` takes in a transaction that is then rolled back, and its row count."""
    with engine.connect() as conn:
        transaction = conn.begin()
        start = time.perf_counter()
        rows = remove(conn)
        seconds = time.perf_counter() - start
        transaction.rollback()
    return seconds, rows


def _delete(where: Callable[[sa.Table], Any]) -> Callable[[Connection], int]:
    def remove(conn: Connection) -> int:
        rows = 0
        for model in (LLMCall, PlayerAction, GameSnapshot, GameTurn):
            table = model.__table__
            if model is LLMCall:
                take_calls(conn, where(table))
            rows += int(conn.execute(sa.delete(table).where(where(table))).rowcount or 0)
        return rows

    return remove


def _drop_first_range(conn: Connection) -> int:
    (first, *_rest) = partitions.partitions(conn)
    return sum(partitions.drop_partitions(conn, [first]).values())


def _clean_month(conn: Connection) -> int:
    report = upkeep.CleanReport(before=MONTH, dry_run=False)
    upkeep._game_detail(conn, MONTH, False, report)
    return report.rows


def run(settings: Settings, games: int, payload: int) -> dict[str, float]:
    engine = _build(settings, games, payload)
    try:
        with engine.connect() as conn:
            newest = int(conn.execute(sa.text("SELECT max(id) FROM games")).scalar_one())
            for name, query in _queries(newest).items():
                print(
                    f"  {name}: {_warm_ms(engine, query):.2f} ms warm, plan reads "
                    f"{', '.join(partitions.explain(conn, query))}",
                    file=sys.stderr,
                )
        size = partitions.GAMES_PER_PARTITION
        month = sa.select(Game.id).where(Game.finished_at < MONTH)
        cases = {
            "first range, DELETE": _delete(lambda t: t.c.game_id.between(0, size - 1)),
            "first range, partition drop": _drop_first_range,
            "one month, DELETE": _delete(lambda t: t.c.game_id.in_(month)),
            "one month, clean (drops + DELETE)": _clean_month,
        }
        times = {}
        for name, remove in cases.items():
            seconds, rows = _rolled_back(engine, remove)
            times[name] = seconds
            print(f"  {name}: {seconds * 1000:,.0f} ms, {rows:,} rows", file=sys.stderr, flush=True)
        return times
    finally:
        engine.dispose()
        drop_database(settings, missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20_000)
    parser.add_argument("--payload-bytes", type=int, default=200)
    args = parser.parse_args()
    if args.games <= partitions.GAMES_PER_PARTITION:
        raise SystemExit(f"--games must be over {partitions.GAMES_PER_PARTITION:,}: a full range")
    url = os.environ.get(PG_ENV)
    if not url:
        raise SystemExit(f"set {PG_ENV} to a PostgreSQL server URL")
    name = f"arenadb_bench_part_{uuid.uuid4().hex[:8]}"
    server = parse_url(url)
    settings = load_settings(server.with_database(name).render(), environ={}, cwd=os.devnull)
    t = run(settings, args.games, args.payload_bytes)
    first = t["first range, DELETE"] / t["first range, partition drop"]
    month = t["one month, DELETE"] / t["one month, clean (drops + DELETE)"]
    print(f"DELETE/drop: first range of games {first:.1f}x, one month {month:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
