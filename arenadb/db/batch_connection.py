"""The one connection an Arena keeps for writing recorder batches, and raw DBAPI access."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from arenadb.db.checkpoint import DEFAULT_AUTOCHECKPOINT_PAGES, WalCheckpointer
from arenadb.db.engine import SQLITE_BEGIN
from arenadb.db.writer import writer_for


def driver_connection(conn: sa.Connection) -> Any:
    """The DBAPI connection (sqlite3 / psycopg) under a SQLAlchemy connection, same transaction."""
    return conn.connection.driver_connection


class BatchConnection:
    """The one connection an Arena keeps for writing batches (thread-safe, one batch at a time).

    Holding it saves a pool checkout (and PostgreSQL's pre-ping round trip) per batch. With
    `durable=False`, PostgreSQL batches commit with `synchronous_commit = off`: a commit returns
    before its WAL reaches the disk, so a crash of the database server (never of the runner) can
    lose the last few hundred milliseconds of batches, always whole ones and in order, which is
    what SQLite's `synchronous=NORMAL` does on power loss. It pays when batches are small and
    frequent; `finish()` commits durably whatever this says.

    On a SQLite file, the WAL is checkpointed by a background thread (`WalCheckpointer`) instead
    of inside the commits of this connection, between its transactions (never beside one), and
    kept under its bound (`WAL_LIMIT_BYTES` plus one transaction) by a checkpoint of this
    connection's own when it grows past it.
    """

    def __init__(self, engine: Engine, *, durable: bool = True) -> None:
        self.engine = engine
        self.durable = durable
        self.writer = writer_for(engine)
        self.checkpointer: WalCheckpointer | None = None
        self._conn: sa.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sa.Connection:
        conn = self.engine.connect()
        if self.writer.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            raw = driver_connection(conn)
            path = self.engine.url.database
            if path and raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                # No automatic checkpoint inside this connection's commits: after_commit decides.
                raw.execute("PRAGMA wal_autocheckpoint=0")
                if self.checkpointer is None:
                    self.checkpointer = WalCheckpointer(path)
        elif not self.durable:
            conn.exec_driver_sql("SET synchronous_commit TO off")
            conn.commit()
        self._conn = conn
        return conn

    def run(self, work: Callable[[Any], Any], *, durable: bool = False) -> Any:
        """Run `work(dbapi_connection)` in one write transaction; returns its result.

        The hot path: the transaction is driven on the DBAPI connection itself (BEGIN IMMEDIATE
        on SQLite, as `write_transaction` would; psycopg begins implicitly), which saves
        SQLAlchemy's per-transaction bookkeeping on every batch.
        `durable`: the commit waits for the disk even where batches do not (PostgreSQL).
        """
        with self._lock:
            conn = self._conn or self._open()
            raw = driver_connection(conn)
            with self._writing() as checkpointer:
                try:
                    if self.writer.name == "sqlite":
                        raw.execute("BEGIN IMMEDIATE")
                    elif durable and not self.durable:
                        raw.execute("SET LOCAL synchronous_commit TO on")
                    result = work(raw)
                    raw.commit()
                except BaseException:
                    # On a broken connection the rollback fails too: the first error matters.
                    with contextlib.suppress(Exception):
                        raw.rollback()
                    self._release()
                    raise
                if checkpointer is not None:
                    checkpointer.after_commit(raw)
            return result

    def run_session(self, work: Callable[[Session], Any], *, durable: bool = True) -> Any:
        """Run `work(session)` in one write transaction, with an ORM session on this connection.

        `durable`: the commit waits for the disk even where batches do not (PostgreSQL).
        """
        with self._lock:
            conn = self._conn or self._open()
            with self._writing() as checkpointer:
                try:
                    with conn.begin():
                        if durable and self.writer.name == "postgresql" and not self.durable:
                            conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
                        session = Session(bind=conn, expire_on_commit=False)
                        try:
                            result = work(session)
                            session.flush()
                        finally:
                            session.close()
                except BaseException:
                    self._release()
                    raise
                if checkpointer is not None:
                    checkpointer.after_commit(driver_connection(conn))
            return result

    @contextlib.contextmanager
    def _writing(self) -> Iterator[WalCheckpointer | None]:
        """Around a transaction and its `after_commit`: no background checkpoint starts inside
        it (see `WalCheckpointer.writing`); yields the checkpointer, if any."""
        checkpointer = self.checkpointer
        if checkpointer is None:
            yield None
            return
        with checkpointer.writing():
            yield checkpointer

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            # The connection goes back to the pool: other users get the defaults.
            if self.checkpointer is not None:
                driver_connection(conn).execute(
                    f"PRAGMA wal_autocheckpoint={DEFAULT_AUTOCHECKPOINT_PAGES}"
                )
            elif self.writer.name == "postgresql" and not self.durable:
                conn.exec_driver_sql("RESET synchronous_commit")
                conn.commit()
            conn.close()
        except Exception:
            conn.invalidate()
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._release()
            if self.checkpointer is not None:
                self.checkpointer.close()
                self.checkpointer = None
