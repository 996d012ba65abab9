"""Database statistics (`db stats`): exact row counts and on-disk sizes of every table."""

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


@dataclass
class DatabaseStats:
    backend: str
    size_bytes: int | None
    tables: list[TableStats]


def db_stats(engine: Engine) -> DatabaseStats:
    """Exact row counts (one UNION ALL statement) and sizes of every table in the database."""
    with engine.connect() as conn:
        # PostgreSQL's partitions (arenadb.db.partitions) are counted in their table.
        names = sorted(
            n for n in sa.inspect(conn).get_table_names() if not partitions.is_partition_name(n)
        )
        counts: dict[str, int] = {}
        if names:
            union = sa.union_all(
                *(
                    sa.select(
                        sa.literal(name).label("name"), sa.func.count().label("rows")
                    ).select_from(sa.table(name))
                    for name in names
                )
            )
            counts = {r.name: int(r.rows) for r in conn.execute(union)}
        sizes, total = _sizes(conn)
    return DatabaseStats(
        backend=engine.dialect.name,
        size_bytes=total,
        tables=[TableStats(name, counts.get(name, 0), sizes.get(name)) for name in names],
    )


def _sizes(conn: Connection) -> tuple[dict[str, int], int | None]:
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
    try:
        # dbstat is a compile-time option of SQLite: present in most builds, not in all.
        rows = conn.exec_driver_sql(
            "SELECT m.tbl_name AS name, sum(d.pgsize) AS size FROM dbstat d "
            "JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
        ).all()
    except sa.exc.OperationalError:
        return {}, page_size * page_count
    return {r.name: int(r.size) for r in rows}, page_size * page_count
