"""Keeping `llm_usage_daily` (arenadb.models.usage) exact, in the transaction of the writes.

Every path that writes LLM calls adds what it wrote, aggregated in Python per batch and upserted
(INSERT ... ON CONFLICT DO UPDATE, both backends): the recorder's batches and `write_game`
(`arenadb.db.writer`), import, the synthetic arenas of the tests and benchmarks. A copy copies
the table as it is; emptying every table (seed --reset, copy --force) empties it too; retention
(`clean --what game-detail`) takes the calls it deletes, or the partitions it drops, out first
(`take_calls`). `rebuild_rollups` recomputes it from the calls (`arenadb models rollup
rebuild`), for a database changed behind arenadb's back. A future path that deletes calls must
take them out in the same transaction (`take_calls(conn, where)`).

    from arenadb.db.rollups import rebuild_rollup
    result = rebuild_rollup(engine)   # RollupRebuild(rows=..., calls=..., seconds=...)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.db.engine import write_transaction
from arenadb.models.game import LLMCall
from arenadb.models.usage import (
    LATENCY_COLUMNS,
    LATENCY_EDGES_MS,
    SUMMED,
    UNDATED,
    latency_bucket,
    llm_usage_daily,
)

_UTC = timezone.utc
_UNDATED = UNDATED.isoformat()
# A delta row: calls, errors, cost_unknown, one sum per SUMMED column, then the histogram.
_COUNTED = ("calls", "errors", "cost_unknown", *SUMMED, *LATENCY_COLUMNS)
_FIRST_SUM = 3
_FIRST_BUCKET = _FIRST_SUM + len(SUMMED)
_COST = _FIRST_SUM + SUMMED.index("cost")
# What a call's row must hold, besides the SUMMED columns.
_NEEDED = ("model_id", "request_model", "started_at", "finished_at", "latency_ms", "status")

Key = tuple[int, str, str]  # model id (0: not in the catalog), requested name, ISO day


class UsageDeltas:
    """What a batch of LLM calls adds to (or, negated, takes from) the rollup, per key."""

    def __init__(self) -> None:
        self.rows: dict[Key, list[Any]] = {}

    def __bool__(self) -> bool:
        return bool(self.rows)

    def add_rows(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Count call rows given as tuples in `columns` order (timestamps as datetimes or as
        SQLite's UTC text; columns the rows lack count as NULL)."""
        where = {name: i for i, name in enumerate(columns)}
        missing = len(columns)  # an index past the row's end, read as None below
        model_i, name_i, started_i, finished_i, latency_i, status_i = (
            where.get(name, missing) for name in _NEEDED
        )
        summed = [(where.get(name, missing), _FIRST_SUM + i) for i, name in enumerate(SUMMED)]
        cost_i = where.get("cost", missing)
        pad = not {*_NEEDED, *SUMMED} <= where.keys()
        totals = self.rows
        for row in rows:
            if pad:
                row = (*row, None)
            model_id = row[model_i]
            when = row[started_i] or row[finished_i]
            key = (
                model_id or 0,
                "" if model_id else (row[name_i] or ""),
                _UNDATED if when is None else _day(when),
            )
            total = totals.get(key)
            if total is None:
                total = totals[key] = [0] * len(_COUNTED)
                total[_COST] = 0.0
            total[0] += 1
            if row[status_i] not in ("ok", None):
                total[1] += 1
            for index, slot in summed:
                value = row[index]
                if value is not None:
                    total[slot] += value
            if row[cost_i] is None:
                total[2] += 1
            latency = row[latency_i]
            if latency is not None:
                total[_FIRST_BUCKET + latency_bucket(latency)] += 1

    def add_dicts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            columns = tuple(rows[0])
            self.add_rows(columns, (tuple(row[c] for c in columns) for row in rows))

    def parameters(self, backend: str) -> list[tuple[Any, ...]]:
        day = str if backend == "sqlite" else date.fromisoformat
        # In key order (a Key has no None: model 0 and name "" stand for unknown): concurrent
        # writers then lock the rollup's rows in one order, which is what keeps two
        # transactions upserting the same keys from deadlocking on PostgreSQL.
        ordered = sorted(self.rows.items())
        return [(m, name, day(d), *values) for (m, name, d), values in ordered]


def _day(value: Any) -> str:
    """The UTC day of a timestamp: a datetime (naive means UTC) or SQLite's UTC text."""
    if isinstance(value, str):
        return value[:10] if len(value) < 20 or value[19] == "." else _day(_parse(value))
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(_UTC)
    return value.date().isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@cache
def upsert_sql(backend: str) -> str:
    """The INSERT ... ON CONFLICT DO UPDATE adding a delta row (driver paramstyle)."""
    mark = "?" if backend == "sqlite" else "%s"
    keys = ("model_id", "request_model", "day")
    columns = (*keys, *_COUNTED)
    table = llm_usage_daily.name
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _COUNTED)
    )


def write_deltas(cursor: Any, backend: str, deltas: UsageDeltas) -> None:
    """Upsert `deltas` with a DBAPI cursor of the transaction that wrote the calls."""
    if deltas:
        cursor.executemany(upsert_sql(backend), deltas.parameters(backend))


def add_calls(conn: Connection, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Count LLM call rows just inserted in `conn`'s transaction (tuples in `columns` order)."""
    deltas = UsageDeltas()
    deltas.add_rows(columns, rows)
    _write(conn, deltas)


def add_call_dicts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    deltas = UsageDeltas()
    deltas.add_dicts(rows)
    _write(conn, deltas)


def _write(conn: Connection, deltas: UsageDeltas) -> None:
    if deltas:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            write_deltas(cursor, conn.dialect.name, deltas)
        finally:
            cursor.close()


# --------------------------------------------------------------------------- set-based


def _grouped(conn: Connection, where: Any | None) -> UsageDeltas:
    """The rollup of the calls matching `where` (all: None), aggregated by the database per
    key and latency bucket, the histogram pivoted here (a bucket costs one comparison chain
    per call instead of one CASE per bucket)."""
    calls = LLMCall.__table__.c
    postgresql = conn.dialect.name == "postgresql"
    when = sa.func.coalesce(calls.started_at, calls.finished_at)
    if postgresql:
        day: Any = sa.cast(sa.func.timezone("UTC", when), sa.Date)
    else:
        day = sa.func.substr(when, 1, 10)
    bucket = sa.case(
        *((calls.latency_ms < edge, i) for i, edge in enumerate(LATENCY_EDGES_MS)),
        else_=len(LATENCY_EDGES_MS),
    )
    keys = (
        sa.func.coalesce(calls.model_id, 0).label("m"),
        sa.case(
            (calls.model_id.is_(None), sa.func.coalesce(calls.request_model, "")), else_=""
        ).label("n"),
        day.label("d"),
        sa.case((calls.latency_ms.is_(None), -1), else_=bucket).label("b"),
    )
    query = sa.select(
        *keys,
        sa.func.count().label("calls"),
        sa.func.count(sa.case((calls.status != "ok", 1))).label("errors"),
        (sa.func.count() - sa.func.count(calls.cost)).label("cost_unknown"),
        *(sa.func.coalesce(sa.func.sum(calls[name]), 0).label(name) for name in SUMMED),
    ).group_by(*keys)
    if where is not None:
        query = query.where(where)
    deltas = UsageDeltas()
    for row in conn.execute(query):
        key = (int(row.m), str(row.n), _UNDATED if row.d is None else str(row.d)[:10])
        total = deltas.rows.get(key)
        if total is None:
            total = deltas.rows[key] = [0] * len(_COUNTED)
            total[_COST] = 0.0
        total[0] += row.calls
        total[1] += row.errors
        total[2] += row.cost_unknown
        for i, name in enumerate(SUMMED):
            total[_FIRST_SUM + i] += row._mapping[name]
        if row.b >= 0:
            total[_FIRST_BUCKET + row.b] += row.calls
    return deltas


def take_calls(conn: Connection, where: Any) -> int:
    """Take the calls matching `where` out of the rollup, before they are deleted in `conn`'s
    transaction (retention); keys left with no call go. Returns the number of calls."""
    deltas = _grouped(conn, where)
    for total in deltas.rows.values():
        for i, value in enumerate(total):
            total[i] = -value
    _write(conn, deltas)
    if deltas:
        conn.execute(sa.delete(llm_usage_daily).where(llm_usage_daily.c.calls <= 0))
    return -sum(int(total[0]) for total in deltas.rows.values())


def rebuild_rollups(conn: Connection) -> int:
    """Recompute the whole rollup from the LLM calls, in `conn`'s transaction; returns its
    number of rows."""
    conn.execute(sa.delete(llm_usage_daily))
    deltas = _grouped(conn, None)
    _write(conn, deltas)
    return len(deltas.rows)


@dataclass
class RollupRebuild:
    """What `rebuild_rollup` did: rollup rows written, calls counted, seconds taken."""

    rows: int
    calls: int
    seconds: float


def rebuild_rollup(engine: Engine) -> RollupRebuild:
    """`arenadb models rollup rebuild`: recompute the usage rollup from every LLM call, in one
    write transaction (for a database whose calls were changed outside arenadb)."""
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        rows = rebuild_rollups(conn)
        calls = conn.execute(sa.select(sa.func.sum(llm_usage_daily.c.calls))).scalar() or 0
    return RollupRebuild(rows, int(calls), time.perf_counter() - started)


def rollup_problems(conn: Connection) -> list[str]:
    """Is the rollup behind the calls? A probe, fast at any size (what `db check` runs): every
    key of the newest game's calls (read through its index) must be in the rollup with at
    least as many calls. An emptied rollup, or one that missed recent writes, is found."""
    calls = LLMCall.__table__.c
    newest = conn.execute(sa.select(sa.func.max(calls.id))).scalar()
    if newest is None:
        return []
    game_id = conn.execute(sa.select(calls.game_id).where(calls.id == newest)).scalar()
    rolled = llm_usage_daily.c
    short = 0
    for (model_id, name, day), counts in _grouped(conn, calls.game_id == game_id).rows.items():
        have = conn.execute(
            sa.select(rolled.calls).where(
                rolled.model_id == model_id,
                rolled.request_model == name,
                rolled.day == date.fromisoformat(day),
            )
        ).scalar()
        if have is None or have < counts[0]:
            short += 1
    if not short:
        return []
    return [
        f"the usage rollup (llm_usage_daily) is behind the LLM calls: {short} of the newest "
        "game's days and models are missing or short; rebuild it with "
        "`arenadb models rollup rebuild`"
    ]
