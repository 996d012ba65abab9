"""PostgreSQL's partitions of the large tables: what they are, and dropping old ones.

Since migration 0013, on PostgreSQL `game_turns`, `player_actions`, `llm_calls` and
`game_snapshots` are partitioned by RANGE (game_id), GAMES_PER_PARTITION game ids a partition:
`<table>_p<k>` holds the rows of games k * GAMES_PER_PARTITION up to (k + 1) *
GAMES_PER_PARTITION - 1. Game ids grow with time, so a query on recent games is pruned to the
last partitions, and retention (`clean --what game-detail`) drops the partitions of old games
instead of deleting their rows. A trigger on `games` creates the partitions of a game id's
range before the game's rows can arrive, and those of the next range ahead of time: no cron.
SQLite keeps one table each.

    from arenadb.db.partitions import partitions
    with engine.connect() as conn:
        for p in partitions(conn):   # Partition(k=0, low=0, high=10000, tables=(...))
            print(p.k, p.low, p.high)

10,000 games a partition: at the paper's scale (30,000 games, a million LLM calls) that is three
partitions of some 350,000 calls each; at ten times, thirty; a month of a busy arena is a few
partitions, so a month's retention drops whole ones and leaves at most one range partly kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# The referenced table first (player_actions and llm_calls point at game_turns).
TABLES = ("game_turns", "player_actions", "llm_calls", "game_snapshots")
GAMES_PER_PARTITION = 10_000
TRIGGER = "games_partitions"
FUNCTIONS = ("arenadb_add_partitions", "arenadb_partition_games")
_PARTITION_NAME = re.compile(rf"^({'|'.join(TABLES)})_p(\d+)$")


def is_partition_name(name: str | None) -> bool:
    """A partition of one of the partitioned tables, by its name (`llm_calls_p3`)."""
    return name is not None and _PARTITION_NAME.match(name) is not None


@dataclass(frozen=True)
class Partition:
    """One range of game ids, [low, high), and the partitions of it that exist."""

    k: int
    low: int
    high: int
    tables: tuple[str, ...] = field(default=TABLES)

    def name(self, table: str) -> str:
        return f"{table}_p{self.k}"


def partitioned_tables(conn: Connection) -> set[str]:
    """Which of TABLES are partitioned tables in this database (none on SQLite)."""
    if conn.dialect.name != "postgresql":
        return set()
    rows = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace"
        )
    ).scalars()
    return set(rows) & set(TABLES)


def partitions(conn: Connection) -> list[Partition]:
    """Every range that has a partition of at least one table, lowest first (empty on SQLite
    or an unpartitioned database)."""
    if not partitioned_tables(conn):
        return []
    rows = conn.execute(
        sa.text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = ANY(:tables) AND p.relnamespace = current_schema()::regnamespace"
        ),
        {"tables": list(TABLES)},
    ).scalars()
    found: dict[int, list[str]] = {}
    for name in rows:
        match = _PARTITION_NAME.match(name)
        if match:
            found.setdefault(int(match.group(2)), []).append(match.group(1))
    return [
        Partition(
            k,
            k * GAMES_PER_PARTITION,
            (k + 1) * GAMES_PER_PARTITION,
            tuple(t for t in TABLES if t in found[k]),
        )
        for k in sorted(found)
    ]


def partition_differences(conn: Connection) -> list[str]:
    """How the partitioned layout (PostgreSQL, from 0013 on) differs from what it must be: a
    table not partitioned by game id, the newest game's range without all its partitions, the
    functions of the trigger missing. `db check` reports these as drift."""
    if conn.dialect.name != "postgresql":
        return []
    live = set(sa.inspect(conn).get_table_names())
    out = []
    layout: dict[str, str] = dict(
        conn.execute(
            sa.text(
                "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_partitioned_table p "
                "JOIN pg_class c ON c.oid = p.partrelid "
                "WHERE c.relnamespace = current_schema()::regnamespace"
            )
        ).all()
    )
    for table in TABLES:
        if table in live and layout.get(table) != "RANGE (game_id)":
            out.append(f"table {table} is not partitioned by RANGE (game_id)")
    if out or "games" not in live:
        return out
    for function in FUNCTIONS:
        if conn.execute(sa.text("SELECT to_regproc(:f)"), {"f": function}).scalar() is None:
            out.append(f"missing function {function} (creates partitions ahead of new games)")
    last = conn.execute(sa.text("SELECT max(id) FROM games")).scalar()
    wanted = int(last or 0) // GAMES_PER_PARTITION
    have = {p.k: p for p in partitions(conn)}
    for k in (wanted,):  # the next range is made ahead by the trigger, not needed yet
        missing = [t for t in TABLES if k not in have or t not in have[k].tables]
        if missing:
            out.append(
                f"missing partitions of game ids from {k * GAMES_PER_PARTITION}: "
                + ", ".join(f"{t}_p{k}" for t in missing)
            )
    return out


# --------------------------------------------------------------------------- retention


@dataclass
class RangeUse:
    """A range of game ids as retention sees it: how many games, how many finished before the
    cut, and whether a newer game exists (so no new game will get an id in it)."""

    partition: Partition
    games: int
    finished_before: int
    closed: bool

    @property
    def droppable(self) -> bool:
        return self.closed and self.games == self.finished_before


def range_uses(conn: Connection, before: datetime) -> list[RangeUse]:
    """Each partitioned range with what retention needs to know about its games."""
    ranges = partitions(conn)
    if not ranges:
        return []
    size = GAMES_PER_PARTITION
    rows = conn.execute(
        sa.text(
            f"SELECT id / {size} AS k, count(*) AS games, "
            "count(*) FILTER (WHERE finished_at < :before) AS old "
            "FROM games GROUP BY 1"
        ),
        {"before": before},
    ).all()
    counts = {int(k): (int(games), int(old)) for k, games, old in rows}
    last = conn.execute(sa.text("SELECT max(id) FROM games")).scalar()
    top = -1 if last is None else int(last) // size
    return [RangeUse(p, *counts.get(p.k, (0, 0)), closed=p.k < top) for p in ranges]


def drop_partitions(conn: Connection, ranges: Sequence[Partition]) -> dict[str, int]:
    """Drop every table's partition of each range, in `conn`'s transaction; the rows they held,
    per table. The LLM calls leave the usage rollup first, so it stays equal to a full scan."""
    from arenadb.db.rollups import take_calls
    from arenadb.models import LLMCall

    calls = sa.inspect(LLMCall).local_table.c
    rows = dict.fromkeys(TABLES, 0)
    for p in ranges:
        for table in reversed(p.tables):  # referencing partitions before game_turns'
            name = p.name(table)
            if table == "llm_calls":  # its count comes with its rollup
                rows[table] += take_calls(conn, calls.game_id.between(p.low, p.high - 1))
            else:
                count = sa.text(f"SELECT count(*) FROM {name}")
                rows[table] += int(conn.execute(count).scalar_one())
            # Detached first: a partition that a foreign key points at cannot just be dropped.
            conn.execute(sa.text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
            conn.execute(sa.text(f"DROP TABLE {name}"))
    return rows


def explain(conn: Connection, statement: Any) -> list[str]:
    """The partitions PostgreSQL's plan of `statement` reads (EXPLAIN, not run)."""
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    plan = conn.exec_driver_sql(f"EXPLAIN {compiled}").scalars()
    return sorted({m.group(0) for line in plan for m in _PARTITION_IN_PLAN.finditer(line)})


_PARTITION_IN_PLAN = re.compile(rf"\b({'|'.join(TABLES)})_p\d+\b")
