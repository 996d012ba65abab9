"""Is the full-text index in step with the rows it indexes, and rebuilding it when it is not.

The index (arenadb.db.fulltext) is derived data: on SQLite, FTS5 tables kept by triggers; on
PostgreSQL, GIN expression indexes. `db check` must not say ok over an index that lost its
entries (`DELETE FROM search_turns`, triggers switched off for a bulk load, a restore of part of
a file) or an index PostgreSQL does not use (INVALID after an interrupted CREATE INDEX
CONCURRENTLY, or marked so). A full comparison reads every row; the check reads a few index
pages per table instead, so it stays fast at any size:

- SQLite: the lowest and highest key of each table equal those of its FTS5 table's `_docsize`
  shadow table (one row per indexed row), and PROBES keys spread over the range are found on
  both sides. An emptied or truncated index, or one that misses its newest rows, is always
  found; a few rows lost in the middle are found by chance.
- PostgreSQL: every index of the database is valid and ready (pg_index), the search indexes
  included. A GIN index that is valid is maintained by the server on every write.

    from arenadb.db.search_index import rebuild_search_index, search_index_problems
    problems = search_index_problems(conn)       # [] when in step
    rebuild_search_index(engine)                 # `arenadb db reindex`
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from arenadb.db.engine import write_transaction
from arenadb.db.fulltext import LLM_TEXT_VIEW, SOURCES, Source
from arenadb.urls import mask_url

PROBES = 32
REBUILD_HINT = "rebuild it with `arenadb db reindex`"


def search_index_problems(conn: Connection) -> list[str]:
    """What is out of step in the full-text index (and, on PostgreSQL, any unusable index)."""
    if conn.dialect.name == "sqlite":
        found = [_sqlite_problem(conn, source) for source in SOURCES.values()]
        return [problem for problem in found if problem]
    return [
        f"index {index} on {table} is invalid: PostgreSQL does not use it"
        for index, table in _invalid_postgresql_indexes(conn)
    ]


def _invalid_postgresql_indexes(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.exec_driver_sql(
        "SELECT c.relname, t.relname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace "
        "AND NOT (i.indisvalid AND i.indisready) ORDER BY 1"
    ).all()
    from arenadb.db.partitions import is_partition_name
    from arenadb.models import metadata

    # A partition's own index counts: on a partitioned table (PostgreSQL) an index is one index
    # per partition, each of which can be left invalid and rebuilt on its own.
    return [
        (index, table)
        for index, table in rows
        if table in metadata.tables or is_partition_name(table)
    ]


def _bounds(conn: Connection, table: str, key: str) -> tuple[int | None, int | None]:
    # Two queries: SQLite reads one index page for a lone min() or max(), but scans the whole
    # table for both in one SELECT.
    low = conn.exec_driver_sql(f"SELECT min({key}) FROM {table}").scalar()
    high = conn.exec_driver_sql(f"SELECT max({key}) FROM {table}").scalar()
    return low, high


def _first_at_or_after(conn: Connection, table: str, key: str, target: int) -> int | None:
    return conn.exec_driver_sql(
        f"SELECT {key} FROM {table} WHERE {key} >= ? ORDER BY {key} LIMIT 1", (target,)
    ).scalar()


def _has(conn: Connection, table: str, key: str, value: int) -> bool:
    return (
        conn.exec_driver_sql(f"SELECT 1 FROM {table} WHERE {key} = ?", (value,)).first() is not None
    )


def _sqlite_problem(conn: Connection, source: Source) -> str | None:
    # (table, its key): the indexed table and the FTS5 table's one row per indexed row.
    rows, indexed = (source.table, source.fts_key), (f"{source.fts}_docsize", "id")
    where = f"the search index of {source.name} ({source.fts}) is out of step with {source.table}"
    bounds = _bounds(conn, *rows)
    if bounds != _bounds(conn, *indexed):
        return f"{where}: rows {_span(bounds)}, indexed {_span(_bounds(conn, *indexed))}"
    low, high = bounds
    if low is None or high is None:
        return None
    probes = range(low, high + 1, max(1, (high - low) // PROBES))
    missing = 0
    for target in probes:
        for there, here in ((rows, indexed), (indexed, rows)):
            found = _first_at_or_after(conn, *there, target)
            if found is not None and not _has(conn, *here, found):
                missing += 1
    if missing:
        return f"{where}: {missing} of {2 * len(probes)} probed rows are on one side only"
    return None


def _span(bounds: tuple[int | None, int | None]) -> str:
    low, high = bounds
    return "none" if low is None else f"{low}..{high}"


@dataclass
class SearchRebuild:
    """What `rebuild_search_index` did: rows indexed per source (SQLite), indexes rebuilt
    (PostgreSQL), seconds taken."""

    backend: str
    rows: dict[str, int]
    indexes: list[str]
    seconds: float


def rebuild_search_index(engine: Engine) -> SearchRebuild:
    """Rebuild the full-text index from the rows it indexes.

    SQLite: each FTS5 table is emptied and filled again from its table, in one write
    transaction (readers keep the old index until the commit). PostgreSQL: each search index,
    and any index left invalid, is rebuilt with REINDEX CONCURRENTLY (writers go on).
    """
    from arenadb.db.admin import connection_tables, refuse_foreign_database

    started = time.perf_counter()
    with engine.connect() as conn:
        tables = connection_tables(conn)
        conn.rollback()
    where = mask_url(engine.url.render_as_string(hide_password=False))
    refuse_foreign_database(
        where, tables, doing="reindex", outcome="nothing was changed", parameter=None
    )
    if engine.dialect.name == "sqlite":
        rows: dict[str, int] = {}
        with write_transaction(engine) as conn:
            for name, source in SOURCES.items():
                fts, key = source.fts, source.fts_key
                # The FTS5 table's own columns, read from its own content: the table, or the
                # view of the LLM calls' texts (FTS5's 'rebuild' cannot read that view).
                columns = ", ".join(
                    row[1] for row in conn.exec_driver_sql(f"PRAGMA table_info({fts})")
                )
                content = LLM_TEXT_VIEW if source.table == "llm_calls" else source.table
                conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')")
                conn.exec_driver_sql(
                    f"INSERT INTO {fts}(rowid, {columns}) SELECT {key}, {columns} FROM {content}"
                )
                count = conn.exec_driver_sql(f"SELECT count(*) FROM {fts}_docsize").scalar()
                rows[name] = int(count or 0)
        return SearchRebuild("sqlite", rows, [], time.perf_counter() - started)
    with engine.connect() as conn:
        invalid = [index for index, _table in _invalid_postgresql_indexes(conn)]
        conn.rollback()  # REINDEX CONCURRENTLY waits for every open transaction
    names = list(dict.fromkeys([s.pg_index for s in SOURCES.values()] + invalid))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        prep = conn.dialect.identifier_preparer
        for name in names:
            conn.exec_driver_sql(f"REINDEX INDEX CONCURRENTLY {prep.quote_identifier(name)}")
    return SearchRebuild("postgresql", {}, names, time.perf_counter() - started)
