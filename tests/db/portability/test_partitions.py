"""PostgreSQL's partitions of the large tables (migration 0013, `arenadb.db.partitions`):
partitions made ahead by the database itself, retention dropping whole ones, the conversion of
a populated database both ways; SQLite keeps its tables and gets the same results."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import arenadb
from arenadb import Seat
from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine, partitions
from arenadb.db.engine import write_transaction
from arenadb.models import Game, GameSnapshot, GameTurn, LLMCall, PlayerAction
from arenadb.portability.upkeep import check_categories, clean_database
from arenadb.schema.compare import schema_differences
from arenadb.schema.migrations import downgrade, upgrade
from tests.db.inspection.test_usage_rollup import assert_rollup_exact

OLD = datetime(2026, 1, 1, tzinfo=timezone.utc)
CUTOFF = datetime(2026, 2, 1, tzinfo=timezone.utc)
DETAIL = (GameTurn, PlayerAction, LLMCall, GameSnapshot)
SIZE = partitions.GAMES_PER_PARTITION


@pytest.fixture
def arena_engine(db_settings: Settings) -> Iterator[Engine]:
    engine = create_engine(db_settings)
    try:
        yield engine
    finally:
        engine.dispose()


def _next_game_id(engine: Engine, value: int) -> None:
    """The next game gets id `value` (its sequence moved, as months of games would)."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT setval('games_id_seq', :v, false)"), {"v": value})
        else:
            conn.execute(
                sa.text("UPDATE sqlite_sequence SET seq = :v WHERE name = 'games'"),
                {"v": value - 1},
            )


def _play(settings: Settings, ids: list[int]) -> list[int]:
    """One recorded game (turns, actions, LLM calls, a snapshot) at each of `ids`."""
    played = []
    with arenadb.connect(settings=settings) as arena:
        arena.register_model("m", input_price_per_mtok=1.0, output_price_per_mtok=2.0)
        agents = [arena.register_agent(model="m", kind="plain", prompt=("p", "m")) for _ in "ab"]
        for game_id in ids:
            _next_game_id(arena.engine, game_id)
            recorder = arena.start_game(
                "Duel-v0", [Seat(agents[0], side="a"), Seat(agents[1], side="b")]
            )
            for turn in range(3):
                calls: list[dict[str, Any]] = [
                    {"model": "m", "started_at": OLD, "latency_ms": 100 + turn, "input_tokens": 9}
                ]
                recorder.record_turn(
                    seat=turn % 2,
                    action=f"move {turn}",
                    llm_calls=calls,
                    actions=[{"action_type": "move", "payload": {"turn": turn}}],
                )
            recorder.snapshot({"board": game_id}, kind="final")
            recorder.finish(outcome="draw")
            played.append(recorder.game_id)
    return played


def _counts(engine: Engine, game_ids: list[int]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            model.__tablename__: int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(model)
                    .where(model.__table__.c.game_id.in_(game_ids))
                ).scalar_one()
            )
            for model in DETAIL
        }


def _finish_at(engine: Engine, game_ids: list[int], when: datetime) -> None:
    games = Game.__table__
    with write_transaction(engine) as conn:
        conn.execute(
            sa.update(games)
            .where(games.c.id.in_(game_ids))
            .values(started_at=when, finished_at=when)
        )


def test_game_detail_drops_the_ranges_of_old_games_and_deletes_the_rest(
    db_settings: Settings, arena_engine: Engine, backend: str
) -> None:
    engine = arena_engine
    old = _play(db_settings, [1, 2, 3, 2 * SIZE])  # ranges 0 and 2; range 1 left empty
    (new,) = _play(db_settings, [2 * SIZE + 1])
    assert old[-1] == 2 * SIZE and new == 2 * SIZE + 1
    _finish_at(engine, old, OLD)
    before = _counts(engine, old)
    assert all(n > 0 for n in before.values()), before
    kept = _counts(engine, [new])

    dry = clean_database(engine, before=CUTOFF, what=["game-detail"], dry_run=True)
    assert _counts(engine, old) == before  # nothing changed
    done = clean_database(engine, before=CUTOFF, what=["game-detail"])

    wanted = [f"{t}_p{k}" for k in (0, 1) for t in partitions.TABLES]
    assert sorted(done.partitions) == sorted(wanted if backend == "postgresql" else [])
    assert dry.partitions == done.partitions
    assert [(i.table, i.rows) for i in dry.items] == [(i.table, i.rows) for i in done.items]
    assert _counts(engine, old) == dict.fromkeys(before, 0)
    assert _counts(engine, [new]) == kept
    if backend == "postgresql":
        dropped = {i.table: i.rows for i in done.items if i.action == "partitions dropped"}
        assert dropped["game_turns"] == before["game_turns"] * 3 // 4  # three of four old games
        with engine.connect() as conn:
            assert [p.k for p in partitions.partitions(conn)] == [2, 3]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Game)).scalar_one() == 5
        assert schema_differences(conn) == []
    assert_rollup_exact(engine)
    again = clean_database(engine, before=CUTOFF, what=["game-detail"])
    assert again.rows == 0 and again.partitions == []


def test_game_detail_is_asked_for_by_name_never_by_all() -> None:
    assert "game-detail" not in check_categories(["all"])
    assert check_categories(["all", "game-detail"])[-1] == "game-detail"
    assert check_categories(["game-detail,all"])[0] == "game-detail"


def test_clean_cli_says_which_partitions_it_dropped(
    db_settings: Settings, arena_engine: Engine, backend: str
) -> None:
    old = _play(db_settings, [1, SIZE + 1])
    _finish_at(engine=arena_engine, game_ids=old[:1], when=OLD)
    args = ["--database-url", db_settings.database_url, "clean", "--before", "2026-02-01"]
    result = CliRunner().invoke(app, [*args, "--what", "game-detail", "--yes", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    if backend == "postgresql":
        assert sorted(report["partitions"]) == sorted(f"{t}_p0" for t in partitions.TABLES)
    else:
        assert report["partitions"] == []
    text = CliRunner().invoke(app, [*args, "--what", "game-detail", "--yes", "--dry-run"])
    assert text.exit_code == 0, text.output
    assert "would affect 0 rows" in text.stderr


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_partitions_are_made_ahead_by_the_database_itself(
    db_settings: Settings, arena_engine: Engine
) -> None:
    engine = arena_engine
    with engine.connect() as conn:
        assert [p.k for p in partitions.partitions(conn)] == [0, 1]
    _play(db_settings, [SIZE + 5])  # not a game that makes the next range
    with engine.connect() as conn:
        assert [p.k for p in partitions.partitions(conn)] == [0, 1]
    _play(db_settings, [SIZE + 200])  # every 100th game of range 1 makes range 2 ahead
    with engine.connect() as conn:
        assert [p.k for p in partitions.partitions(conn)] == [0, 1, 2]
    # A game id far past every partition (ids set by hand): its range is made at once.
    (far,) = _play(db_settings, [100 * SIZE])
    with engine.connect() as conn:
        assert [p.k for p in partitions.partitions(conn)] == [0, 1, 2, 100, 101]
        assert schema_differences(conn) == []
    assert _counts(engine, [far])["game_turns"] == 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_busy_table_delays_the_partition_ahead_but_never_a_game(
    db_settings: Settings, arena_engine: Engine
) -> None:
    engine = arena_engine
    with engine.connect() as holder:
        # A writer in the middle of its transaction: attaching a partition must wait for it.
        holder.execute(sa.text("LOCK TABLE llm_calls IN ROW EXCLUSIVE MODE"))
        started = time.perf_counter()
        (first,) = _play(db_settings, [SIZE])  # range 1's first game: range 2 is tried ahead
        assert time.perf_counter() - started < 30  # not stuck behind the writer
        with engine.connect() as conn:
            assert [p.k for p in partitions.partitions(conn)] == [0, 1]
        holder.rollback()
    _play(db_settings, [SIZE + 1])  # not a game that tries again
    with engine.connect() as conn:
        assert [p.k for p in partitions.partitions(conn)] == [0, 1]
    _play(db_settings, [SIZE + 100])  # the next one that does makes it
    with engine.connect() as conn:
        assert [p.k for p in partitions.partitions(conn)] == [0, 1, 2]
        assert schema_differences(conn) == []
    assert _counts(engine, [first])["game_turns"] == 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_populated_database_is_converted_both_ways_rows_kept(
    db_settings: Settings, arena_engine: Engine
) -> None:
    engine = arena_engine
    ids = _play(db_settings, [1, 2, SIZE + 3])
    _finish_at(engine, ids[:1], OLD)

    def snapshot() -> dict[str, list[Any]]:
        with engine.connect() as conn:
            return {
                m.__tablename__: [
                    tuple(r)
                    for r in conn.execute(
                        sa.select(m.__table__).order_by(*m.__table__.primary_key.columns)
                    )
                ]
                for m in DETAIL
            }

    rows = snapshot()
    downgrade(db_settings, "0012")
    with engine.connect() as conn:
        assert partitions.partitioned_tables(conn) == set()
        assert conn.execute(sa.text("SELECT to_regclass('llm_calls_p0')")).scalar() is None
    assert snapshot() == rows
    upgrade(db_settings, "head")
    assert snapshot() == rows
    with engine.connect() as conn:
        assert partitions.partitioned_tables(conn) == set(partitions.TABLES)
        assert [p.k for p in partitions.partitions(conn)] == [0, 1, 2]
        assert schema_differences(conn) == []
    # Ids go on from the sequences the old tables had.
    (later,) = _play(db_settings, [SIZE + 4])
    with engine.connect() as conn:
        calls = LLMCall.__table__
        newest = conn.execute(
            sa.select(sa.func.min(calls.c.id)).where(calls.c.game_id == later)
        ).scalar_one()
    assert newest > max(r[0] for r in rows["llm_calls"])


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_db_check_reports_a_table_that_is_not_partitioned(arena_engine: Engine) -> None:
    with write_transaction(arena_engine) as conn:
        conn.execute(sa.text("DROP TRIGGER games_partitions ON games"))
        conn.execute(sa.text("ALTER TABLE game_snapshots DETACH PARTITION game_snapshots_p0"))
    with arena_engine.connect() as conn:
        differences = schema_differences(conn)
    assert "missing trigger games.games_partitions" in differences
    assert any(
        "missing partitions of game ids from 0: game_snapshots_p0" in d for d in differences
    ), differences


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_query_on_recent_games_reads_only_their_partitions(
    db_settings: Settings, arena_engine: Engine
) -> None:
    _play(db_settings, [1, SIZE + 1, 2 * SIZE + 1])
    turns = GameTurn.__table__
    recent = sa.select(turns).where(turns.c.game_id >= 2 * SIZE)
    one = sa.select(LLMCall.__table__).where(LLMCall.__table__.c.game_id == SIZE + 1)
    with arena_engine.connect() as conn:
        assert partitions.explain(conn, recent) == ["game_turns_p2"]
        assert partitions.explain(conn, one) == ["llm_calls_p1"]
