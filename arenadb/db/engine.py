"""Engine factory with per-dialect tuning, and session scopes.

Engines are created on demand (`create_engine(settings)`), never at import time.

SQLite: the pysqlite driver's own transaction handling is bypassed (isolation_level=None) and
arenadb emits BEGIN itself, so that a write transaction can start as `BEGIN IMMEDIATE`. A
deferred transaction that later writes cannot wait for the lock in WAL mode (SQLite returns
SQLITE_BUSY at once to avoid a deadlock), so every writer that may run in parallel with another
asks for `write_transaction(...)`, which takes the write lock up front and queues on busy_timeout.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

from arenadb.config import Settings
from arenadb.db.checkpoint import WAL_LIMIT_BYTES
from arenadb.db.json import orm_json_serializer
from arenadb.db.sqlite_files import existing_sqlite_uri
from arenadb.errors import (
    DatabaseMissingError,
    DatabaseUnavailableError,
    InvalidArgumentError,
)
from arenadb.urls import DatabaseURL, check_no_nul

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

APPLICATION_NAME = "arenadb"
SQLITE_HEADER = b"SQLite format 3\x00"
# Execution option naming the BEGIN variant on SQLite: "DEFERRED", "IMMEDIATE" or "EXCLUSIVE".
SQLITE_BEGIN = "arenadb_sqlite_begin"


def sqlalchemy_url(url: DatabaseURL) -> URL:
    """Build the SQLAlchemy URL from parts, so no character in a password is ever re-parsed."""
    query: dict[str, str | tuple[str, ...]] = {}
    for key, value in url.query:
        query[key] = value
    return URL.create(
        url.drivername,
        username=url.username,
        password=url.password,
        host=url.host,
        port=url.port,
        database=url.database,
        query=query,
    )


# PostgreSQL keeps the first NAMEDATALEN - 1 bytes of an identifier and drops the rest silently.
POSTGRESQL_MAX_IDENTIFIER_BYTES = 63


def check_postgresql_identifier(name: str, what: str) -> None:
    """Refuse a name the server would truncate (and so mean another object) or reject."""
    size = len(name.encode("utf-8"))
    if size > POSTGRESQL_MAX_IDENTIFIER_BYTES:
        raise InvalidArgumentError(
            f"PostgreSQL {what} {name[:20]!r}... is {size} bytes long; the server keeps only "
            f"the first {POSTGRESQL_MAX_IDENTIFIER_BYTES} and would use another name"
        )
    if not name or "\x00" in name:
        raise InvalidArgumentError(
            f"PostgreSQL {what} {name!r} is empty or contains a NUL character"
        )


def check_sqlite_folder(url: DatabaseURL) -> None:
    path = url.sqlite_path
    if path is None:
        return
    folder = path.expanduser().absolute().parent
    if not folder.is_dir():
        raise DatabaseUnavailableError(
            f"cannot open SQLite database {url.masked()}: folder {folder} does not exist"
        )


def _log_sql_to_stderr() -> None:
    """DB_ECHO: send echoed SQL to stderr. SQLAlchemy adds its own stdout handler only when the
    logger has none; stdout would corrupt `--json` output. Echo stays per engine (echo=True)."""
    import logging
    import sys

    class StderrHandler(logging.StreamHandler):
        # Look sys.stderr up at each record: it may have been replaced since (tests, pagers).
        @property
        def stream(self) -> Any:
            return sys.stderr

        @stream.setter
        def stream(self, _value: Any) -> None:
            pass

    logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(h.name == "arenadb" for h in logger.handlers):
        handler = StderrHandler()
        handler.set_name("arenadb")
        handler.setFormatter(logging.Formatter("sql: %(message)s"))
        logger.addHandler(handler)


def create_engine(
    settings: Settings,
    *,
    pooled: bool = True,
    create_missing: bool = False,
    read_only: bool = False,
    **kwargs: Any,
) -> Engine:
    """An engine for `settings.url`, tuned for its backend. `pooled=False` uses NullPool.

    The engine never creates a database: a missing (or empty) SQLite file is a
    DatabaseMissingError on first connect, and nothing is written. Only `create_missing=True`
    (what `create_database` means) lets SQLite create the file. `read_only=True` makes every
    write fail in the database itself: SQLite opens the file `mode=ro` (and `query_only`),
    PostgreSQL sessions start with `default_transaction_read_only` (a read replica's engine).
    """
    url = settings.url
    check_no_nul(url)  # also for a DatabaseURL built in code, which parse_url never saw
    if settings.echo:
        _log_sql_to_stderr()
    if url.is_sqlite:
        return _sqlite_engine(
            settings, pooled=pooled, create_missing=create_missing, read_only=read_only, **kwargs
        )
    return _postgresql_engine(settings, pooled=pooled, read_only=read_only, **kwargs)


def database_missing(url: DatabaseURL) -> DatabaseMissingError:
    return DatabaseMissingError(
        f"database {url.masked()} does not exist (create it with `arenadb init`)"
    )


def _open_existing_sqlite_file(
    url: DatabaseURL, cargs: list[Any], cparams: dict, mode: str = "rw"
) -> None:
    """Open the file with `mode=rw`: SQLite then fails instead of creating it, even if it is
    removed between this check and the open. A 0-byte file is not a database either: the
    first PRAGMA would turn it into one."""
    path = Path(cargs[0])
    try:
        status = path.stat()
    except FileNotFoundError:
        raise database_missing(url) from None
    except OSError as exc:
        raise DatabaseUnavailableError(
            f"cannot open SQLite database {url.masked()}: {exc.strerror}"
        ) from None
    if stat.S_ISREG(status.st_mode) and status.st_size == 0:
        raise database_missing(url)
    # Said here, naming this database: the driver's "file is not a database" names none, and
    # the CLI would blame the database of --database-url (`copy --to notes.txt` blamed the
    # source). A folder, a device or a pipe is never opened (a pipe's open could block).
    if not stat.S_ISREG(status.st_mode) or not has_sqlite_header(path):
        raise DatabaseUnavailableError(
            f"cannot open SQLite database {url.masked()}: {path} is not a SQLite database file"
        )
    cargs[0] = existing_sqlite_uri(path, mode=mode)
    cparams["uri"] = True


def has_sqlite_header(path: Path) -> bool:
    """Does the file start as every SQLite database does (True if it cannot be read)?"""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return True  # unreadable: let SQLite say why (permission denied, ...)


def _sqlite_engine(
    settings: Settings, *, pooled: bool, create_missing: bool, read_only: bool, **kwargs: Any
) -> Engine:
    url = settings.url
    check_sqlite_folder(url)
    options: dict[str, Any] = {"echo": settings.echo, "json_serializer": orm_json_serializer}
    if url.sqlite_path is None:
        # One shared in-memory database for the engine's lifetime.
        options["poolclass"] = StaticPool
    elif not pooled:
        options["poolclass"] = NullPool
    options["connect_args"] = {
        "timeout": settings.busy_timeout_ms / 1000,
        "check_same_thread": False,
    }
    options.update(kwargs)
    engine = sa.create_engine(sqlalchemy_url(url), **options)
    busy_timeout = int(settings.busy_timeout_ms)

    if url.sqlite_path is not None and not create_missing:
        mode = "ro" if read_only else "rw"

        @event.listens_for(engine, "do_connect")
        def _on_do_connect(_dialect: Any, _record: Any, cargs: list, cparams: dict) -> None:
            _open_existing_sqlite_file(url, cargs, cparams, mode)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; BEGIN is emitted in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if read_only:
                cursor.execute("PRAGMA query_only=ON")
            elif url.sqlite_path is not None:
                # No journal_mode here: switching to WAL writes the file's header, and opening a
                # file must change nothing (a read of another application's database, say). An
                # arenadb database is in WAL mode from `create_database` and `migrate up` on
                # (see `use_wal`), and SQLite keeps the mode in the file.
                # A WAL that starts over is cut back to this size (see db/checkpoint.py).
                cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def use_wal(dbapi_connection: Any) -> None:
    """Put the SQLite database of a driver connection (outside any transaction) in WAL mode,
    which SQLite keeps in the file: for the commands that create or migrate an arenadb
    database, never on a mere connect."""
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _postgresql_engine(
    settings: Settings, *, pooled: bool, read_only: bool, **kwargs: Any
) -> Engine:
    for name, what in ((settings.url.database, "database name"), (settings.url.username, "user")):
        if name is not None:
            check_postgresql_identifier(name, what)
    connect_args: dict[str, Any] = {
        # libpq wants whole seconds; 0 would mean "wait forever".
        "connect_timeout": max(1, math.ceil(settings.connect_timeout)),
        "application_name": APPLICATION_NAME,
    }
    server_options = []
    if settings.statement_timeout_ms:
        server_options.append(f"-c statement_timeout={int(settings.statement_timeout_ms)}")
    if read_only:
        server_options.append("-c default_transaction_read_only=on")
    if server_options:
        connect_args["options"] = " ".join(server_options)
    options: dict[str, Any] = {
        "echo": settings.echo,
        "json_serializer": orm_json_serializer,
        "pool_pre_ping": True,
        "connect_args": connect_args,
    }
    if pooled:
        options["pool_size"] = settings.pool_size
    else:
        options["poolclass"] = NullPool
    options.update(kwargs)
    engine = sa.create_engine(sqlalchemy_url(settings.url), **options)
    url = settings.url
    # What libpq reports when the server has no such database (no SQLSTATE reaches the client
    # on a failed connect): the library says so, as it does for a missing SQLite file.
    missing = f'database "{url.database}" does not exist'

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        if url.database and missing in str(context.original_exception):
            raise database_missing(url) from None

    return engine


@contextmanager
def engine_scope(settings: Settings, **kwargs: Any) -> Iterator[Engine]:
    """An engine for one unit of work (a CLI command, a migration), disposed at the end."""
    engine = create_engine(settings, **kwargs)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def write_transaction(engine: Engine, *, check_foreign_keys: bool = True) -> Iterator[Connection]:
    """A Core connection in a transaction that holds the write lock from its first statement.

    `check_foreign_keys=False` (SQLite; PostgreSQL always checks): the writer vouches that every
    reference it writes is to a row that the write lock keeps in place, e.g. ids it read in this
    same transaction. SQLite then skips a parent lookup per key per row (rebuilds write tens of
    thousands of rating events). The connection gets `foreign_keys=ON` back before it is reused.
    """
    with engine.connect() as conn:
        raw: Any = None
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            if not check_foreign_keys:
                # Outside any transaction: inside one, SQLite ignores this pragma.
                raw = conn.connection.driver_connection
                raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                try:
                    raw.execute("PRAGMA foreign_keys=ON")
                except Exception:
                    conn.invalidate()  # never back to the pool without its checks
                    raise


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (results outlive the transaction)."""
    # Here, not at the top: sqlalchemy.orm costs a third of sqlalchemy's import, and the
    # commands that read through Core (db stats, db check) never open a session.
    from sqlalchemy.orm import sessionmaker

    bind = engine
    if write and engine.dialect.name == "sqlite":
        bind = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with session_factory(engine, write=write).begin() as session:
        yield session


def server_info(conn: Connection) -> dict[str, str]:
    """Backend, server version and database name of a live connection."""
    if conn.dialect.name == "sqlite":
        version = conn.exec_driver_sql("select sqlite_version()").scalar_one()
        database = conn.engine.url.database or ":memory:"
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        return {
            "backend": "sqlite",
            "server_version": str(version),
            "database": str(Path(database).absolute()) if database != ":memory:" else database,
            "journal_mode": str(journal),
        }
    version = conn.exec_driver_sql("show server_version").scalar_one()
    database = conn.exec_driver_sql("select current_database()").scalar_one()
    return {"backend": "postgresql", "server_version": str(version), "database": str(database)}
