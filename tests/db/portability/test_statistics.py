"""Bulk loads leave PostgreSQL with fresh planner statistics (`arenadb.db.statistics`).

Measured on a freshly loaded 30,000-game arena: with the empty tables' statistics the games list
took 90-160 ms a page instead of 3-6 ms, until autovacuum came by. `manual_analyses` reads
`last_analyze`, which only a manual ANALYZE sets (autovacuum sets `last_autoanalyze`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db import create_database, create_engine, drop_database
from arenadb.portability.copy import copy_database
from arenadb.portability.export import export_games
from arenadb.portability.importing import import_games
from arenadb.schema.migrations import upgrade
from arenadb.seeding.seeder import seed_database
from tests.conftest import pg_settings, settings_for, unique_pg_name
from tests.support.synthetic import build_arena


@pytest.fixture
def pg_database() -> Iterator[Settings]:
    """A migrated PostgreSQL database of its own; dropped afterwards."""
    settings = pg_settings(unique_pg_name())
    create_database(settings)
    upgrade(settings, "head")
    yield settings
    drop_database(settings, missing_ok=True)


def manual_analyses(settings: Settings) -> set[str]:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return set(
                conn.execute(
                    sa.text(
                        "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def test_seed_refreshes_the_statistics_of_what_it_wrote(pg_database: Settings) -> None:
    assert "games" not in manual_analyses(pg_database)
    seed_database(pg_database, "demo")
    assert {"games", "game_players", "game_turns", "llm_calls"} <= manual_analyses(pg_database)


def test_import_and_copy_refresh_the_statistics(pg_database: Settings, tmp_path: Path) -> None:
    source = settings_for(f"sqlite:///{tmp_path / 'source.db'}")
    create_database(source)
    upgrade(source, "head")
    engine = create_engine(source)
    try:
        build_arena(engine, games=30)
        export_games(engine, tmp_path / "games.jsonl")
    finally:
        engine.dispose()
    import_games(create_engine(pg_database, pooled=False), tmp_path / "games.jsonl")
    assert {"games", "game_turns", "llm_calls"} <= manual_analyses(pg_database)
    copied = pg_settings(unique_pg_name())
    try:
        copy_database(source, copied)
        assert {"games", "game_turns", "llm_calls", "agents"} <= manual_analyses(copied)
    finally:
        drop_database(copied, missing_ok=True)
