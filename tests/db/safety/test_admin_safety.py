"""Issue 15 in db/admin: names the server would truncate, racing creators, what may be dropped."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_database, create_engine, database_exists, drop_database
from arenadb.errors import InvalidArgumentError, RefusedError
from tests.conftest import pg_settings, settings_for, unique_pg_name

runner = CliRunner()

# --- 4. PostgreSQL identifiers over 63 bytes ---------------------------------------------------


@pytest.mark.postgresql
def test_names_the_server_would_truncate_are_refused_before_anything_is_sent(pg_server):
    base = unique_pg_name()
    short = base + "x" * (63 - len(base))  # exactly 63 bytes: fine
    long = short + "tail_of_70"
    settings = pg_settings(short)
    try:
        assert create_database(settings) is True
        for call in (
            lambda: drop_database(pg_settings(long)),
            lambda: drop_database(pg_settings(long), missing_ok=True),
            lambda: create_database(pg_settings(long)),
            lambda: create_database(pg_settings(long), if_not_exists=True),
            lambda: database_exists(pg_settings(long)),
        ):
            with pytest.raises(InvalidArgumentError, match="63"):
                call()
        assert database_exists(settings)  # the 63-byte neighbour is untouched
        # Multi-byte characters count in bytes: 32 x 'é' is 64 bytes.
        with pytest.raises(InvalidArgumentError, match="64 bytes"):
            create_database(pg_settings("é" * 32))
        result = runner.invoke(
            app, ["--database-url", pg_settings(long).database_url, "db", "drop", "--yes"]
        )
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert database_exists(settings)
    finally:
        drop_database(settings, missing_ok=True)


def _create_after(barrier, url: str, init: bool) -> str:
    from arenadb.db import create_database
    from arenadb.schema.lifecycle import init_database

    settings = settings_for(url)
    barrier.wait()
    try:
        if init:
            init_database(settings)
        else:
            create_database(settings, if_not_exists=True)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@pytest.mark.postgresql
@pytest.mark.parametrize("init", [False, True], ids=["db create --if-not-exists", "init"])
def test_concurrent_creation_is_idempotent(pg_server, init):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(4) as pool:
        for _round in range(3):  # the race is lost often, not always: a few tries
            settings = pg_settings(unique_pg_name())
            barrier = manager.Barrier(4)
            try:
                outcomes = pool.starmap(_create_after, [(barrier, settings.database_url, init)] * 4)
                assert outcomes == ["ok"] * 4, outcomes
                assert database_exists(settings)
            finally:
                drop_database(settings, missing_ok=True)


# --- 5. only arenadb databases are dropped ------------------------------------------------------


def test_a_file_that_is_not_a_database_is_never_dropped(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("my thesis, no backup\n")
    siblings = [Path(f"{path}-wal"), Path(f"{path}-journal")]
    for sibling in siblings:
        sibling.write_text("also mine\n")
    settings = settings_for(f"sqlite:///{path}")
    for any_database in (False, True):
        with pytest.raises(RefusedError, match="not a SQLite database"):
            drop_database(settings, any_database=any_database)
    result = runner.invoke(app, ["--database-url", settings.database_url, "db", "drop", "--yes"])
    assert result.exit_code == 1 and "not a SQLite database" in result.stderr
    result = runner.invoke(app, ["--database-url", settings.database_url, "db", "reset", "--yes"])
    assert result.exit_code == 1 and "not a SQLite database" in result.stderr
    assert path.read_text() == "my thesis, no backup\n"
    assert all(s.read_text() == "also mine\n" for s in siblings)


def _foreign(settings: Settings) -> None:
    create_database(settings, if_not_exists=True)
    engine = create_engine(settings, pooled=False)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table invoices (id integer primary key)"))
            conn.execute(sa.text("create table alembic_version (version_num varchar(32))"))
    finally:
        engine.dispose()


def test_only_arenadb_databases_are_dropped(backend, fresh_settings: Settings):
    _foreign(fresh_settings)
    with pytest.raises(RefusedError, match=r"not an arenadb database .*invoices"):
        drop_database(fresh_settings)
    env = {"ARENADB_DATABASE_URL": fresh_settings.database_url}
    result = runner.invoke(app, ["db", "drop", "--yes"], env=env)
    assert result.exit_code == 1 and "invoices" in result.stderr
    assert database_exists(fresh_settings)
    result = runner.invoke(app, ["db", "drop", "--yes", "--any-database"], env=env)
    assert result.exit_code == 0, result.output
    assert not database_exists(fresh_settings)


def test_arenadb_databases_still_drop(backend, db_settings: Settings, fresh_settings: Settings):
    assert drop_database(db_settings) is True  # migrated to head
    assert not database_exists(db_settings)
    if backend == "sqlite":
        fresh_settings = settings_for(fresh_settings.database_url.replace("arena.db", "new.db"))
    create_database(fresh_settings)  # just created, no table yet
    assert drop_database(fresh_settings) is True


def test_reset_takes_any_database_like_drop(backend, fresh_settings: Settings):
    _foreign(fresh_settings)
    env = {"ARENADB_DATABASE_URL": fresh_settings.database_url}
    result = runner.invoke(app, ["db", "reset", "--yes"], env=env)
    assert result.exit_code == 1 and "invoices" in result.stderr
    assert "--any-database" in result.stderr
    result = runner.invoke(app, ["db", "reset", "--yes", "--any-database"], env=env)
    assert result.exit_code == 0, result.output
    engine = create_engine(fresh_settings, pooled=False)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert "invoices" not in tables and "agents" in tables
    # One declaration of the option, so both commands describe it the same way.
    drop_help = runner.invoke(app, ["db", "drop", "--help"]).output
    reset_help = runner.invoke(app, ["db", "reset", "--help"]).output
    assert "--any-database" in drop_help and "--any-database" in reset_help
