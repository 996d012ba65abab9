"""Issue 15: deleting a game and the ratings it moved (docs/concepts/ratings.md, Deleting games).

Ratings are history: a deleted game's rating events go with it, its players' ratings keep what
it gave them, `agents top --method trueskill` says so, and `ratings rebuild` makes them agree.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine
from arenadb.ratings.book import rebuild_ratings
from arenadb.ratings.leaderboard import online_board
from tests.support.synthetic import build_arena

runner = CliRunner()


def _games_of(conn: sa.Connection, agent_ids: list[int]) -> dict[int, int]:
    rows = conn.execute(
        sa.text(
            "select agent_id, games from ratings where system = 'trueskill' "
            "and game_type_id is null"
        )
    ).all()
    return {a: g for a, g in rows if a in agent_ids}


def test_deleting_a_rated_game_is_reported_until_a_rebuild(backend, db_settings: Settings):
    engine = create_engine(db_settings)
    env = {"ARENADB_DATABASE_URL": db_settings.database_url}
    top = ["agents", "top", "--method", "trueskill"]
    try:
        build_arena(engine, games=30)
        rebuild_ratings(engine)
        assert online_board(engine, system="trueskill").deleted_game_results == 0
        clean = runner.invoke(app, top, env=env)
        assert clean.exit_code == 0, clean.output
        assert "warning" not in clean.stderr
        with engine.begin() as conn:
            game_id = conn.execute(
                sa.text("select min(game_id) from rating_events where system = 'trueskill'")
            ).scalar_one()
            players = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "select agent_id from rating_events where game_id = :g "
                        "and system = 'trueskill' and game_type_id is null"
                    ),
                    {"g": game_id},
                )
            ]
            before = _games_of(conn, players)
            conn.execute(sa.text("delete from games where id = :g"), {"g": game_id})
            # The rule: deleting changes no rating by itself.
            assert _games_of(conn, players) == before
        board = online_board(engine, system="trueskill")
        assert board.deleted_game_results == len(players)
        warned = runner.invoke(app, [*top, "--json"], env=env)
        assert warned.exit_code == 0, warned.output
        assert (
            "ratings rebuild" in warned.stderr and f"{len(players)} seat results" in warned.stderr
        )
        json.loads(warned.stdout)  # stdout stays parseable
        rebuilt = runner.invoke(app, ["ratings", "rebuild", "--yes"], env=env)
        assert rebuilt.exit_code == 0, rebuilt.output
        assert online_board(engine, system="trueskill").deleted_game_results == 0
        assert online_board(engine, system="openskill").deleted_game_results == 0
        with engine.connect() as conn:
            after = _games_of(conn, players)
        assert after == {a: n - 1 for a, n in before.items()}
        again = runner.invoke(app, top, env=env)
        assert again.exit_code == 0 and "warning" not in again.stderr
    finally:
        engine.dispose()


# Every board of the online ratings: (system, game type id; None = overall).
def _boards(conn: sa.Connection) -> list[tuple[str, int | None]]:
    return [
        (system, type_id)
        for system, type_id in conn.execute(
            sa.text("select distinct system, game_type_id from ratings")
        ).all()
    ]


def _counted_the_old_way(conn: sa.Connection, system: str, game_type_id: int | None) -> int:
    """What `agents top` reported before migration 0012: a board's games less its events."""
    scope = "game_type_id is null" if game_type_id is None else "game_type_id = :t"
    params = {"s": system, "t": game_type_id}
    games = conn.execute(
        sa.text(f"select coalesce(sum(games), 0) from ratings where system = :s and {scope}"),
        params,
    ).scalar_one()
    events = conn.execute(
        sa.text(f"select count(*) from rating_events where system = :s and {scope}"), params
    ).scalar_one()
    return max(0, int(games) - int(events))


def _delete_games(engine: sa.Engine, how_many: int) -> None:
    """The first rated games, deleted in one statement (plain SQL, as any tool would)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "delete from games where id in (select distinct game_id from rating_events "
                f"order by game_id limit {how_many})"
            )
        )


def test_the_count_follows_every_deletion_and_rebuild_resets_it(backend, db_settings: Settings):
    """One statement deleting several games, and events deleted by hand: the count is the old
    figure (games less events) for every board; a rebuild of one game type resets that board
    only, a full rebuild every board."""
    from arenadb.schema.compare import schema_differences

    engine = create_engine(db_settings)
    try:
        build_arena(engine, games=40)
        rebuild_ratings(engine)
        _delete_games(engine, 3)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "delete from rating_events where id in "
                    "(select max(id) from rating_events group by system, game_type_id)"
                )
            )
        with engine.connect() as conn:
            boards = _boards(conn)
            expected = {b: _counted_the_old_way(conn, *b) for b in boards}
        assert len(boards) > 2 and all(expected.values()), expected
        for system, type_id in boards:
            got = online_board(engine, system=system, game_type=type_id).deleted_game_results
            assert got == expected[(system, type_id)], (system, type_id)
        type_id = next(t for _, t in boards if t is not None)
        rebuild_ratings(engine, game_type=type_id)
        assert online_board(engine, game_type=type_id).deleted_game_results == 0
        assert online_board(engine).deleted_game_results > 0  # the overall board still counts
        rebuild_ratings(engine)
        with engine.connect() as conn:
            total = conn.execute(sa.text("select sum(deleted_game_results) from ratings"))
            assert total.scalar_one() == 0
            assert schema_differences(conn) == []  # the trigger is still there, unchanged
        _delete_games(engine, 1)  # and still counts
        assert online_board(engine).deleted_game_results > 0
    finally:
        engine.dispose()


def test_migration_0012_counts_the_games_deleted_before_it(backend, db_settings: Settings):
    """Upgraded on a database whose games were deleted, every board reports what the old check
    computed; the downgrade takes the column and the trigger away, and up again is clean."""
    from arenadb.schema.compare import schema_differences
    from arenadb.schema.migrations import downgrade, upgrade

    engine = create_engine(db_settings)
    try:
        build_arena(engine, games=40)
        rebuild_ratings(engine)
        downgrade(db_settings, "0011")
        engine.dispose()
        _delete_games(engine, 4)  # deleted while nothing counted them
        with engine.connect() as conn:
            assert "deleted_game_results" not in {
                c["name"] for c in sa.inspect(conn).get_columns("ratings")
            }
            boards = _boards(conn)
            expected = {b: _counted_the_old_way(conn, *b) for b in boards}
        assert all(expected.values()), expected
        upgrade(db_settings, "head")
        engine.dispose()
        for system, type_id in boards:
            got = online_board(engine, system=system, game_type=type_id).deleted_game_results
            assert got == expected[(system, type_id)], (system, type_id)
        with engine.connect() as conn:
            assert schema_differences(conn) == []
    finally:
        engine.dispose()
