"""Issue 19: `rated_pools` (migration 0015), the stored boards' watermark kept by triggers on
`games`, equals the grouped query over the games after every kind of change, on both backends,
and the watermark changes whenever the set of counted games of a type does."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.config import Settings
from arenadb.db import create_engine, write_transaction
from arenadb.portability.copy import copy_database
from arenadb.portability.export import export_games
from arenadb.portability.importing import import_games
from arenadb.portability.upkeep import clean_database
from arenadb.ratings.board_store import counted_pools, pool_marks
from arenadb.ratings.book import rebuild_ratings
from arenadb.schema.compare import schema_differences
from arenadb.schema.migrations import downgrade, upgrade
from arenadb.seeding.seeder import seed_database
from tests.support.ratings_factory import finish_and_rate, make_game
from tests.support.synthetic import START, build_arena


def _pools(engine: Engine) -> dict[int, tuple[int, int]]:
    """What the triggers keep, game types with counted games only."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select game_type_id, games, id_sum from rated_pools"))
        return {t: (n, s) for t, n, s in rows if n}


def _check(engine: Engine) -> dict[int, str]:
    """The counter equals the grouped query; returns each type's watermark."""
    with engine.connect() as conn:
        expected = counted_pools(conn)
        marks = {m.game_type_id: m.watermark for m in pool_marks(conn, None)}
    assert _pools(engine) == expected
    assert set(marks) == set(expected)
    return marks


def _execute(engine: Engine, *statements: str) -> None:
    with write_transaction(engine) as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def _counted_ids(engine: Engine, type_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "select id from games where game_type_id = :t and status = 'completed' "
                    "and rated and not environment_crashed and outcome in ('win', 'draw') "
                    "order by id"
                ),
                {"t": type_id},
            ).scalars()
        )


def _equal_sums(ids: list[int]) -> tuple[int, int, int, int]:
    """a < b < c < d, all counted, d not the highest, with a + d == b + c."""
    for i, a in enumerate(ids):
        for j in range(i + 1, len(ids) - 1):
            for k in range(j + 1, len(ids) - 1):
                d = ids[j] + ids[k] - a
                if d > ids[k] and d in ids[:-1]:
                    return a, ids[j], ids[k], d
    raise AssertionError(ids)


def test_the_counter_follows_every_kind_of_change(backend, db_settings: Settings):
    engine = create_engine(db_settings)
    try:
        arena = build_arena(engine, games=60)
        marks = _check(engine)
        type_id, other_type = sorted(marks)[:2]

        # A game finishing rated (the recorder's path: UPDATE, then the rating lock).
        players = arena.agent_ids[:2]
        game = make_game(engine, type_id, players)
        assert _check(engine) == marks  # a running game counts for nothing
        finish_and_rate(engine, game, outcome="draw")
        after = _check(engine)
        assert after[type_id] != marks[type_id] and after[other_type] == marks[other_type]
        marks = after

        # Un-rated, then the same set swapped for another of equal count, id sum and highest
        # id (ids a + d = b + c): the old count / last id / id sum watermark could not tell.
        a, b, c, d = _equal_sums(_counted_ids(engine, type_id))
        _execute(engine, f"update games set rated = false where id in ({b}, {c})")
        unrated = _check(engine)
        assert unrated[type_id] != marks[type_id]
        _execute(engine, f"update games set rated = not rated where id in ({a}, {b}, {c}, {d})")
        swapped = _check(engine)
        assert swapped[type_id] != unrated[type_id]
        unrated = swapped

        # Crashed, a no contest, another type, deleted, and several types deleted at once.
        _execute(engine, f"update games set environment_crashed = true where id = {a}")
        _execute(engine, f"update games set outcome = 'no_contest' where id = {d}")
        moved = _counted_ids(engine, type_id)[0]
        _execute(engine, f"update games set game_type_id = {other_type} where id = {moved}")
        after = _check(engine)
        assert after[type_id] != unrated[type_id] and after[other_type] != unrated[other_type]
        _execute(engine, f"delete from games where id = {moved}")
        _execute(
            engine,
            "delete from games where id in (select min(id) from games group by game_type_id)",
        )
        marks = _check(engine)

        # Whole-arena operations leave the counter right.
        rebuild_ratings(engine)
        assert _check(engine) == marks
        clean_database(engine, before=START.replace(year=START.year + 5), what=["game-detail"])
        assert _check(engine) == marks
        with engine.connect() as conn:
            assert schema_differences(conn) == []
    finally:
        engine.dispose()


def test_truncate_empties_the_counts_and_moves_the_versions(backend, db_settings: Settings):
    engine = create_engine(db_settings)
    try:
        build_arena(engine, games=20)
        marks = _check(engine)
        if backend == "postgresql":
            _execute(engine, "truncate games cascade")
        else:
            _execute(engine, "delete from games")
        assert _check(engine) == {}
        with engine.connect() as conn:
            after = {m.game_type_id: m.watermark for m in pool_marks(conn, None) or []}
            for type_id in marks:
                (mark,) = pool_marks(conn, type_id)
                assert mark.games == 0 and mark.watermark != marks[type_id]
        assert after == {}
    finally:
        engine.dispose()


def test_copy_import_and_seed_reset_leave_the_counter_right(
    backend, db_settings: Settings, tmp_path: Path, _templates
):
    engine = create_engine(db_settings)
    source = _templates.sqlite(tmp_path / "source.db")
    source_engine = create_engine(source)
    try:
        build_arena(source_engine, games=40)
        expected = _check(source_engine)
        # copy (SQLite -> this backend), twice: the second replaces the first's games.
        # The source's versions too: the stored boards copied with the games stay valid.
        copy_database(source, db_settings)
        assert _check(engine) == expected
        _execute(source_engine, "delete from games where id % 3 = 0")
        copy_database(source, db_settings, force=True)
        assert _check(engine) == _check(source_engine) != expected
        # import into an arena that has games already
        exported = tmp_path / "games.jsonl.gz"
        export_games(source_engine, exported)
        _execute(engine, "delete from games where id % 2 = 0")
        import_games(engine, exported)
        _check(engine)
        assert set(expected) == set(_check(engine))
        # seed --reset: everything emptied, the seed's games counted
        seed_database(db_settings, "test", reset=True)
        _check(engine)
    finally:
        engine.dispose()
        source_engine.dispose()


def test_migration_0015_fills_the_counter_and_goes_down_clean(backend, db_settings: Settings):
    engine = create_engine(db_settings)
    try:
        build_arena(engine, games=30)
        expected = _check(engine)
        downgrade(db_settings, "0014")
        engine.dispose()
        with engine.connect() as conn:
            assert "rated_pools" not in sa.inspect(conn).get_table_names()
        _execute(engine, "delete from games where id % 4 = 0")  # while nothing counts
        upgrade(db_settings, "head")
        engine.dispose()
        after = _check(engine)
        assert set(after) == set(expected)
        with engine.connect() as conn:
            assert schema_differences(conn) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_missing_counter_trigger_is_drift(backend, db_settings: Settings):
    engine = create_engine(db_settings)
    try:
        drop = "drop trigger games_rated_pools_update"
        _execute(engine, drop + (" on games" if backend == "postgresql" else ""))
        with engine.connect() as conn:
            assert schema_differences(conn) == ["missing trigger games.games_rated_pools_update"]
    finally:
        engine.dispose()
