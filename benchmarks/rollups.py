"""The seat and monthly usage rollups against what they replace, measured in the same run.

1. The Bradley-Terry board's cost column: `arenadb.ratings.board._agent_costs` (reads the seat
   rollup) against the scan it replaced (every LLM call of the pool's games joined to its
   seat's player, in slices of ids; kept here as the baseline), over every game type's pool and
   the unified one, on a synthetic arena (`tests.support.synthetic.build_arena`, 900 agents);
   then whole live boards (`bradley_terry_boards`) with either cost column.
2. `models stats`' reading: a sum over the monthly rollup against the same sum over the daily
   one, with `--days` days of 5 models in the daily rollup (625: the 10x arena's span); on
   PostgreSQL also the server's execution time (EXPLAIN ANALYZE).

SQLite in a temporary folder; PostgreSQL when ARENADB_BENCH_POSTGRES_URL names a server
(throwaway `arenadb_bench_*` databases, dropped at the end).

    python benchmarks/rollups.py [--games 5000] [--agents 900] [--days 625] [--rounds 100]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from arenadb.config import Settings, load_settings
from arenadb.db import create_database, create_engine, drop_database
from arenadb.db.bulk import id_slices
from arenadb.db.engine import write_transaction
from arenadb.db.rollups import agent_seats
from arenadb.inspection.usage import models_stats
from arenadb.models import GamePlayer, LLMCall, llm_usage_daily, llm_usage_monthly
from arenadb.models.usage import LATENCY_COLUMNS, SUMMED
from arenadb.ratings import board
from arenadb.ratings.replay import GAMES, counts_for_ratings
from arenadb.ratings.unified import merge_pools
from arenadb.schema.migrations import upgrade
from arenadb.urls import parse_url
from tests.support.synthetic import build_arena

PG_ENV = "ARENADB_BENCH_POSTGRES_URL"
_COUNTED = ("calls", "errors", "cost_unknown", *SUMMED, *LATENCY_COLUMNS)


def scanned_costs(conn: sa.Connection, pool: board.Pool) -> dict[int, board.AgentCost]:
    """The cost column before the seat rollup (arenadb 0.x up to migration 0013)."""
    calls = (
        sa.select(
            GamePlayer.agent_id,
            sa.func.count(LLMCall.id).label("calls"),
            sa.func.count(LLMCall.cost).label("priced"),
            sa.func.sum(LLMCall.cost).label("cost"),
            sa.func.count(sa.distinct(LLMCall.game_id)).label("logged_games"),
        )
        .join(
            GamePlayer,
            sa.and_(GamePlayer.game_id == LLMCall.game_id, GamePlayer.seat == LLMCall.seat),
        )
        .group_by(GamePlayer.agent_id)
    )
    totals: dict[int, list[float]] = {}
    for ids in id_slices(pool.game_ids):
        for r in conn.execute(calls.where(LLMCall.game_id.in_(ids))):
            total = totals.setdefault(r.agent_id, [0, 0, 0.0, 0])
            total[0] += r.calls
            total[1] += r.priced
            total[2] += float(r.cost or 0.0)
            total[3] += r.logged_games
    costs = {}
    for agent_id, (n, priced, cost, logged) in totals.items():
        record = pool.records.get(agent_id)
        complete = record is not None and logged >= record.games and priced == n
        costs[agent_id] = board.AgentCost(cost if priced else None, complete)
    return costs


def filtered_costs(conn: sa.Connection, pool: board.Pool) -> dict[int, board.AgentCost]:
    """The alternative measured against the library's: every counted seat row of the type read,
    the pool's games kept in Python."""
    query = agent_seats().where(*counts_for_ratings(GAMES))
    if pool.game_type_id:
        query = query.where(GAMES.c.game_type_id == pool.game_type_id)
    in_pool = set(pool.game_ids)
    totals: dict[int, list[float]] = {}
    logged: dict[int, set[int]] = {}
    for r in conn.execute(query):
        if r.game_id in in_pool:
            total = totals.setdefault(r.agent_id, [0, 0, 0.0])
            total[0] += r.calls
            total[1] += r.calls - r.cost_unknown
            total[2] += r.cost
            logged.setdefault(r.agent_id, set()).add(r.game_id)
    costs = {}
    for agent_id, (n, priced, cost) in totals.items():
        record = pool.records.get(agent_id)
        complete = record is not None and len(logged[agent_id]) >= record.games and priced == n
        costs[agent_id] = board.AgentCost(float(cost) if priced else None, complete)
    return costs


def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_board(settings: Settings, games: int, agents: int, runs: int, rounds: int) -> None:
    create_database(settings)
    upgrade(settings, "head")
    engine = create_engine(settings)
    try:
        start = time.perf_counter()
        built = build_arena(engine, games=games, agents=agents)
        print(
            f"  {settings.backend}: {games:,} games, {agents} agents, {built.llm_calls:,} calls "
            f"built in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
        )
        if settings.backend == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        with engine.connect() as conn:
            pools = board.load_pools(conn, None)
            pools.append(merge_pools(pools)[0])
            for pool in pools:  # the same column either way
                want = scanned_costs(conn, pool)
                assert board._agent_costs(conn, pool).keys() == want.keys()
                assert filtered_costs(conn, pool).keys() == want.keys()

            def each(cost: Callable[..., Any]) -> Callable[[], None]:
                return lambda: [cost(conn, pool) for pool in pools]

            old = median_seconds(each(scanned_costs), runs)
            new = median_seconds(each(board._agent_costs), runs)
            alternative = median_seconds(each(filtered_costs), runs)
        print(
            f"{settings.backend} cost column, {len(pools)} pools ({games:,} games): "
            f"scan {old * 1000:,.1f} ms, seat rollup {new * 1000:,.1f} ms "
            f"(rows filtered in Python: {alternative * 1000:,.1f} ms), "
            f"rollup_vs_scan={new / old:.3f}"
        )
        whole = {}
        for name, cost in (("scan", scanned_costs), ("rollup", board._agent_costs)):
            board._agent_costs = cost  # type: ignore[assignment]
            try:
                whole[name] = median_seconds(
                    lambda: board.bradley_terry_boards(engine, rounds=rounds), max(1, runs // 2)
                )
            finally:
                board._agent_costs = original
        print(
            f"{settings.backend} live boards (bradley_terry_boards, {rounds} rounds): "
            f"with the scan {whole['scan']:.2f} s, with the seat rollup {whole['rollup']:.2f} s"
        )
    finally:
        engine.dispose()
        drop_database(settings, missing_ok=True)


original = board._agent_costs


def _fill_days(engine: sa.Engine, days: int) -> None:
    """`days` days of 5 models in the daily rollup, and the months they sum to."""
    rng = random.Random(7)
    first = date(2025, 1, 1)
    rows = []
    for d in range(days):
        for model_id in range(1, 6):
            row: dict[str, Any] = {"model_id": model_id, "request_model": ""}
            row["day"] = first + timedelta(days=d)
            row.update({c: rng.randrange(1, 500) for c in _COUNTED})
            row["cost"] = rng.random() * 10
            rows.append(row)
    daily = llm_usage_daily.c
    month: Any = (
        sa.cast(sa.func.date_trunc("month", daily.day), sa.Date)
        if engine.dialect.name == "postgresql"
        else sa.func.substr(daily.day, 1, 8) + "01"
    )
    with write_transaction(engine) as conn:
        conn.execute(sa.delete(llm_usage_daily))
        conn.execute(sa.delete(llm_usage_monthly))
        conn.execute(sa.insert(llm_usage_daily), rows)
        conn.execute(
            sa.insert(llm_usage_monthly).from_select(
                ["model_id", "request_model", "month", *_COUNTED],
                sa.select(
                    daily.model_id,
                    daily.request_model,
                    month,
                    *(sa.func.sum(daily[c]) for c in _COUNTED),
                ).group_by(daily.model_id, daily.request_model, month),
            )
        )


def _total(table: sa.Table) -> sa.Select[Any]:
    t = table.c
    return sa.select(t.model_id, t.request_model, *(sa.func.sum(t[c]) for c in _COUNTED)).group_by(
        t.model_id, t.request_model
    )


def bench_models_stats(settings: Settings, days: int, runs: int) -> None:
    create_database(settings)
    upgrade(settings, "head")
    engine = create_engine(settings)
    try:
        _fill_days(engine, days)
        with engine.connect() as conn:
            months = conn.execute(sa.select(sa.func.count()).select_from(llm_usage_monthly))
            months_rows = months.scalar_one()
            timed = {}
            for table in (llm_usage_daily, llm_usage_monthly):
                query = _total(table)
                timed[table.name] = median_seconds(lambda q=query: conn.execute(q).all(), runs)
            server = {}
            if settings.backend == "postgresql":
                for table in (llm_usage_daily, llm_usage_monthly):
                    sql = str(_total(table).compile(conn, compile_kwargs={"literal_binds": True}))
                    samples = []
                    for _ in range(runs):
                        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                        samples.append(plan.scalar_one()[0]["Execution Time"])
                    server[table.name] = statistics.median(samples)
        whole = median_seconds(lambda: models_stats(engine), runs)
        line = (
            f"{settings.backend} models stats' sum, {days} days x 5 models ({days * 5:,} daily "
            f"rows, {months_rows} monthly): daily {timed['llm_usage_daily'] * 1000:.2f} ms, "
            f"monthly {timed['llm_usage_monthly'] * 1000:.2f} ms"
        )
        if server:
            line += (
                f"; server time daily {server['llm_usage_daily']:.2f} ms, "
                f"monthly {server['llm_usage_monthly']:.2f} ms"
            )
        print(line + f"; models_stats() {whole * 1000:.2f} ms")
    finally:
        engine.dispose()
        drop_database(settings, missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=5_000)
    parser.add_argument("--agents", type=int, default=900)
    parser.add_argument("--days", type=int, default=625)
    parser.add_argument("--rounds", type=int, default=100, help="bootstrap rounds of a board")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--skip-board", action="store_true")
    args = parser.parse_args()
    makers: list[Callable[[str], Settings]] = []
    with tempfile.TemporaryDirectory(prefix="arenadb_bench_") as folder:
        makers.append(
            lambda name: load_settings(
                f"sqlite:///{Path(folder) / f'{name}.db'}", environ={}, cwd=folder
            )
        )
        pg_url = os.environ.get(PG_ENV)
        if pg_url and not args.sqlite_only:
            server = parse_url(pg_url)
            suffix = uuid.uuid4().hex[:8]
            makers.append(
                lambda name: load_settings(
                    server.with_database(f"arenadb_bench_{suffix}_{name}").render(),
                    environ={},
                    cwd=folder,
                )
            )
        for make in makers:
            bench_models_stats(make("days"), args.days, args.runs)
            if not args.skip_board:
                bench_board(make("board"), args.games, args.agents, args.runs, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
