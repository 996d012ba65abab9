"""Bulk writes through the driver, below SQLAlchemy: PostgreSQL's binary COPY."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any


def pg_type_name(column_type: Any, dialect: Any) -> str:
    """The PostgreSQL type of a scalar column, as psycopg names it ("VARCHAR(20)" -> "varchar")."""
    return re.sub(r"\(.*\)", "", column_type.compile(dialect)).strip().lower()


def copy_rows(
    cursor: Any, copy_sql: str, types: Sequence[int | str], rows: Iterable[tuple]
) -> None:
    """Send `rows` with one `COPY ... FROM STDIN (FORMAT BINARY)` on a psycopg cursor.

    `types` are the columns' PostgreSQL types (oids or names): binary COPY sends each value in its
    column's own binary form, which the server reads without parsing text.
    """
    with cursor.copy(copy_sql) as copy:
        copy.set_types(list(types))
        write_row = copy.write_row
        for row in rows:
            write_row(row)
