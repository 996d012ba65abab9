"""Looking inside a test's database from outside arenadb's own code."""

from __future__ import annotations

import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db import create_engine


def table_names(settings: Settings) -> set[str]:
    """The tables of the database (SQLAlchemy's inspector: no sqlite_* tables)."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
