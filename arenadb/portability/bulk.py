"""Bulk row writing shared by copy and import: COPY on PostgreSQL, executemany on SQLite.

JSON columns travel as JSON text. A Python None in a JSON column would otherwise be stored as a
JSON `null` by SQLAlchemy on SQLite, not as SQL NULL, and a copy would not round-trip exactly;
as text, None is SQL NULL and anything else is the document itself (PostgreSQL parses it into
jsonb on the way in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection


def is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


def json_text(value: Any) -> str | None:
    """JSON text of a value for a JSON column; None stays SQL NULL."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


class _JSONBText(sa.types.TypeDecorator[str]):
    """JSON text handed to PostgreSQL as is, which parses it into jsonb (no second encoding)."""

    impl = postgresql.JSONB()
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


@cache
def text_json_table(table: sa.Table, dialect: str = "sqlite") -> sa.Table:
    """A twin of `table` whose JSON columns take JSON text (for INSERT ... VALUES statements)."""
    text_type = _JSONBText() if dialect == "postgresql" else sa.Text()
    columns = [
        sa.Column(c.name, text_type if is_json(c) else c.type, primary_key=c.primary_key)
        for c in table.c
    ]
    return sa.Table(table.name, sa.MetaData(), *columns)


def select_json_as_text(table: sa.Table) -> sa.Select[Any]:
    """SELECT every column of `table`, JSON columns as their JSON text, in primary-key order."""
    columns = [sa.cast(c, sa.Text).label(c.name) if is_json(c) else c for c in table.c]
    return sa.select(*columns).order_by(*table.primary_key.columns)


def insert_rows(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert tuples (values in `columns` order, JSON columns as text) in the current transaction.

    PostgreSQL: one COPY (psycopg's executemany would send a statement per row).
    SQLite: one executemany.
    """
    if conn.dialect.name == "postgresql":
        return _copy_rows(conn, table.name, columns, rows)
    target = text_json_table(table)
    statement = sa.insert(target)
    batch = [dict(zip(columns, row, strict=True)) for row in rows]
    if batch:
        conn.execute(statement, batch)
    return len(batch)


def _copy_rows(
    conn: Connection, table_name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    dbapi_connection = conn.connection.driver_connection
    assert dbapi_connection is not None
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    count = 0
    with (
        dbapi_connection.cursor() as cursor,
        cursor.copy(f"COPY {quote(table_name)} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def dict_rows(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples in `columns` order."""
    return [tuple(row[c] for c in columns) for row in rows]
