"""Raw sqlite3 connections that never create a database file.

SQLite creates a missing file on open unless the URI says `mode=rw`; a check before the open
(`path.exists()`) does not help against a file removed in between. Every raw connection of the
package to an existing database goes through here; the engines use the same URI
(`arenadb.db.engine`). Only `arenadb.db.admin.create_database` creates a file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any


def existing_sqlite_uri(path: str | os.PathLike[str], *, mode: str = "rw") -> str:
    """The URI that opens the SQLite file at `path` read-write (or `mode="ro"`, read-only) and
    never creates it."""
    return f"{Path(path).absolute().as_uri()}?mode={mode}"


def connect_existing_sqlite(path: str | os.PathLike[str], **kwargs: Any) -> sqlite3.Connection:
    """A raw sqlite3 connection to an existing database (sqlite3.OperationalError if it is gone,
    or a 0-byte file, which the engines do not take for a database either: SQLite would open it
    as an empty one): for the places that need the driver itself (online backup, the WAL
    checkpointer)."""
    connection = sqlite3.connect(existing_sqlite_uri(path), uri=True, **kwargs)
    try:
        empty = os.stat(path).st_size == 0
    except OSError:
        empty = True  # removed since the open
    if empty:
        connection.close()
        raise sqlite3.OperationalError(f"{path} is an empty file, not a database")
    return connection
