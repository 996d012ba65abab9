"""Create, test and drop whole databases: a SQLite file, or a PostgreSQL database on a server.

PostgreSQL's CREATE/DROP DATABASE cannot run inside a transaction and cannot take a bound
parameter for the name, so they run on an AUTOCOMMIT connection to the server's maintenance
database with the name quoted by the dialect's identifier preparer (never an f-string of raw
input).

Safety rules (issue 15):
- a PostgreSQL name the server would truncate (over 63 bytes) or refuse is an error before
  anything is sent: `DROP DATABASE` on a 70-character name would drop the database named by its
  first 63 bytes;
- only arenadb databases are dropped: a SQLite path that is not a SQLite database is never
  deleted, and a database with tables but none of arenadb's needs `any_database=True`;
- `create_database(if_not_exists=True)` is idempotent under concurrency (a CREATE DATABASE that
  loses the race to another process is "already exists", not a duplicate-key error).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.config import Settings
from arenadb.db.engine import (
    check_postgresql_identifier,
    check_sqlite_folder,
    create_engine,
    has_sqlite_header,
    use_wal,
)
from arenadb.db.errors import translate_error
from arenadb.errors import (
    DatabaseExistsError,
    DatabaseMissingError,
    DatabaseUnavailableError,
    RefusedError,
)

MAINTENANCE_DATABASES = ("postgres", "template1")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# Tables of the first migration: a database holding any of them (with alembic_version) is
# arenadb's. A database with no table at all (just created) or only alembic_version (migrated
# down to base) is arenadb's too: nothing else makes those.
ARENADB_CORE_TABLES = frozenset(
    {"agent_kinds", "agents", "arenadb_meta", "game_types", "games", "llm_models", "prompts"}
)
# SQLSTATEs of a CREATE DATABASE that lost a race: duplicate_database, unique_violation.
_ALREADY_CREATED = ("42P04", "23505")


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
        except DatabaseMissingError as exc:
            # A missing maintenance database is worth one more try; anything else is final.
            last = exc
            engine.dispose()
            continue
        except sa.exc.OperationalError as exc:
            last = exc
            engine.dispose()
            break
        try:
            yield conn
            return
        finally:
            conn.close()
            engine.dispose()
    assert last is not None
    error = last if isinstance(last, DatabaseMissingError) else translate_error(last, settings)
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
    _database_name(settings)
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
        if os.path.lexists(path) and not path.is_file():
            # A folder, a device, a pipe, a dangling link: SQLite would write through or fail
            # with a driver error that names no path.
            raise RefusedError(
                f"refusing to create database {settings.masked_url}: {path} exists and is not "
                "a regular file"
            )
        # Switching to WAL writes the header: the file is a real database from here on.
        connection = sqlite3.connect(path)
        try:
            use_wal(connection)
        finally:
            connection.close()
        return True
    name = _database_name(settings)
    with maintenance_connection(settings) as conn:
        exists = conn.execute(
            sa.text("select 1 from pg_database where datname = :name"), {"name": name}
        ).first()
        if exists:
            if if_not_exists:
                return False
            raise DatabaseExistsError(f"database {settings.masked_url} already exists")
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        try:
            conn.exec_driver_sql(f"CREATE DATABASE {quoted} ENCODING 'UTF8' TEMPLATE template0")
        except sa.exc.DBAPIError as exc:
            # Another process created it between our look and our CREATE.
            if getattr(exc.orig, "sqlstate", None) not in _ALREADY_CREATED:
                raise
            if if_not_exists:
                return False
            raise DatabaseExistsError(f"database {settings.masked_url} already exists") from None
    return True


def _database_name(settings: Settings) -> str:
    name = settings.url.database
    if not name:
        raise DatabaseUnavailableError(f"database URL {settings.masked_url} names no database")
    check_postgresql_identifier(name, "database name")
    return name


def drop_database(
    settings: Settings, *, missing_ok: bool = False, any_database: bool = False
) -> bool:
    """Drop the database (disconnecting other sessions on PostgreSQL); False if it was missing.

    Only an arenadb database is dropped unless `any_database`; a SQLite path that is not a
    SQLite database never is (nor its -wal/-journal neighbours).
    """
    if settings.url.is_sqlite:
        path = _sqlite_file(settings)
        # A 0-byte file is no database (database_exists agrees): left alone, like its neighbours.
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            if missing_ok:
                return False
            raise DatabaseMissingError(f"database {settings.masked_url} does not exist")
        _check_droppable_sqlite(settings, path, any_database=any_database)
        path.unlink()
        for suffix in SQLITE_SIDE_FILES:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return True
    name = _database_name(settings)
    with maintenance_connection(settings) as conn:
        exists = conn.execute(
            sa.text("select 1 from pg_database where datname = :name"), {"name": name}
        ).first()
        if not exists:
            if missing_ok:
                return False
            raise DatabaseMissingError(f"database {settings.masked_url} does not exist")
        if not any_database:
            refuse_to_drop(settings.masked_url, _postgresql_tables(settings))
        quoted = conn.dialect.identifier_preparer.quote_identifier(name)
        conn.exec_driver_sql(f"DROP DATABASE {quoted} WITH (FORCE)")
    return True


def _check_droppable_sqlite(settings: Settings, path: Path, *, any_database: bool) -> None:
    if not path.is_file():
        raise RefusedError(f"refusing to drop {settings.masked_url}: {path} is not a file")
    if not has_sqlite_header(path):  # unreadable: the read-only open below says why
        raise RefusedError(
            f"refusing to drop {settings.masked_url}: {path} is not a SQLite database"
        )
    if any_database:
        return
    # Read-only and immutable-free: looking must not create a WAL or change the file.
    uri = f"{path.absolute().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
        try:
            rows = connection.execute(_SQLITE_TABLES).fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise RefusedError(
            f"refusing to drop {settings.masked_url}: cannot read it as a database ({exc})"
        ) from None
    refuse_to_drop(settings.masked_url, {row[0] for row in rows})


_SQLITE_TABLES = "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
_POSTGRESQL_TABLES = (
    "select table_name from information_schema.tables "
    "where table_schema not in ('pg_catalog', 'information_schema')"
)


def connection_tables(conn: Connection) -> set[str]:
    """The tables of the database `conn` is on, in every schema (what `is_arenadb_database`
    looks at)."""
    query = _SQLITE_TABLES if conn.dialect.name == "sqlite" else _POSTGRESQL_TABLES
    return set(conn.exec_driver_sql(query).scalars())


def is_arenadb_database(tables: set[str]) -> bool:
    """THE rule for whose database this is: arenadb's holds alembic_version and one of the
    first migration's tables, or nothing at all (just created), or alembic_version alone
    (migrated down to base); anything else belongs to another application."""
    if not tables or tables == {"alembic_version"}:
        return True
    return "alembic_version" in tables and bool(tables & ARENADB_CORE_TABLES)


def refuse_foreign_database(
    masked_url: str,
    tables: set[str],
    *,
    doing: str,
    outcome: str,
    parameter: str | None = "any_database",
) -> None:
    """Raise RefusedError unless `tables` make an arenadb database (`is_arenadb_database`): what
    drop, reset, init, migrate, copy and reindex ask before touching a database, unless told
    `any_database` (`parameter=None`: the caller takes no such argument)."""
    if is_arenadb_database(tables):
        return
    raise RefusedError(
        f"refusing to {doing} {masked_url}: it is not an arenadb database "
        f"({_some_tables(tables)} of another application: {_listed(tables)}); {outcome}",
        parameter=parameter,
    )


def _some_tables(tables: set[str]) -> str:
    return f"{len(tables)} {'table' if len(tables) == 1 else 'tables'}"


def _listed(tables: set[str]) -> str:
    """The first few names, for a one-line message."""
    return ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")


def other_application_tables(tables: set[str]) -> set[str]:
    """The tables that are not arenadb's: what a database shared on purpose (`init
    --any-database`) holds beside arenadb's own tables, its search index and partitions."""
    from arenadb.db.fulltext import is_fts5_table
    from arenadb.db.partitions import is_partition_name
    from arenadb.models import metadata

    return {
        name
        for name in tables
        if name not in metadata.tables
        and name != "alembic_version"
        and not is_fts5_table(name)
        and not is_partition_name(name)
    }


def refuse_to_drop(masked_url: str, tables: set[str]) -> None:
    """Drop only a database that is arenadb's alone: not another application's
    (`refuse_foreign_database`), nor one that arenadb shares with another application, whose
    tables would go with it."""
    refuse_foreign_database(masked_url, tables, doing="drop", outcome="nothing was dropped")
    others = other_application_tables(tables)
    if others:
        raise RefusedError(
            f"refusing to drop {masked_url}: it also holds {_some_tables(others)} of another "
            f"application ({_listed(others)}), which would be dropped with it; nothing was "
            "dropped",
            parameter="any_database",
        )


def _postgresql_tables(settings: Settings) -> set[str]:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return connection_tables(conn)
    except sa.exc.DBAPIError as exc:
        raise RefusedError(
            f"refusing to drop {settings.masked_url}: cannot look inside it to see that it is "
            f"an arenadb database ({settings.mask(' '.join(str(exc.orig).split()))})"
        ) from None
    finally:
        engine.dispose()
