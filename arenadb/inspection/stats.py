"""Database statistics (`db stats`): row counts and on-disk sizes of every table.

By default in a time that does not grow with the data: row counts are estimates, each table's
flagged `estimated`. PostgreSQL: the planner's `pg_class.reltuples` (as of the last ANALYZE or
VACUUM, autovacuum's or arenadb's own after a bulk load), summed over a partitioned table's
partitions; a table never analysed (reltuples -1) falls back to the live-row count of the
statistics collector (`n_live_tup`). Sizes are the files' sizes, exact and cheap. SQLite: the
span of a table's rowids (max - min + 1: two seeks in its b-tree; ids are never reused, so
deleted rows are the only error, and the span is never below the count); a WITHOUT ROWID table
(only the full-text index's small bookkeeping tables) is counted. Per-table sizes need the
`dbstat` table, which reads every page of the file: left out (None); the file size is exact.

`exact=True`: every row counted (one UNION ALL statement) and, on SQLite, every page read for
the sizes; as slow as the tables are large (23 s on SQLite at paper scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.db import partitions


@dataclass
class TableStats:
    """Rows and on-disk size (table + its indexes) of one table."""

    table: str
    rows: int
    size_bytes: int | None
    estimated: bool = False  # rows is an estimate (see the module docstring)


@dataclass
class DatabaseStats:
    backend: str
    size_bytes: int | None
    tables: list[TableStats]
    estimated: bool = False  # any table's rows an estimate


def db_stats(engine: Engine, *, exact: bool = False) -> DatabaseStats:
    """Row counts and sizes of every table: estimated (bounded time), or with `exact` counted
    (one UNION ALL statement) and, on SQLite, sized from every page."""
    with engine.connect() as conn:
        # PostgreSQL's partitions (arenadb.db.partitions) are counted in their table.
        names = sorted(
            n for n in sa.inspect(conn).get_table_names() if not partitions.is_partition_name(n)
        )
        if exact:
            counts, guessed = _exact_counts(conn, names), set()
        elif conn.dialect.name == "postgresql":
            counts, guessed = _pg_estimates(conn), set(names)
        else:
            counts, guessed = _sqlite_estimates(conn, names)
        sizes, total = _sizes(conn, per_table=exact or conn.dialect.name == "postgresql")
    return DatabaseStats(
        backend=engine.dialect.name,
        size_bytes=total,
        tables=[
            TableStats(name, counts.get(name, 0), sizes.get(name), name in guessed)
            for name in names
        ],
        estimated=bool(guessed),
    )


def _exact_counts(conn: Connection, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    union = sa.union_all(
        *(
            sa.select(sa.literal(name).label("name"), sa.func.count().label("rows")).select_from(
                sa.table(name)
            )
            for name in names
        )
    )
    return {r.name: int(r.rows) for r in conn.execute(union)}


# Per table of the current schema (a partitioned one: over its partitions), the planner's row
# estimate; -1 while never analysed (PostgreSQL 14+), then the statistics collector's live rows.
_PG_ESTIMATES = (
    "SELECT c.relname AS name, sum(CASE WHEN p.reltuples >= 0 THEN p.reltuples "
    "ELSE coalesce(pg_stat_get_live_tuples(p.oid), 0) END) AS rows "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "CROSS JOIN LATERAL (SELECT t.relid FROM pg_partition_tree(c.oid) t WHERE t.isleaf "
    "UNION ALL SELECT c.oid WHERE c.relkind = 'r') AS leaf "
    "JOIN pg_class p ON p.oid = leaf.relid "
    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema() "
    "GROUP BY c.relname"
)


def _pg_estimates(conn: Connection) -> dict[str, int]:
    return {r.name: max(0, round(r.rows or 0)) for r in conn.execute(sa.text(_PG_ESTIMATES))}


def _sqlite_estimates(conn: Connection, names: list[str]) -> tuple[dict[str, int], set[str]]:
    """Rowid spans of the rowid tables (estimates), counts of the WITHOUT ROWID ones."""
    without_rowid = {
        str(name)
        for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        ).all()
        if "WITHOUT ROWID" in " ".join(str(sql).upper().split())
    }
    quote = conn.dialect.identifier_preparer.quote
    parts = []
    for name in names:
        label = "'" + name.replace("'", "''") + "'"
        table = quote(name)
        if name in without_rowid:  # no rowid to read: counted (a few rows)
            parts.append(f"SELECT {label}, (SELECT count(*) FROM {table}), NULL")
        else:  # subqueries: SQLite makes a lone min() or max() one seek, not both together
            parts.append(
                f"SELECT {label}, (SELECT max(rowid) FROM {table}), "
                f"(SELECT min(rowid) FROM {table})"
            )
    counts: dict[str, int] = {}
    guessed: set[str] = set()
    # One statement for every table: the page's statement count does not grow with them.
    for name, high, low in conn.exec_driver_sql(" UNION ALL ".join(parts)).all() if parts else []:
        if name in without_rowid:
            counts[name] = int(high or 0)
            continue
        counts[name] = 0 if high is None else int(high) - int(low) + 1
        guessed.add(name)
    return counts, guessed


def _sizes(conn: Connection, *, per_table: bool) -> tuple[dict[str, int], int | None]:
    if conn.dialect.name == "postgresql":
        relations = conn.execute(
            sa.text(
                "SELECT c.relname AS name, CASE c.relkind WHEN 'p' THEN "
                "(SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t) "
                "ELSE pg_total_relation_size(c.oid) END AS size "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "AND n.nspname = current_schema()"
            )
        )
        total = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        return {r.name: int(r.size or 0) for r in relations}, int(total or 0)
    page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar() or 0)
    page_count = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    if not per_table:
        return {}, page_size * page_count
    try:
        # dbstat is a compile-time option of SQLite: present in most builds, not in all.
        rows = conn.exec_driver_sql(
            "SELECT m.tbl_name AS name, sum(d.pgsize) AS size FROM dbstat d "
            "JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
        ).all()
    except sa.exc.OperationalError:
        return {}, page_size * page_count
    return {r.name: int(r.size) for r in rows}, page_size * page_count
