"""THE bulk writer of arenadb: rows as tuples, `executemany` on SQLite, binary COPY on PostgreSQL.

Every path that writes many rows goes through here (import, copy, seeding, the ratings rebuild,
the synthetic test arenas; the recorder's hot path, `arenadb.db.writer`, sends its batches with
`binary_copy`), so the
rules are the same everywhere:
- a row is a tuple in the order of `columns`, holding what SQLAlchemy would take for the column
  (datetimes, UUIDs, bools, ...), except JSON columns, which take JSON *text* made by
  `arenadb.db.json.json_text` (finite numbers only) or None for SQL NULL. A Python None in a
  JSON column would otherwise be a JSON `null` on SQLite, not SQL NULL, and a copy would not
  round-trip;
- a column left out gets its Python-side default (a timestamp, a status), once per batch;
- SQLAlchemy's per-row parameter processing is skipped (it would cost more than the work that
  produced the rows): only the columns whose type needs it (timestamps, UUIDs on SQLite) are
  converted, each distinct value once;
- PostgreSQL gets binary COPY: the server reads integers, floats and timestamps without parsing
  text (a float is sent exactly), and psycopg's executemany would send a statement per row.
"""

from __future__ import annotations

import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arenadb.errors import InvalidDataError

# A jsonb value's binary form is a version byte (1) and the JSON text: rows carry JSON text, sent
# with the text type after this prefix, which is what psycopg's jsonb dumper would send without
# encoding the JSON a second time.
JSONB_PREFIX = "\x01"
# PostgreSQL types sent with the text type: the same bytes as their own binary form.
_SENT_AS_TEXT = ("jsonb", "varchar")

RowWriter = Callable[[Sequence[tuple[Any, ...]]], None]


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


def is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


# PostgreSQL type -> the Python values its binary dumper takes, and what to call them in an error.
_ACCEPTS: dict[str, tuple[tuple[type, ...], str]] = {
    "integer": ((int,), "an integer"),
    "bigint": ((int,), "an integer"),
    "smallint": ((int,), "an integer"),
    "boolean": ((bool,), "a bool"),
    "text": ((str,), "a string"),
    "varchar": ((str,), "a string"),
    "double precision": ((float, int), "a number"),
    "timestamp with time zone": ((datetime,), "a datetime"),
    "uuid": ((uuid.UUID,), "a UUID"),
    "jsonb": ((str,), "JSON text"),
}


def bad_value(
    table: str, columns: Sequence[str], kinds: Sequence[str], rows: Iterable[tuple], exc: Any
) -> InvalidDataError:
    """The error for the first value of `rows` that its column's binary dumper does not take."""
    for row in rows:
        for column, kind, value in zip(columns, kinds, row, strict=True):
            types, label = _ACCEPTS.get(kind, ((object,), kind))
            if value is not None and not isinstance(value, types):
                text = repr(value)
                text = text if len(text) <= 60 else text[:57] + "..."
                return InvalidDataError(
                    f"{table}.{column} must be {label}, not {type(value).__name__} ({text})"
                )
    return InvalidDataError(f"cannot write a row of {table}: {exc}")


@dataclass(frozen=True)
class BinaryCopy:
    """A binary `COPY table (columns) FROM STDIN`: its SQL, the columns' types and what to say
    about a value a column's dumper refuses. Shared by `bulk_writer` and the recorder's writer."""

    table: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]  # PostgreSQL type names, as `pg_type_name` gives them
    sql: str
    types: tuple[int, ...]  # the oids sent to psycopg (jsonb and varchar as text: same bytes)

    def bad_value(self, rows: Iterable[tuple], exc: BaseException) -> InvalidDataError:
        return bad_value(self.table, self.columns, self.kinds, rows, exc)

    def send(self, cursor: Any, rows: Sequence[tuple]) -> None:
        """COPY `rows` on a psycopg cursor; a Python value a column's binary dumper cannot take
        is an InvalidDataError naming the table, column and value."""
        try:
            copy_rows(cursor, self.sql, self.types, rows)
        except (TypeError, ValueError, OverflowError) as exc:
            raise self.bad_value(rows, exc) from None


def binary_copy(table: sa.Table, columns: Sequence[str], dialect: Any = None) -> BinaryCopy:
    """The binary COPY of `columns` into `table`, each column's type from the models."""
    from psycopg.postgres import types as pg_types

    dialect = dialect or postgresql.psycopg.dialect()
    kinds = tuple(pg_type_name(table.c[name].type, dialect) for name in columns)
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    return BinaryCopy(
        table=table.name,
        columns=tuple(columns),
        kinds=kinds,
        sql=f"COPY {quote(table.name)} ({names}) FROM STDIN (FORMAT BINARY)",
        types=tuple(pg_types["text" if k in _SENT_AS_TEXT else k].oid for k in kinds),
    )


class _Plan:
    """How rows for (table, columns) are converted and sent on one backend (built once)."""

    def __init__(self, table: sa.Table, columns: tuple[str, ...], dialect: Any) -> None:
        self.table = table.name
        # Columns left out that have a Python-side default (created_at, status, ...) get it, as
        # an ORM or Core insert would give them: evaluated once per batch (a batch's "now").
        self.defaults: list[Any] = [
            c.default
            for c in table.c
            if c.name not in columns
            and c.default is not None
            and (c.default.is_scalar or c.default.is_callable)
        ]
        columns = columns + tuple(c.name for c in table.c if c.default in self.defaults)
        self.columns = columns
        self.backend = dialect.name
        self.converters: list[tuple[int, Callable[[Any], Any], bool]] = []  # index, f, cached
        self.copy = binary_copy(table, columns, dialect) if self.backend == "postgresql" else None
        for index, name in enumerate(columns):
            column = table.c[name]
            if self.copy is not None and self.copy.kinds[index] == "jsonb":
                self.converters.append((index, _jsonb_binary, False))
                continue
            if is_json(column):
                continue  # JSON text, as SQLite stores it
            processor = column.type.bind_processor(dialect)
            if processor is not None and isinstance(column.type, sa.types.TypeDecorator | sa.Uuid):
                self.converters.append((index, processor, True))
        if self.copy is not None:
            self.sql = self.copy.sql
            self.types: Sequence[int] = self.copy.types
        else:
            quote = dialect.identifier_preparer.quote
            names = ", ".join(quote(c) for c in columns)
            marks = ", ".join("?" for _ in columns)
            self.sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"
            self.types = []

    def convert(self, rows: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        if self.defaults:
            filled = tuple(d.arg if d.is_scalar else d.arg(None) for d in self.defaults)
            rows = [(*row, *filled) for row in rows]
        if not self.converters:
            return rows
        converted = [list(row) for row in rows]
        for index, convert, cached in self.converters:
            if cached:  # timestamps and UUIDs repeat (a batch's "now"): convert each once
                done: dict[Any, Any] = {}
                for row in converted:
                    value = row[index]
                    if value is not None:
                        try:
                            row[index] = done[value]
                        except KeyError:
                            row[index] = done[value] = convert(value)
            else:
                for row in converted:
                    if row[index] is not None:
                        row[index] = convert(row[index])
        return [tuple(row) for row in converted]

    def bad_value(self, rows: Iterable[tuple], exc: BaseException) -> InvalidDataError:
        kinds = self.copy.kinds if self.copy is not None else ()
        return bad_value(self.table, self.columns, kinds, rows, exc)


def _jsonb_binary(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidDataError(f"JSON columns take JSON text, not {type(text).__name__}")
    return JSONB_PREFIX + text


@cache
def _plan(table: sa.Table, columns: tuple[str, ...], backend: str) -> _Plan:
    # A dialect of the backend, not the connection's own: plans are shared by every engine.
    dialect = postgresql.psycopg.dialect() if backend == "postgresql" else sqlite.dialect()
    return _Plan(table, columns, dialect)


@contextmanager
def bulk_writer(
    conn: Connection, table: sa.Table, columns: Sequence[str], *, background: bool = False
) -> Iterator[RowWriter]:
    """A function that inserts rows (tuples in `columns` order) as they are produced, in the
    connection's transaction.

    PostgreSQL: one binary COPY, fed while the caller computes the next rows, so the server
    inserts in parallel; with `background`, in chunks from a second thread (`BackgroundCopy`), so
    that the server also checks the foreign keys in parallel. SQLite: one executemany at the end
    (the work happens in this process anyway).
    """
    plan = _plan(table, tuple(columns), conn.dialect.name)
    if plan.backend == "postgresql":
        driver: Any = conn.connection.driver_connection
        if background:
            with BackgroundCopy(driver, plan.sql, plan.types) as copier:
                yield lambda rows: copier.send(plan.convert(rows))
            return
        import psycopg

        try:
            with driver.cursor() as cursor, cursor.copy(plan.sql) as copy:
                copy.set_types(plan.types)

                def send(rows: Sequence[tuple[Any, ...]]) -> None:
                    converted = plan.convert(rows)
                    try:
                        for row in converted:
                            copy.write_row(row)
                    except (TypeError, ValueError, OverflowError) as exc:
                        # A Python value the column's binary dumper cannot take.
                        raise plan.bad_value(converted, exc) from None

                yield send
        except psycopg.Error as exc:
            # What the server refused (a CHECK, a foreign key), as SQLAlchemy reports it for a
            # statement, and as the SQLite executemany below reports it: callers that isolate
            # a refused row (import's chunk retry) see one kind of error on both backends.
            raise sa.exc.DBAPIError.instance(plan.sql, None, exc, psycopg.Error) from exc
        return
    buffered: list[tuple[Any, ...]] = []
    yield lambda rows: buffered.extend(plan.convert(rows))
    if buffered:
        conn.exec_driver_sql(plan.sql, buffered)


def insert_rows(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert rows (tuples in `columns` order, JSON columns as text) in the current transaction;
    returns how many."""
    batch = [tuple(row) for row in rows]
    if batch:
        with bulk_writer(conn, table, columns) as write:
            write(batch)
    return len(batch)


def insert_dicts(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows given as dicts that all have the keys of the first (JSON values as text)."""
    if not rows:
        return 0
    columns = tuple(rows[0])
    return insert_rows(conn, table, columns, (tuple(row[c] for c in columns) for row in rows))


class BackgroundCopy:
    """Binary COPY of rows in chunks, each its own COPY statement, run by a second thread.

    Why: PostgreSQL checks a COPY's foreign keys when the statement ends. A ratings rebuild
    writes about 35,000 rating events with three keys each, and those checks took 0.5 s after the
    last row was sent, a fifth of the rebuild (benchmarks/ratings.py). Ending a COPY every
    `CHUNK_ROWS` rows on another thread lets the server check one chunk while this thread computes
    the next rows (the thread waits for the server without the GIL). The caller's thread must not
    use the connection until the `with` block ends; rows are written in order, all in the caller's
    transaction. The first error stops the writing and is raised to the caller.
    """

    CHUNK_ROWS = 2_000
    QUEUED_CHUNKS = 4  # then send() waits: memory stays bounded when the server is slower

    def __init__(self, driver: Any, copy_sql: str, types: Sequence[int | str]) -> None:
        self._driver = driver
        self._copy_sql = copy_sql
        self._types = list(types)
        self._chunks: queue.Queue[Sequence[tuple[Any, ...]] | None] = queue.Queue(
            self.QUEUED_CHUNKS
        )
        self._pending: list[tuple[Any, ...]] = []
        self._failure: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="arenadb-copy", daemon=True)

    def __enter__(self) -> BackgroundCopy:
        self._thread.start()
        return self

    def send(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if self._failure is not None:
            raise self._failure
        self._pending.extend(rows)
        if len(self._pending) >= self.CHUNK_ROWS:
            self._chunks.put(self._pending)
            self._pending = []

    def __exit__(self, exc_type: Any, exc: BaseException | None, _tb: Any) -> None:
        if exc is None and self._pending:
            self._chunks.put(self._pending)
        self._abandoned = exc is not None  # the transaction rolls back: skip what is queued
        self._chunks.put(None)
        self._thread.join()
        if exc is None and self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        with self._driver.cursor() as cursor:
            while (chunk := self._chunks.get()) is not None:
                if self._failure is not None or self._abandoned:
                    continue
                try:
                    copy_rows(cursor, self._copy_sql, self._types, chunk)
                except BaseException as exc:  # handed to the caller's thread
                    self._failure = exc


class _JSONBText(sa.types.TypeDecorator[str]):
    """JSON text handed to PostgreSQL as is, which parses it into jsonb (no second encoding)."""

    impl = postgresql.JSONB()
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


@cache
def text_json_table(table: sa.Table, dialect: str = "sqlite") -> sa.Table:
    """A twin of `table` whose JSON columns take JSON text (for single INSERT ... RETURNING)."""
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


# Bound parameters one statement may carry: psycopg sends at most 65,535, SQLite (>= 3.32)
# takes 32,766. A list of ids of unbounded length goes into `IN (...)` in slices of this size.
ID_SLICE = 5_000


def id_slices(ids: Sequence[int], size: int | None = None) -> Iterator[Sequence[int]]:
    """`ids` in consecutive slices of at most `size` (`ID_SLICE`), for `column.in_(slice)`."""
    size = size or ID_SLICE
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
