"""Database plumbing: engines, sessions, driver-error translation, whole-database create/drop."""

from arenadb.db.admin import create_database, database_exists, drop_database
from arenadb.db.engine import (
    create_engine,
    engine_scope,
    session_scope,
    write_transaction,
)
from arenadb.db.errors import translate_error

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
