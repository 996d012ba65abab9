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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.db.engine import write_transaction
from arenadb.models.game import Game, GamePlayer, LLMCall
from arenadb.models.usage import (
    LATENCY_COLUMNS,
    LATENCY_EDGES_MS,
    SUMMED,
    UNDATED,
    latency_bucket,
    llm_usage_daily,
    llm_usage_monthly,
    llm_usage_seats,
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
_PLACED = ("game_id", "seat")

Key = tuple[int, str, str]  # model id (0: not in the catalog), requested name, ISO day or month
SeatKey = tuple[int, int]  # game id, seat


@dataclass(frozen=True)
class Level:
    """One rollup table: its key columns and the counted columns its deltas hold, in order."""

    table: sa.Table
    keys: tuple[str, ...]
    counted: tuple[str, ...]

    @property
    def dated(self) -> bool:
        return self.table is not llm_usage_seats


DAILY = Level(llm_usage_daily, ("model_id", "request_model", "day"), _COUNTED)
MONTHLY = Level(llm_usage_monthly, ("model_id", "request_model", "month"), _COUNTED)
SEATS = Level(llm_usage_seats, _PLACED, _COUNTED[:_FIRST_BUCKET])  # no histogram
LEVELS = (DAILY, MONTHLY, SEATS)


def _new_total(width: int) -> list[Any]:
    total: list[Any] = [0] * width
    total[_COST] = 0.0
    return total


class UsageDeltas:
    """What a batch of LLM calls adds to (or, negated, takes from) the rollups, per key:
    `rows` per model and day, `seats` per game seat (calls with a seat); the months are
    summed from the days."""

    def __init__(self) -> None:
        self.rows: dict[Key, list[Any]] = {}
        self.seats: dict[SeatKey, list[Any]] = {}

    def __bool__(self) -> bool:
        return bool(self.rows)

    def add_rows(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Count call rows given as tuples in `columns` order (timestamps as datetimes or as
        SQLite's UTC text; columns the rows lack count as NULL)."""
        where = {name: i for i, name in enumerate(columns)}
        missing = len(columns)  # an index past the row's end, read as None below
        model_i, name_i, started_i, finished_i, latency_i, status_i, game_i, seat_i = (
            where.get(name, missing) for name in (*_NEEDED, *_PLACED)
        )
        summed = [(where.get(name, missing), _FIRST_SUM + i) for i, name in enumerate(SUMMED)]
        cost_i = where.get("cost", missing)
        pad = not {*_NEEDED, *_PLACED, *SUMMED} <= where.keys()
        totals, seats = self.rows, self.seats
        width = len(SEATS.counted)
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
                total = totals[key] = _new_total(len(_COUNTED))
            error = row[status_i] not in ("ok", None)
            unpriced = row[cost_i] is None
            total[0] += 1
            total[1] += error
            total[2] += unpriced
            latency = row[latency_i]
            if latency is not None:
                total[_FIRST_BUCKET + latency_bucket(latency)] += 1
            seat, game_id = row[seat_i], row[game_i]
            if seat is None or game_id is None:  # not any agent's: in the days only
                for index, slot in summed:
                    value = row[index]
                    if value is not None:
                        total[slot] += value
                continue
            place = seats.get((game_id, seat))
            if place is None:
                place = seats[(game_id, seat)] = _new_total(width)
            place[0] += 1
            place[1] += error
            place[2] += unpriced
            for index, slot in summed:
                value = row[index]
                if value is not None:
                    total[slot] += value
                    place[slot] += value

    def add_dicts(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            columns = tuple(rows[0])
            self.add_rows(columns, (tuple(row[c] for c in columns) for row in rows))

    def months(self) -> dict[Key, list[Any]]:
        """The days' deltas summed per month (keyed by its first day)."""
        months: dict[Key, list[Any]] = {}
        for (model_id, name, day), values in self.rows.items():
            key = (model_id, name, day[:8] + "01")
            total = months.get(key)
            if total is None:
                months[key] = list(values)
            else:
                for i, value in enumerate(values):
                    total[i] += value
        return months

    def keyed(self, level: Level) -> Mapping[tuple[Any, ...], list[Any]]:
        if level is SEATS:
            return self.seats
        return self.months() if level is MONTHLY else self.rows

    def negate(self) -> None:
        for totals in (self.rows, self.seats):
            for total in totals.values():
                for i, value in enumerate(total):
                    total[i] = -value

    def parameters(self, backend: str, level: Level = DAILY) -> list[tuple[Any, ...]]:
        # In key order (a key has no None: model 0 and name "" stand for unknown): concurrent
        # writers then lock the rollup's rows in one order, which is what keeps two
        # transactions upserting the same keys from deadlocking on PostgreSQL.
        ordered = sorted(self.keyed(level).items())
        if not level.dated:
            return [(*key, *values) for key, values in ordered]
        day = str if backend == "sqlite" else date.fromisoformat
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
def upsert_sql(backend: str, level: Level = DAILY) -> str:
    """The INSERT ... ON CONFLICT DO UPDATE adding a delta row to `level` (driver paramstyle)."""
    mark = "?" if backend == "sqlite" else "%s"
    columns = (*level.keys, *level.counted)
    table = level.table.name
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({', '.join(level.keys)}) DO UPDATE SET "
        + ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in level.counted)
    )


def write_deltas(cursor: Any, backend: str, deltas: UsageDeltas) -> None:
    """Upsert `deltas` into every level with a DBAPI cursor of the transaction that wrote the
    calls (the levels in one order, as the keys: see `UsageDeltas.parameters`)."""
    if deltas:
        for level in LEVELS:
            parameters = deltas.parameters(backend, level)
            if parameters:
                cursor.executemany(upsert_sql(backend, level), parameters)


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


def _counts(calls: Any) -> list[Any]:
    """The SQL of a delta row's counts and sums over a group of calls (the rules of `add_rows`:
    an error is a status other than 'ok', a NULL sums as nothing)."""
    return [
        sa.func.count().label("calls"),
        sa.func.count(sa.case((calls.status != "ok", 1))).label("errors"),
        (sa.func.count() - sa.func.count(calls.cost)).label("cost_unknown"),
        *(sa.func.coalesce(sa.func.sum(calls[name]), 0).label(name) for name in SUMMED),
    ]


def seat_totals(where: Any | None = None) -> sa.Select[Any]:
    """The seat rollup's rows of the calls matching `where` (all: None), grouped by the
    database: what `rebuild_rollups` inserts and `take_calls` takes out."""
    calls = LLMCall.__table__.c
    query = (
        sa.select(calls.game_id, calls.seat, *_counts(calls))
        .where(calls.seat.is_not(None))
        .group_by(calls.game_id, calls.seat)
    )
    return query if where is None else query.where(where)


def _grouped(conn: Connection, where: Any | None, *, seats: bool = True) -> UsageDeltas:
    """The rollups of the calls matching `where` (all: None), aggregated by the database per
    key and latency bucket, the histogram pivoted here (a bucket costs one comparison chain
    per call instead of one CASE per bucket); `seats=False` leaves the seats out."""
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
    query = sa.select(*keys, *_counts(calls)).group_by(*keys)
    if where is not None:
        query = query.where(where)
    deltas = UsageDeltas()
    width = len(SEATS.counted)
    for row in conn.execute(query):
        key = (int(row.m), str(row.n), _UNDATED if row.d is None else str(row.d)[:10])
        total = deltas.rows.get(key)
        if total is None:
            total = deltas.rows[key] = _new_total(len(_COUNTED))
        for i, value in enumerate(row[4 : 4 + width]):
            total[i] += value
        if row.b >= 0:
            total[_FIRST_BUCKET + row.b] += row.calls
    if seats:
        for row in conn.execute(seat_totals(where)):
            deltas.seats[(int(row.game_id), int(row.seat))] = list(row[2:])
    return deltas


def take_calls(conn: Connection, where: Any) -> int:
    """Take the calls matching `where` out of every rollup, before they are deleted in `conn`'s
    transaction (retention); keys left with no call go. Returns the number of calls."""
    deltas = _grouped(conn, where)
    deltas.negate()
    _write(conn, deltas)
    if deltas:
        for level in (DAILY, MONTHLY):
            conn.execute(sa.delete(level.table).where(level.table.c.calls <= 0))
    if deltas.seats:  # the seat rollup is large: only the range of the games taken out
        games = [game_id for game_id, _ in deltas.seats]
        seats = llm_usage_seats.c
        conn.execute(
            sa.delete(llm_usage_seats).where(
                seats.game_id.between(min(games), max(games)), seats.calls <= 0
            )
        )
    return -sum(int(total[0]) for total in deltas.rows.values())


def rebuild_rollups(conn: Connection) -> int:
    """Recompute every rollup from the LLM calls, in `conn`'s transaction; returns the number
    of rows of the daily one. The seats are inserted from a grouped SELECT (a row per seat:
    too many to pass through Python)."""
    for level in LEVELS:
        conn.execute(sa.delete(level.table))
    deltas = _grouped(conn, None, seats=False)
    _write(conn, deltas)
    columns = [llm_usage_seats.c[name] for name in (*SEATS.keys, *SEATS.counted)]
    conn.execute(sa.insert(llm_usage_seats).from_select(columns, seat_totals()))
    return len(deltas.rows)


def agent_seats() -> sa.Select[Any]:
    """The seat rollup's rows with their seat's agent and game type (game_id, seat, agent_id,
    game_type_id, then the counted columns), joined to `games` for a caller's filters: what the
    leaderboard's cost column and the agent page read. Calls whose seat has no player are in
    no agent's rows."""
    seats = llm_usage_seats.c
    players = GamePlayer.__table__.c
    games = Game.__table__.c
    return sa.select(
        seats.game_id,
        seats.seat,
        players.agent_id,
        games.game_type_id,
        *(seats[name] for name in SEATS.counted),
    ).select_from(
        llm_usage_seats.join(
            GamePlayer.__table__,
            sa.and_(players.game_id == seats.game_id, players.seat == seats.seat),
        ).join(Game.__table__, games.id == seats.game_id)
    )


@dataclass
class RollupRebuild:
    """What `rebuild_rollup` did: daily rollup rows written, calls counted, seconds taken."""

    rows: int
    calls: int
    seconds: float


def rebuild_rollup(engine: Engine) -> RollupRebuild:
    """`arenadb models rollup rebuild`: recompute the usage rollups (daily, monthly, per seat)
    from every LLM call, in one write transaction (for a database whose calls were changed
    outside arenadb)."""
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        rows = rebuild_rollups(conn)
        calls = conn.execute(sa.select(sa.func.sum(llm_usage_daily.c.calls))).scalar() or 0
    return RollupRebuild(rows, int(calls), time.perf_counter() - started)


def rollup_problems(conn: Connection) -> list[str]:
    """Is a rollup behind the calls? A probe, fast at any size (what `db check` runs): every
    key of the newest game's calls (read through its index) must be in each rollup with at
    least as many calls. An emptied rollup, or one that missed recent writes, is found."""
    calls = LLMCall.__table__.c
    newest = conn.execute(sa.select(sa.func.max(calls.id))).scalar()
    if newest is None:
        return []
    game_id = conn.execute(sa.select(calls.game_id).where(calls.id == newest)).scalar()
    deltas = _grouped(conn, calls.game_id == game_id)
    problems = []
    for level in LEVELS:
        table = level.table
        short = 0
        for key, counts in deltas.keyed(level).items():
            values = (*key[:2], date.fromisoformat(key[2])) if level.dated else key
            have = conn.execute(
                sa.select(table.c.calls).where(
                    *(
                        table.c[name] == value
                        for name, value in zip(level.keys, values, strict=True)
                    )
                )
            ).scalar()
            if have is None or have < counts[0]:
                short += 1
        if short:
            what = (
                "seats"
                if level is SEATS
                else "days and models"
                if level is DAILY
                else "months and models"
            )
            problems.append(
                f"the usage rollup ({table.name}) is behind the LLM calls: {short} of the newest "
                f"game's {what} are missing or short; rebuild it with "
                "`arenadb models rollup rebuild`"
            )
    return problems
