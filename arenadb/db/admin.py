"""Create, test and drop whole databases: a SQLite file, or a PostgreSQL database on a server.

PostgreSQL's CREATE/DROP DATABASE cannot run inside a transaction and cannot take a bound
parameter for the name, so they run on an AUTOCOMMIT connection to the server's maintenance
database with the name quoted by the dialect's identifier preparer (never an f-string of raw
input).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.config import Settings
from arenadb.db.engine import check_sqlite_folder, create_engine
from arenadb.db.errors import translate_error
from arenadb.errors import DatabaseExistsError, DatabaseMissingError, DatabaseUnavailableError

MAINTENANCE_DATABASES = ("postgres", "template1")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@contextlib.contextmanager
def maintenance_connection(settings: Settings) -> Iterator[Connection]:
    """AUTOCOMMIT connection to the server's maintenance database (PostgreSQL only)."""
    last: BaseException | None = None
    for name in MAINTENANCE_DATABASES:
        engine = create_engine(
            settings.with_url(settings.url.with_database(name)),
            pooled=False,
            isolation_level="AUTOCOMMIT",
        )
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            last = exc
            engine.dispose()
            # A missing maintenance database is worth one more try; anything else is final.
            if "does not exist" in str(exc.orig):
                continue
            break
        try:
            yield conn
            return
        finally:
            conn.close()
            engine.dispose()
    assert last is not None
    error = translate_error(last, settings)
    raise error if error else DatabaseUnavailableError(settings.mask(str(last)))


def _sqlite_file(settings: Settings) -> Path:
    path = settings.url.sqlite_path
    if path is None:
        raise DatabaseUnavailableError("an in-memory SQLite database cannot be created or dropped")
    return path


def database_exists(settings: Settings) -> bool:
    if settings.url.is_sqlite:
        path = settings.url.sqlite_path
        return path is None or (path.is_file() and path.stat().st_size > 0)
    with maintenance_connection(settings) as conn:
        found = conn.execute(
            sa.text("select 1 from pg_database where datname = :name"),
            {"name": settings.url.database},
        ).first()
    return found is not None


def create_database(settings: Settings, *, if_not_exists: bool = False) -> bool:
    """Create the database; returns False if it existed and `if_not_exists` allowed that."""
    if settings.url.is_sqlite:
        path = _sqlite_file(settings)
        check_sqlite_folder(settings.url)
        if path.is_file() and path.stat().st_size > 0:
            if if_not_exists:
                return False
            raise DatabaseExistsError(f"database {settings.masked_url} already exists")
        # Switching to WAL writes the header: the file is a real database from here on.
        connection = sqlite3.connect(path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        finally:
            connection.close()
        return True
    name = settings.url.database
    if not name:
        raise DatabaseUnavailableError(f"database URL {settings.masked_url} names no database")
    with maintenance_connection(settings) as conn:
        exists = conn.execute(
            sa.text("select 1 from pg_database where datname = :name"), {"name": name}
        ).first()
        if exists:
            if if_not_exists:
                return False
            raise DatabaseExistsError(f"database {settings.masked_url} already exists")
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        conn.exec_driver_sql(f"CREATE DATABASE {quoted} ENCODING 'UTF8' TEMPLATE template0")
    return True


def drop_database(settings: Settings, *, missing_ok: bool = False) -> bool:
    """Drop the database (disconnecting other sessions on PostgreSQL); False if it was missing."""
    if settings.url.is_sqlite:
        path = _sqlite_file(settings)
        if not path.exists():
            if missing_ok:
                return False
            raise DatabaseMissingError(f"database {settings.masked_url} does not exist")
        path.unlink()
        for suffix in SQLITE_SIDE_FILES:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return True
    name = settings.url.database or ""
    with maintenance_connection(settings) as conn:
        exists = conn.execute(
            sa.text("select 1 from pg_database where datname = :name"), {"name": name}
        ).first()
        if not exists:
            if missing_ok:
                return False
            raise DatabaseMissingError(f"database {settings.masked_url} does not exist")
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        conn.exec_driver_sql(f"DROP DATABASE {quoted} WITH (FORCE)")
    return True
