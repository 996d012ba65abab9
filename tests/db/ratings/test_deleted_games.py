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
