"""Copy a whole arena database to another backend (SQLite -> PostgreSQL and back), ids preserved.

    from arenadb.config import load_settings
    from arenadb.portability.copy import copy_database

    result = copy_database(load_settings("sqlite:///arena.db"),
                           load_settings("postgresql://postgres@db/arena"))
    print(result.rows, [(t.table, t.rows) for t in result.tables])

How: the target is created if needed and migrated to head (the source must be at head too, so
both schemas are the same); then every table of the models' metadata is copied in foreign-key
dependency order, in primary-key order and in batches, inside ONE target transaction: a failed
copy leaves the target as it was. PostgreSQL takes the rows through COPY; SQLite through
executemany with foreign keys deferred to the commit (a prompt may be forked from a later one).
PostgreSQL id sequences are then moved past the copied ids, and the row count of every table is
compared with the source before the commit. The source is read in one snapshot (REPEATABLE READ
on PostgreSQL, one read transaction on SQLite), so writers may keep working while it runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.config import Settings
from arenadb.db.admin import create_database, database_exists
from arenadb.db.bulk import insert_rows, is_json, select_json_as_text
from arenadb.db.engine import SQLITE_BEGIN, create_engine
from arenadb.db.identity import same_database
from arenadb.db.json import checked_json_text
from arenadb.db.statistics import refresh_statistics
from arenadb.errors import (
    DatabaseMissingError,
    IntegrityCheckError,
    InvalidArgumentError,
    RefusedError,
)
from arenadb.progress import Progress

DEFAULT_BATCH_ROWS = 5_000

# Progress here: (table, rows copied in this table so far, rows of this table in the source)


@dataclass
class TableCopy:
    """One table of a copy: rows in the source, rows in the target after the copy."""

    table: str
    rows: int
    copied: int

    @property
    def ok(self) -> bool:
        return self.rows == self.copied


@dataclass
class CopyResult:
    source: str
    target: str
    revision: list[str]
    tables: list[TableCopy] = field(default_factory=list)
    replaced: bool = False
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def copied_tables() -> list[sa.Table]:
    """Every table arenadb owns, parents before children (alembic_version is handled apart),
    the tables that triggers keep from other tables' rows last."""
    from arenadb.models import metadata

    tables = list(metadata.sorted_tables)
    return [t for t in tables if t.name not in TRIGGER_KEPT] + [
        t for t in tables if t.name in TRIGGER_KEPT
    ]


# Tables that triggers on other tables write (migration 0015: `rated_pools`, from `games`). The
# target's triggers fill them while the games are copied; then the source's rows replace what
# they wrote (the same counts, and the source's versions: the copied stored boards stay valid).
TRIGGER_KEPT = frozenset({"rated_pools"})


def table_counts(conn: Connection, tables: list[sa.Table]) -> dict[str, int]:
    """Row count of each table, in one statement."""
    counts = [
        sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables
    ]
    row = conn.execute(sa.select(*counts)).one()
    return {t.name: int(row._mapping[t.name]) for t in tables}


def _require_head(settings: Settings, role: str) -> list[str]:
    from arenadb.schema.migrations import migration_status

    status = migration_status(settings)
    if not status.up_to_date:
        current = ", ".join(status.current) or "an empty schema"
        raise RefusedError(
            f"{role} database {settings.masked_url} is at {current}, not at head "
            f"{', '.join(status.heads)}: run `arenadb migrate up` on it first"
        )
    return sorted(status.current)


def copy_database(
    source: Settings,
    target: Settings,
    *,
    force: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    progress: Progress | None = None,
    any_database: bool = False,
) -> CopyResult:
    """Copy every table of `source` into `target` (created and migrated if needed).

    Refuses a target that holds any row unless `force`, which empties it first (in the same
    transaction as the copy), and a target holding another application's tables unless
    `any_database`. Raises IntegrityCheckError if a row count differs afterwards.
    """
    from arenadb.schema.migrations import upgrade

    if same_database(source, target):  # before anything is created, written or locked
        raise InvalidArgumentError(
            f"source and target are the same database ({source.masked_url} is "
            f"{target.masked_url}): nothing was copied"
        )
    if not database_exists(source):
        raise DatabaseMissingError(f"database {source.masked_url} does not exist")
    revision = _require_head(source, "source")
    create_database(target, if_not_exists=True)
    upgrade(target, "head", any_database=any_database)
    started = time.perf_counter()
    tables = copied_tables()
    source_engine = create_engine(source, pooled=False)
    target_engine = create_engine(target, pooled=False)
    result = CopyResult(source.masked_url, target.masked_url, revision)
    try:
        with _snapshot(source_engine) as reader, _writer(target_engine) as writer:
            source_counts = table_counts(reader, tables)
            occupied = {k: v for k, v in table_counts(writer, tables).items() if v}
            if occupied and not force:
                listed = ", ".join(f"{name} {count}" for name, count in occupied.items())
                raise RefusedError(
                    f"target {target.masked_url} is not empty ({listed} rows); "
                    "replacing its contents was not asked for",
                    parameter="force",
                )
            if occupied:
                _empty_tables(writer, tables)
                result.replaced = True
            for table in tables:
                if table.name in TRIGGER_KEPT:
                    writer.execute(sa.delete(table))
                _copy_table(reader, writer, table, source_counts[table.name], batch_rows, progress)
            if writer.dialect.name == "postgresql":
                reset_sequences(writer, tables)
            target_counts = table_counts(writer, tables)
            result.tables = [
                TableCopy(t.name, source_counts[t.name], target_counts[t.name]) for t in tables
            ]
            wrong = [t for t in result.tables if not t.ok]
            if wrong:
                listed = ", ".join(f"{t.table} {t.rows} -> {t.copied}" for t in wrong)
                raise IntegrityCheckError(
                    f"row counts differ after the copy ({listed}); rolled back"
                )
        refresh_statistics(target_engine, [t.name for t in tables])
    finally:
        source_engine.dispose()
        target_engine.dispose()
    result.seconds = time.perf_counter() - started
    return result


class _snapshot:
    """A read-only connection that sees one consistent state of the source."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        conn = self.engine.connect()
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        self.conn = conn
        self.transaction = conn.begin()
        return conn

    def __exit__(self, *exc: Any) -> None:
        assert self.conn is not None
        self.transaction.rollback()
        self.conn.close()


class _writer:
    """The target's one write transaction; commits only if the block succeeds."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        conn = self.engine.connect()
        if conn.dialect.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        self.conn = conn
        self.transaction = conn.begin()
        if conn.dialect.name == "sqlite":
            # Foreign keys checked at COMMIT: rows of a self-referencing table need no order.
            conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        return conn

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if exc_type is None:
                self.transaction.commit()
            else:
                self.transaction.rollback()
        finally:
            self.conn.close()


def _empty_tables(conn: Connection, tables: list[sa.Table]) -> None:
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql("TRUNCATE " + ", ".join(quote(t.name) for t in tables))
        return
    for table in reversed(tables):
        conn.execute(sa.delete(table))


def _copy_table(
    reader: Connection,
    writer: Connection,
    table: sa.Table,
    total: int,
    batch_rows: int,
    progress: Progress | None,
) -> None:
    columns = [c.name for c in table.c]
    done = 0
    if progress is not None:
        progress(table.name, 0, total)
    if total == 0:
        return
    # The one JSON policy holds for copied rows too: JSON text is checked, not re-encoded.
    json_columns = [(i, f"{table.name}.{c.name}") for i, c in enumerate(table.c) if is_json(c)]
    rows = reader.execution_options(yield_per=batch_rows).execute(select_json_as_text(table))
    for batch in rows.partitions():
        if json_columns:
            for row in batch:
                for index, what in json_columns:
                    checked_json_text(row[index], what)
        done += insert_rows(writer, table, columns, (tuple(r) for r in batch))
        if progress is not None:
            progress(table.name, done, total)


def reset_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    """Move every serial/identity sequence past the largest id now in its table (PostgreSQL)."""
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa.Integer) or column.autoincrement is False:
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence is None:
                continue
            # is_called = false: the next value is exactly max + 1 (or 1 for an empty table).
            conn.execute(
                sa.text(
                    "SELECT setval(CAST(:sequence AS regclass), "
                    f"(SELECT coalesce(max({conn.dialect.identifier_preparer.quote(column.name)}),"
                    f" 0) + 1 FROM {conn.dialect.identifier_preparer.quote(table.name)}), false)"
                ),
                {"sequence": sequence},
            )
