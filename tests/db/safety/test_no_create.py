"""Issue 15, class 6 in the library: only create_database creates; everything else says so."""

from __future__ import annotations

import pytest

import arenadb
from arenadb.config import Settings
from arenadb.db import create_engine, database_exists
from arenadb.errors import DatabaseMissingError


def test_the_library_never_creates_a_database(backend, fresh_settings: Settings):
    arena = arenadb.connect(settings=fresh_settings)
    try:
        with pytest.raises(DatabaseMissingError, match="does not exist"):
            arena.register_model("x")
    finally:
        arena.close()
    engine = create_engine(fresh_settings)
    try:
        with pytest.raises(DatabaseMissingError, match="does not exist"):
            engine.connect()
    finally:
        engine.dispose()
    assert not database_exists(fresh_settings)
    path = fresh_settings.url.sqlite_path
    assert path is None or not path.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_empty_file_stays_empty(fresh_settings: Settings):
    path = fresh_settings.url.sqlite_path
    assert path is not None
    path.touch()
    engine = create_engine(fresh_settings)
    try:
        with pytest.raises(DatabaseMissingError):
            engine.connect()
    finally:
        engine.dispose()
    assert path.stat().st_size == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_empty_file_is_not_backed_up_as_a_database(fresh_settings: Settings, tmp_path):
    """The raw connections (backup, checkpointer) take a 0-byte file for no database, as the
    engines do: `backup` used to report an empty backup of it as a success."""
    import sqlite3

    from typer.testing import CliRunner

    from arenadb.cli import app
    from arenadb.db.sqlite_files import connect_existing_sqlite

    path = fresh_settings.url.sqlite_path
    assert path is not None
    path.touch()
    with pytest.raises(sqlite3.OperationalError, match="empty"):
        connect_existing_sqlite(path)
    target = tmp_path / "backup.db"
    result = CliRunner().invoke(
        app, ["--database-url", fresh_settings.database_url, "backup", str(target)]
    )
    assert result.exit_code == 1 and "does not exist" in result.stderr, result.output
    assert not target.exists() and path.stat().st_size == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_wal_checkpointer_never_recreates_a_removed_database(db_settings: Settings):
    from arenadb.db.checkpoint import WalCheckpointer

    path = db_settings.url.sqlite_path
    assert path is not None and path.stat().st_size > 0
    for sibling in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        sibling.unlink(missing_ok=True)
    checkpointer = WalCheckpointer(str(path), interval=0.01, idle_seconds=0.05)
    checkpointer.poke()
    thread = checkpointer._thread
    assert thread is not None
    thread.join(timeout=10)
    checkpointer.close()
    assert not path.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_raw_sqlite_connections_never_create_a_file(db_settings: Settings, tmp_path):
    """What backup and the checkpointer open: removed after any check, it stays removed."""
    import sqlite3

    from arenadb.db.sqlite_files import connect_existing_sqlite

    path = tmp_path / "gone.db"
    with pytest.raises(sqlite3.OperationalError):
        connect_existing_sqlite(path)
    assert not path.exists()
    source = db_settings.url.sqlite_path
    assert source is not None
    connection = connect_existing_sqlite(source)  # an existing one opens, read-write
    try:
        assert connection.execute("select count(*) from agents").fetchone() == (0,)
    finally:
        connection.close()


def test_the_library_raises_its_own_errors_on_an_uninitialised_database(
    backend, fresh_settings: Settings
):
    """Driver errors are translated in the library's layer, not only by the CLI: registration,
    the read side and a caller's own session raise arenadb errors (saying what to run), never
    SQLAlchemy's OperationalError / ProgrammingError."""
    import sqlalchemy as sa

    from arenadb.db import create_database
    from arenadb.errors import ArenaDBError

    create_database(fresh_settings)  # there, but no arenadb tables
    arena = arenadb.connect(settings=fresh_settings)
    try:
        for call in (
            lambda: arena.register_model("x"),
            lambda: arena.games(),
            lambda: arena.active_models(),
        ):
            with pytest.raises(ArenaDBError, match="arenadb init") as caught:
                call()
            assert not isinstance(caught.value, sa.exc.SQLAlchemyError)
            assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)  # kept for debugging
        with pytest.raises(ArenaDBError, match="no table games"), arena.session() as session:
            session.execute(sa.text("select count(*) from games"))
        with pytest.raises(ValueError, match="mine"), arena.session():  # not a database error
            raise ValueError("mine")
    finally:
        arena.close()
