"""Database plumbing: engines, sessions, and whole-database create/drop."""

from arenadb.db.admin import create_database, database_exists, drop_database
from arenadb.db.engine import (
    create_engine,
    engine_scope,
    session_scope,
    translate_error,
    write_transaction,
)

__all__ = [
    "create_database",
    "create_engine",
    "database_exists",
    "drop_database",
    "engine_scope",
    "session_scope",
    "translate_error",
    "write_transaction",
]
