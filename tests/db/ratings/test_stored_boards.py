"""Stored Bradley-Terry boards (`arenadb ratings boards`, issue 19): read back equal to the live
board while their games are unchanged, and never once a game that counts for them changes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import create_engine
from arenadb.portability.copy import copy_database
from arenadb.portability.export import export_games
from arenadb.portability.importing import import_games
from arenadb.portability.upkeep import clean_database
from arenadb.ratings.board import bradley_terry_boards
from arenadb.ratings.book import rebuild_ratings
from arenadb.ratings.store import store_boards
from arenadb.ratings.unified import unified_board
from arenadb.schema.lifecycle import reset_database
from tests.conftest import settings_for
from tests.support.skill_arena import duel_arena, team_arena

runner = CliRunner()
ROUNDS = 30


def _arena(db_settings) -> None:
    duel_arena(db_settings, [1.0, 0.0, -1.0, 0.5], 60, seed=1, prefix="s")
    team_arena(
        db_settings,
        [0.8, 0.2, -0.3, 0.0, 0.4, -0.6, 0.1],
        30,
        seed=2,
        small_side_advantage=0.3,
        prefix="s",
    )


def _live(board):
    return replace(board, stored_at=None)


def test_a_stored_board_reads_back_equal_to_the_live_one(engine, db_settings):
    _arena(db_settings)
    live = bradley_terry_boards(engine, rounds=ROUNDS)
    live_unified = unified_board(engine, rounds=ROUNDS)
    trim = dict(rounds=ROUNDS, min_games=12, limit=2)
    live_trimmed = bradley_terry_boards(engine, game_type="Duel-v0", **trim)
    assert all(b.stored_at is None for b in live) and live_unified.stored_at is None
    report = store_boards(engine, rounds=ROUNDS)
    assert [b.game_type for b in report.boards] == ["Duel-v0", "Teams-v0", "unified"]
    assert report.unified_skipped is None
    assert all(b.seconds > 0 and b.rounds == ROUNDS for b in report.boards)
    stored = bradley_terry_boards(engine, rounds=ROUNDS)
    assert all(b.stored_at == report.boards[0].computed_at for b in stored)
    # Same ratings, intervals, ranks, costs, side terms: equal dataclasses.
    assert [_live(b) for b in stored] == live
    stored_unified = unified_board(engine, rounds=ROUNDS)
    assert stored_unified.stored_at is not None and _live(stored_unified) == live_unified
    # Trimming applies to the stored (untrimmed) board as to the live one.
    trimmed = bradley_terry_boards(engine, game_type="Duel-v0", **trim)
    assert trimmed[0].stored_at is not None and len(trimmed[0].rows) == 2
    assert [_live(b) for b in trimmed] == live_trimmed
    # Other settings are other boards: computed live.
    assert bradley_terry_boards(engine, rounds=ROUNDS + 1)[0].stored_at is None
    assert bradley_terry_boards(engine, rounds=ROUNDS, seed=5)[0].stored_at is None
    assert bradley_terry_boards(engine, rounds=ROUNDS, interval_games=2)[0].stored_at is None


def _stored_at(engine, game_type="Duel-v0"):
    (board,) = bradley_terry_boards(engine, rounds=ROUNDS, game_type=game_type)
    return board.stored_at


def test_a_finished_game_invalidates_only_its_game_types_board(engine, db_settings):
    _arena(db_settings)
    store_boards(engine, rounds=ROUNDS)
    assert _stored_at(engine) is not None
    duel_arena(db_settings, [1.0, 0.0, -1.0, 0.5], 1, seed=9, prefix="s")
    assert _stored_at(engine) is None
    assert _stored_at(engine, "Teams-v0") is not None
    assert unified_board(engine, rounds=ROUNDS).stored_at is None
    store_boards(engine, rounds=ROUNDS, game_type="Duel-v0")
    assert _stored_at(engine) is not None


def test_a_deleted_or_unrated_game_invalidates_the_board(engine, db_settings):
    _arena(db_settings)
    store_boards(engine, rounds=ROUNDS)
    with engine.begin() as conn:
        oldest = conn.execute(
            sa.text(
                "select min(g.id) from games g join game_types t on t.id = g.game_type_id "
                "where t.env_id = 'Duel-v0'"
            )
        ).scalar_one()
        conn.execute(sa.text("delete from games where id = :g"), {"g": oldest})
    assert _stored_at(engine) is None
    store_boards(engine, rounds=ROUNDS)
    with engine.begin() as conn:
        conn.execute(
            sa.text("update games set rated = :no where id = (select max(id) from games)"),
            {"no": False},
        )
    assert _stored_at(engine, "Teams-v0") is None


def test_a_rebuild_keeps_the_inputs_and_the_board(engine, db_settings):
    _arena(db_settings)
    store_boards(engine, rounds=ROUNDS)
    rebuild_ratings(engine)
    read = bradley_terry_boards(engine, rounds=ROUNDS)
    assert all(b.stored_at is not None for b in read)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from stored_boards"))
    assert [_live(b) for b in read] == bradley_terry_boards(engine, rounds=ROUNDS)


def test_a_game_type_setting_change_invalidates_its_board(engine, db_settings):
    _arena(db_settings)
    store_boards(engine, rounds=ROUNDS)
    with engine.begin() as conn:
        conn.execute(
            sa.text("update game_types set config = :c where env_id = 'Duel-v0'"),
            {"c": json.dumps({"shared_first": "win"})},
        )
    assert _stored_at(engine) is None


def test_cli_stores_boards_and_agents_top_says_it_reads_one(db_settings, cli_env):
    _arena(db_settings)
    top = ["agents", "top", "--rounds", str(ROUNDS), "-g", "Duel-v0"]
    live = runner.invoke(app, [*top, "--json"], env=cli_env)
    assert live.exit_code == 0, live.output
    assert json.loads(live.stdout)["stored_at"] is None
    stored = runner.invoke(app, ["ratings", "boards", "--rounds", str(ROUNDS)], env=cli_env)
    assert stored.exit_code == 0, stored.output
    assert "stored Duel-v0: 60 games" in stored.stdout and "stored unified" in stored.stdout
    assert "3 boards stored in" in stored.stderr
    again = runner.invoke(app, [*top, "--json"], env=cli_env)
    read = json.loads(again.stdout)
    assert read.pop("stored_at") is not None
    assert read == {k: v for k, v in json.loads(live.stdout).items() if k != "stored_at"}
    table = runner.invoke(app, top, env=cli_env)
    assert table.exit_code == 0, table.output
    assert "stored board of" in table.stdout and "arenadb ratings boards" in table.stdout
    report = runner.invoke(
        app, ["ratings", "boards", "--rounds", "5", "-g", "Duel-v0", "--json"], env=cli_env
    )
    assert report.exit_code == 0, report.output
    (board,) = json.loads(report.stdout)["boards"]
    assert board["game_type"] == "Duel-v0" and board["rounds"] == 5


def test_import_of_a_missing_game_invalidates_the_board(engine, db_settings, tmp_path):
    _arena(db_settings)
    exported = tmp_path / "games.jsonl"
    export_games(engine, exported)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from games where id = (select max(id) from games)"))
    store_boards(engine, rounds=ROUNDS)
    import_games(engine, exported)  # the deleted game comes back, under a new id
    assert _stored_at(engine, "Teams-v0") is None
    assert _stored_at(engine) is not None  # its Duel-v0 games were all there: skipped


def test_clean_keeps_what_a_board_reads_and_a_reset_drops_the_boards(engine, db_settings):
    _arena(db_settings)
    store_boards(engine, rounds=ROUNDS)
    # Retention nulls LLM payloads, deletes logs, events, snapshots: a board reads none of them.
    clean_database(engine, before=datetime.now(timezone.utc) + timedelta(days=1), what=["all"])
    assert _stored_at(engine) is not None
    engine.dispose()
    reset_database(db_settings)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from stored_boards")).scalar_one() == 0


def test_a_copied_database_reads_the_copied_boards(engine, db_settings, tmp_path):
    _arena(db_settings)
    store_boards(engine, rounds=ROUNDS)
    source = bradley_terry_boards(engine, rounds=ROUNDS)
    copied_to = settings_for(f"sqlite:///{tmp_path / 'copy.db'}")  # from either backend
    copy_database(db_settings, copied_to)
    target = create_engine(copied_to)
    try:
        copied = bradley_terry_boards(target, rounds=ROUNDS)
        assert all(b.stored_at is not None for b in copied)
        assert copied == source
        duel_arena(copied_to, [1.0, 0.0, -1.0, 0.5], 1, seed=9, prefix="s")
        assert _stored_at(target) is None
    finally:
        target.dispose()
