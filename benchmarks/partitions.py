"""PostgreSQL partitions (migration 0013): pruning of recent-game queries, and retention by
partition drop against the DELETE path, both layouts in the same run.

Builds the same synthetic arena (`tests.support.synthetic.build_arena`, bulk path; game n starts
at START + 3n minutes, so 20,000 games span 41 days) twice: once at head (partitioned) and once
at 0011 (the plain tables, the DELETE path). On each it EXPLAINs a query on the newest games and
on one old game (which partitions the plan reads), times that query warm, then times `clean
--before <START + 30 days> --what game-detail` (turns, actions, LLM calls and snapshots of the
month's games) and reports what it did, the dead rows it left behind (bloat, before VACUUM)
and the table sizes after. The last line prints the DELETE/drop time ratio.

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
from datetime import timedelta

import sqlalchemy as sa

from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database, partitions
from arenadb.models import GameTurn, LLMCall
from arenadb.portability.upkeep import clean_database
from arenadb.schema.migrations import upgrade
from arenadb.urls import parse_url
from tests.support.synthetic import START, build_arena

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
MONTH = START + timedelta(days=30)


def _build(settings: Settings, revision: str, games: int, payload: int) -> sa.Engine:
    create_database(settings)
    upgrade(settings, revision)
    engine = create_engine(settings)
    start = time.perf_counter()
    built = build_arena(engine, games=games, payload_bytes=payload)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    print(
        f"  {revision}: {games:,} games built in {time.perf_counter() - start:.0f} s "
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


def _dead_rows_and_size(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
        dead = conn.execute(
            sa.text(
                "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables "
                "WHERE relname ~ '^(game_turns|player_actions|llm_calls|game_snapshots)'"
            )
        ).scalar_one()
        size = conn.execute(
            sa.text(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "WHERE c.relkind = 'r' "
                "AND c.relname ~ '^(game_turns|player_actions|llm_calls|game_snapshots)'"
            )
        ).scalar_one()
    return int(dead), int(size or 0)


def run(settings: Settings, revision: str, games: int, payload: int) -> float:
    engine = _build(settings, revision, games, payload)
    try:
        with engine.connect() as conn:
            newest = int(conn.execute(sa.text("SELECT max(id) FROM games")).scalar_one())
            for name, query in _queries(newest).items():
                read = partitions.explain(conn, query) or ["(plain tables)"]
                print(
                    f"  {revision}: {name}: {_warm_ms(engine, query):.2f} ms warm, "
                    f"plan reads {', '.join(read)}",
                    file=sys.stderr,
                )
        start = time.perf_counter()
        report = clean_database(engine, before=MONTH, what=["game-detail"])
        seconds = time.perf_counter() - start
        dead, size = _dead_rows_and_size(engine)
        done = ", ".join(f"{i.table} {i.action} {i.rows:,}" for i in report.items if i.rows)
        print(
            f"  {revision}: clean of one month: {seconds * 1000:.0f} ms ({done}; "
            f"{len(report.partitions)} partitions dropped); dead rows left {dead:,}, "
            f"tables now {size / 1e6:.1f} MB",
            file=sys.stderr,
            flush=True,
        )
        return seconds
    finally:
        engine.dispose()
        drop_database(settings, missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20_000)
    parser.add_argument("--payload-bytes", type=int, default=200)
    args = parser.parse_args()
    url = os.environ.get(PG_ENV)
    if not url:
        raise SystemExit(f"set {PG_ENV} to a PostgreSQL server URL")
    server = parse_url(url)
    suffix = uuid.uuid4().hex[:8]
    times = {}
    for revision in ("head", "0011"):
        name = f"arenadb_bench_part_{suffix}_{revision}"
        settings = load_settings(server.with_database(name).render(), environ={}, cwd=os.devnull)
        times[revision] = run(settings, revision, args.games, args.payload_bytes)
    ratio = times["0011"] / times["head"]
    print(
        f"clean of one month, {args.games:,} games: partition drop {times['head'] * 1000:.0f} ms, "
        f"DELETE {times['0011'] * 1000:.0f} ms: DELETE/drop = {ratio:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
