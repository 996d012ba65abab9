"""Planner statistics after a bulk load: `ANALYZE` on PostgreSQL, as pg_restore's users are told.

A bulk load (`import`, `copy`, `seed`) writes thousands of rows at once; until autovacuum gets to
the tables (a minute or more later), PostgreSQL plans with the statistics of the empty tables:
measured on a freshly loaded 30,000-game arena, the games list took 90-160 ms per page instead
of 3-6 ms. So the command that loaded the rows refreshes the statistics of what it wrote before
it returns (ANALYZE samples at most 30,000 rows per table: well under a second at any size).

SQLite is left alone: arenadb's SQLite queries are written for plans that do not depend on
statistics (see `arenadb.events.claim`), and `ANALYZE` there reads every row.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# What a bulk load of games writes (and what the read side filters and joins on).
GAME_TABLES = (
    "games",
    "game_players",
    "game_turns",
    "player_actions",
    "llm_calls",
    "game_snapshots",
    "llm_usage_daily",
    "llm_usage_monthly",
    "llm_usage_seats",
    "rating_events",
    "ratings",
)


def refresh_statistics(engine: Engine, tables: Iterable[str] = GAME_TABLES) -> None:
    """ANALYZE `tables` on PostgreSQL (those that exist); nothing on SQLite."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        names = [name for name in tables if name in present]
        if names:
            preparer = conn.dialect.identifier_preparer
            conn.exec_driver_sql("ANALYZE " + ", ".join(preparer.quote(n) for n in names))
            conn.commit()
