"""The usage rollup equals a full scan of the LLM calls after every path that writes them:
recording, import, copy, clean and rebuild, on both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import arenadb
from arenadb import Seat
from arenadb.catalog.prices import set_price
from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine
from arenadb.db.engine import write_transaction
from arenadb.db.rollups import rebuild_rollups
from arenadb.inspection.usage import histogram_percentile, models_stats
from arenadb.models import llm_usage_daily, llm_usage_monthly, llm_usage_seats
from arenadb.models.usage import (
    LATENCY_BUCKETS,
    LATENCY_EDGES_MS,
    LATENCY_ERROR,
    SUMMED,
    bucket_bounds,
    latency_bucket,
)
from arenadb.portability.copy import copy_database
from arenadb.portability.export import export_games
from arenadb.portability.importing import import_games
from arenadb.portability.upkeep import clean_database
from arenadb.schema.migrations import downgrade, upgrade
from tests.conftest import settings_for

T0 = datetime(2026, 3, 1, 23, 59, 0, tzinfo=timezone.utc)
TOTALS = (
    "calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_unknown",
)


def _record(settings: Settings, games: int = 3) -> None:
    """Games through the public recorder: calls over two UTC days, errors, unpriced and
    untimed calls, calls of a model outside the catalog, small batches."""
    with arenadb.connect(settings=settings) as arena:
        arena.register_model("priced", input_price_per_mtok=1.0, output_price_per_mtok=2.0)
        # Its calls read a cache: without a price for that, their cost would be unknown.
        set_price(
            arena.engine, "priced", effective_from=date(1970, 1, 1), cache_read=0.5, cache_write=1.5
        )
        arena.register_model("free")
        agents = [
            arena.register_agent(model=m, kind="plain", prompt=("p", m)) for m in ("priced", "free")
        ]
        for g in range(games):
            recorder = arena.start_game(
                "Duel-v0", [Seat(agents[0], side="a"), Seat(agents[1], side="b")], batch_turns=2
            )
            for turn in range(5):
                at = T0 + timedelta(seconds=30 * turn + g)
                calls: list[dict[str, Any]] = [
                    {
                        "model": "priced",
                        "started_at": at,
                        "latency_ms": 120 * (turn + 1) + g,
                        "input_tokens": 100 + turn,
                        "output_tokens": 10,
                        "cache_read_tokens": 7,
                    },
                    {"model": "free", "latency_ms": None, "input_tokens": 5, "status": "error"},
                    {
                        "request_model": "vendor/unlisted",
                        "finished_at": at,
                        "latency_ms": 0 if turn == 0 else 3_000_000,
                        "cost": 0.125,
                        "reasoning_tokens": 3,
                        "status": "timeout" if turn == 4 else "ok",
                    },
                ]
                recorder.record_turn(seat=turn % 2, action=f"move {turn}", llm_calls=calls)
            recorder.finish(outcome="draw")


def _rollup(
    engine: sa.Engine | sa.Connection, table: sa.Table = llm_usage_daily
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """A rollup table's rows by key (dates as ISO text)."""
    keys = [c.name for c in table.primary_key.columns]
    if isinstance(engine, sa.Connection):
        rows = engine.execute(sa.select(table)).mappings().all()
    else:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table)).mappings().all()
    return {tuple(_text(r[k]) for k in keys): dict(r) for r in rows}


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _seats_scanned(engine: sa.Engine) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The seat rollup as a scan of the calls computes it (in the test, not the library)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT game_id, seat, count(*) AS calls, "
                "sum(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END) AS errors, "
                "sum(CASE WHEN cost IS NULL THEN 1 ELSE 0 END) AS cost_unknown, "
                + ", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in SUMMED)
                + " FROM llm_calls WHERE seat IS NOT NULL GROUP BY game_id, seat"
            )
        ).mappings()
        return {(r["game_id"], r["seat"]): dict(r) for r in rows}


def _months_of_days(days: dict[tuple[Any, ...], dict[str, Any]]) -> dict[tuple[Any, ...], Any]:
    months: dict[tuple[Any, ...], dict[str, Any]] = {}
    for (model_id, name, day), row in days.items():
        month = months.setdefault((model_id, name, day[:8] + "01"), {})
        for column, value in row.items():
            if column not in ("model_id", "request_model", "day"):
                month[column] = month.get(column, 0) + value
    return months


def _same_rows(got: dict[Any, dict[str, Any]], want: dict[Any, dict[str, Any]], what: str) -> None:
    assert got.keys() == want.keys(), what
    for key, row in want.items():
        have = got[key]
        for column, value in row.items():
            if column == "cost":
                assert have[column] == pytest.approx(value, rel=1e-12), (what, key)
            elif column not in ("model_id", "request_model", "day", "month"):
                assert have[column] == value, (what, key, column)


def assert_rollup_exact(engine: sa.Engine) -> None:
    """models stats from the rollup equal a full scan, and the table equals a rebuild."""
    fast = {s.model: s for s in models_stats(engine)}
    scan = {s.model: s for s in models_stats(engine, exact=True)}
    assert fast.keys() == scan.keys()
    for name, exact in scan.items():
        got = fast[name]
        assert [getattr(got, f) for f in TOTALS] == [getattr(exact, f) for f in TOTALS], name
        assert (got.cost is None) == (exact.cost is None), name
        if exact.cost is not None:
            assert got.cost == pytest.approx(exact.cost, rel=1e-12), name
        for p in ("latency_p50_ms", "latency_p95_ms"):
            want = getattr(exact, p)
            if want is None:
                assert getattr(got, p) is None
            elif want < LATENCY_EDGES_MS[-1]:
                assert getattr(got, p) == pytest.approx(want, rel=LATENCY_ERROR), (name, p)
    levels = (llm_usage_daily, llm_usage_monthly, llm_usage_seats)
    kept = {table.name: _rollup(engine, table) for table in levels}
    with engine.connect() as conn, conn.begin() as transaction:
        rebuild_rollups(conn)
        rebuilt = {table.name: _rollup(conn, table) for table in levels}
        transaction.rollback()
    for table in levels:
        _same_rows(kept[table.name], rebuilt[table.name], table.name)
    # Each level against what it is a sum of: the months of the days, the seats of the calls.
    _same_rows(kept["llm_usage_monthly"], _months_of_days(kept["llm_usage_daily"]), "months")
    _same_rows(kept["llm_usage_seats"], _seats_scanned(engine), "seats")


def test_recording_keeps_the_rollup_exact(db_settings: Settings) -> None:
    _record(db_settings)
    engine = create_engine(db_settings)
    try:
        assert_rollup_exact(engine)
        rows = _rollup(engine)
        days = {key[2] for key in rows}
        assert days == {"2026-03-01", "2026-03-02", "1970-01-01"}  # untimed calls: 1970-01-01
        unlisted = [r for key, r in rows.items() if key[:2] == (0, "vendor/unlisted")]
        assert sum(r["calls"] for r in unlisted) == 15 and sum(r["errors"] for r in unlisted) == 3
        stats = {s.model: s for s in models_stats(engine)}
        assert stats["free"].cost is None and stats["free"].cost_unknown == 15
        assert stats["free"].latency_p50_ms is None and stats["free"].errors == 15
        assert stats["priced"].cost_unknown == 0 and stats["priced"].cache_read_tokens == 105
        assert stats["vendor/unlisted"].cost == pytest.approx(15 * 0.125)
        assert stats["vendor/unlisted"].latency_error == LATENCY_ERROR
    finally:
        engine.dispose()


def test_import_copy_clean_and_rebuild_keep_the_rollup_exact(
    db_settings: Settings, tmp_path: Path, _templates: Any, backend: str
) -> None:
    _record(db_settings)
    engine = create_engine(db_settings)
    target = _templates.sqlite(tmp_path / "imported.db")
    copy = settings_for(f"sqlite:///{tmp_path / 'copy.db'}")
    other = create_engine(target)
    try:
        export_games(engine, tmp_path / "games.jsonl")
        import_games(other, tmp_path / "games.jsonl")
        assert_rollup_exact(other)
        import_games(other, tmp_path / "games.jsonl")  # every game skipped: nothing added
        assert_rollup_exact(other)
        assert _rollup(other).keys() == _rollup(engine).keys()

        copy_database(db_settings, copy)
        copied = create_engine(copy)
        try:
            assert_rollup_exact(copied)
            for table in (llm_usage_daily, llm_usage_monthly, llm_usage_seats):
                assert _rollup(copied, table) == _rollup(engine, table), table.name
        finally:
            copied.dispose()

        clean_database(engine, before=T0 + timedelta(days=30), what=["all"])
        assert_rollup_exact(engine)

        with write_transaction(engine) as conn:  # changed behind arenadb's back
            for table in (llm_usage_daily, llm_usage_monthly):
                conn.execute(sa.update(table).values(calls=table.c.calls + 1))
            conn.execute(sa.delete(llm_usage_seats))
        assert models_stats(engine)[0].calls != models_stats(engine, exact=True)[0].calls
        result = CliRunner().invoke(
            app,
            ["models", "rollup", "rebuild"],
            env={"ARENADB_DATABASE_URL": db_settings.database_url},
        )
        assert result.exit_code == 0, result.output
        assert "usage rollup rebuilt" in result.stderr and "45 LLM calls" in result.stderr
        assert_rollup_exact(engine)
    finally:
        other.dispose()
        engine.dispose()


def test_models_stats_cli_states_the_bucket_error(db_settings: Settings) -> None:
    _record(db_settings, games=1)
    env = {"ARENADB_DATABASE_URL": db_settings.database_url}
    result = CliRunner().invoke(app, ["models", "stats"], env=env)
    assert result.exit_code == 0, result.output
    assert "within 9.1%" in result.stderr and "--exact" in result.stderr
    assert "unknown" in result.stdout  # the free model: no call has a cost
    exact = CliRunner().invoke(app, ["models", "stats", "--exact", "--json"], env=env)
    assert exact.exit_code == 0, exact.output
    assert '"latency_error": 0.0' in exact.stdout and "within" not in exact.stderr


def test_buckets_cover_every_latency_within_the_stated_error() -> None:
    assert latency_bucket(0) == 0 and latency_bucket(10**9) == LATENCY_BUCKETS - 1
    counts = [0] * LATENCY_BUCKETS
    for latency in [*range(1, 5000), *range(5000, LATENCY_EDGES_MS[-1], 997)]:
        bucket = latency_bucket(latency)
        low, high = bucket_bounds(bucket)
        assert low <= latency < (high or latency + 1)
        counts[bucket] = 1
        estimate = histogram_percentile(counts, 0.5)
        counts[bucket] = 0
        assert estimate == pytest.approx(latency, rel=LATENCY_ERROR), latency


def test_the_migration_fills_the_rollup_from_the_calls_already_there(db_settings: Settings) -> None:
    _record(db_settings)
    engine = create_engine(db_settings)
    try:
        kept = _rollup(engine)
        downgrade(db_settings, "0005")  # a database from before the rollup, with its calls
        engine.dispose()
        upgrade(db_settings, "head")
        filled = _rollup(engine)
        assert filled.keys() == kept.keys()
        for key, row in kept.items():
            assert filled[key] == {**row, "cost": pytest.approx(row["cost"], rel=1e-12)}
        assert_rollup_exact(engine)
    finally:
        engine.dispose()


def test_migration_0014_fills_the_monthly_and_seat_rollups(db_settings: Settings) -> None:
    """Up from 0013 on a populated database: the months summed from the days, the seats from
    the calls, as the writers keep them; down drops both and leaves the daily rollup."""
    _record(db_settings)
    engine = create_engine(db_settings)
    try:
        levels = (llm_usage_monthly, llm_usage_seats)
        kept = {table.name: _rollup(engine, table) for table in levels}
        daily = _rollup(engine)
        # Two days of March make one month; the untimed calls, January 1970.
        assert len(kept["llm_usage_seats"]) == 3 * 2 and len(kept["llm_usage_monthly"]) == 3
        assert len(daily) > 3
        downgrade(db_settings, "0013")
        engine.dispose()
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
        assert not {t.name for t in levels} & names and "llm_usage_daily" in names
        assert _rollup(engine) == daily
        upgrade(db_settings, "head")
        for table in levels:
            _same_rows(_rollup(engine, table), kept[table.name], table.name)
        assert_rollup_exact(engine)
    finally:
        engine.dispose()
