"""`arenadb copy`: whole databases between backends, ids preserved, every table compared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_database, create_engine, drop_database, write_transaction
from arenadb.errors import InvalidArgumentError, InvalidDataError, RefusedError
from arenadb.models import Game, Prompt, metadata
from arenadb.portability.copy import copy_database
from arenadb.schema.migrations import migration_status, upgrade
from tests.conftest import pg_settings, settings_for, unique_pg_name
from tests.support.portability_helpers import fill_empty_tables, table_rows
from tests.support.synthetic import build_arena

runner = CliRunner()


@pytest.fixture
def pg_target() -> Iterator[Settings]:
    """A PostgreSQL database name that does not exist yet; dropped afterwards."""
    settings = pg_settings(unique_pg_name())
    yield settings
    drop_database(settings, missing_ok=True)


def _full_arena(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        build_arena(engine, games=25)
        with write_transaction(engine) as conn:
            prompts = Prompt.__table__
            # A fork that points at a LATER id: the copy must not depend on row order.
            conn.execute(
                sa.insert(prompts),
                {"id": 51, "name": "fork", "version": 1, "content": "a", "sha256": "a" * 64},
            )
            conn.execute(
                sa.insert(prompts),
                {
                    "id": 50,
                    "name": "fork",
                    "version": 2,
                    "content": "b",
                    "sha256": "b" * 64,
                    "forked_from_id": 51,
                },
            )
            # SQL NULL in a JSON column must stay SQL NULL (not JSON null).
            conn.execute(sa.update(Game.__table__).where(Game.id == 1).values(info=sa.null()))
        fill_empty_tables(engine)
    finally:
        engine.dispose()


def _sql_nulls(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).where(Game.__table__.c.info.is_(None))
            ).scalar_one()
    finally:
        engine.dispose()


def _rows(settings: Settings) -> dict:
    engine = create_engine(settings)
    try:
        return table_rows(engine)
    finally:
        engine.dispose()


def test_sqlite_to_postgresql_to_sqlite_keeps_every_row(
    tmp_path: Path, _templates, pg_target: Settings
) -> None:
    source = _templates.sqlite(tmp_path / "source.db")
    _full_arena(source)
    back = settings_for(f"sqlite:///{tmp_path / 'back.db'}")

    there = copy_database(source, pg_target)
    again = copy_database(pg_target, back)

    assert all(t.ok for t in there.tables) and all(t.ok for t in again.tables)
    assert {t.table for t in there.tables} == {t.name for t in metadata.sorted_tables}
    original = _rows(source)
    assert all(original.values()), [name for name, rows in original.items() if not rows]
    on_postgresql = _rows(pg_target)
    returned = _rows(back)
    for table in original:
        assert on_postgresql[table] == original[table], table
        assert returned[table] == original[table], table
    assert _sql_nulls(source) == _sql_nulls(pg_target) == _sql_nulls(back) == 1
    assert migration_status(pg_target).current == migration_status(source).current
    assert migration_status(back).up_to_date


def test_postgresql_sequences_continue_after_the_copied_ids(
    tmp_path: Path, _templates, pg_target: Settings
) -> None:
    source = _templates.sqlite(tmp_path / "source.db")
    engine = create_engine(source)
    arena = build_arena(engine, games=5)
    engine.dispose()
    copy_database(source, pg_target)
    target = create_engine(pg_target)
    try:
        with write_transaction(target) as conn:
            new_id = conn.execute(
                sa.insert(Game.__table__).returning(Game.id),
                {"game_type_id": 1, "status": "queued"},
            ).scalar_one()
    finally:
        target.dispose()
    assert new_id == arena.last_game_id + 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_copy_refuses_a_non_empty_target_unless_forced(
    db_settings: Settings, backend: str, tmp_path: Path, _templates
) -> None:
    source = _templates.sqlite(tmp_path / "source.db")
    engine = create_engine(source)
    build_arena(engine, games=3)
    engine.dispose()
    copy_database(source, db_settings)
    with pytest.raises(RefusedError, match=r"not empty .*replacing its contents") as refused:
        copy_database(source, db_settings)
    assert refused.value.parameter == "force"
    engine = create_engine(source)
    with write_transaction(engine) as conn:  # the forced copy must replace, not merge
        conn.execute(sa.delete(Game.__table__).where(Game.id == 2))
    engine.dispose()
    result = copy_database(source, db_settings, force=True)
    assert result.replaced
    assert _rows(db_settings) == _rows(source)


def test_copy_refuses_a_source_behind_head(tmp_path: Path) -> None:
    source = settings_for(f"sqlite:///{tmp_path / 'old.db'}")
    create_database(source)
    upgrade(source, "0002")
    with pytest.raises(RefusedError, match=r"not at head.*migrate up"):
        copy_database(source, settings_for(f"sqlite:///{tmp_path / 'new.db'}"))
    with pytest.raises(InvalidArgumentError, match="same database"):
        copy_database(source, source)


def test_copy_cli_prints_counts_and_asks_before_force(tmp_path: Path, _templates) -> None:
    source = _templates.sqlite(tmp_path / "source.db")
    engine = create_engine(source)
    build_arena(engine, games=3)
    engine.dispose()
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    args = ["--database-url", source.database_url, "copy", "--to", target_url]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert '"table": "games"' in result.stdout
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "not empty" in again.stderr
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 1 and "--yes" in forced.stderr
    forced = runner.invoke(app, [*args, "--force", "--yes"])
    assert forced.exit_code == 0, forced.output
    assert "copied" in forced.stderr


@pytest.mark.parametrize("target_backend", ["sqlite", "postgresql"])
def test_copy_refuses_json_with_nan_naming_the_column_and_writes_nothing(
    tmp_path: Path, _templates, pg_target: Settings, target_backend: str
) -> None:
    # An older import could leave NaN in a SQLite file (invalid JSON text): the one JSON policy
    # holds for copies too, on both target backends, instead of carrying it over (SQLite) or
    # failing with a raw driver error (PostgreSQL).
    source = _templates.sqlite(tmp_path / "source.db")
    engine = create_engine(source)
    try:
        build_arena(engine, games=3)
        with write_transaction(engine) as conn:
            conn.exec_driver_sql("UPDATE games SET info = '{\"score\": NaN}' WHERE id = 2")
    finally:
        engine.dispose()
    target = pg_target if target_backend == "postgresql" else _templates.sqlite(tmp_path / "t.db")

    with pytest.raises(InvalidDataError, match=r"games\.info is not JSON: NaN"):
        copy_database(source, target, force=True)

    assert all(not rows for rows in _rows(target).values())
