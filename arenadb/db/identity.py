"""Is this the same database? Asked of what the databases are, never of how their URLs read.

`localhost` and `127.0.0.1`, an extra `?application_name=`, another port of the same server,
`./arena.db`, its absolute path, a symlink or a hard link to it: each spells one database
another way, and a copy from it onto itself deadlocks (PostgreSQL) or reads what it deletes.

- SQLite: the file's (st_dev, st_ino), symlinks followed. A target that is the source's -wal,
  -shm or -journal file is the same database too.
- PostgreSQL: the cluster's system identifier (`pg_control_system()`, the same for every
  address and port of one server) and the database's name. Where the role may not call it
  (it needs superuser or a grant), the postmaster's start time and the database's oid stand in.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db.admin import SQLITE_SIDE_FILES, database_exists
from arenadb.db.engine import create_engine

Identity = tuple[object, ...]


def _file_ids(path: Path) -> set[tuple[int, int]]:
    ids = set()
    for candidate in (str(path), *(f"{path}{suffix}" for suffix in SQLITE_SIDE_FILES)):
        try:
            found = os.stat(candidate)  # follows symlinks
        except OSError:
            continue
        ids.add((found.st_dev, found.st_ino))
    return ids


def _postgresql_identity(settings: Settings) -> Identity:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            name, oid, started = conn.execute(
                sa.text(
                    "select current_database(), d.oid, pg_postmaster_start_time() "
                    "from pg_database d where d.datname = current_database()"
                )
            ).one()
            try:
                with conn.begin_nested():
                    system = conn.execute(
                        sa.text("select system_identifier from pg_control_system()")
                    ).scalar_one()
                return ("postgresql", "system", int(system), str(name))
            except sa.exc.DBAPIError:  # not allowed to read the control file
                return ("postgresql", "started", str(started), int(oid), str(name))
    finally:
        engine.dispose()


def same_database(a: Settings, b: Settings) -> bool:
    """True when `a` and `b` name one database (see the module docstring). A database that
    does not exist is nobody else's; nothing is created or written to find out."""
    if a.url == b.url:
        return True
    if a.url.is_sqlite != b.url.is_sqlite:
        return False
    if a.url.is_sqlite:
        pa, pb = a.url.sqlite_path, b.url.sqlite_path
        if pa is None or pb is None:  # in-memory: each engine has its own
            return False
        # Either one's file is the other's file or one of its -wal/-shm/-journal files.
        file_a, file_b = _main_file_id(pa), _main_file_id(pb)
        return (file_a is not None and file_a in _file_ids(pb)) or (
            file_b is not None and file_b in _file_ids(pa)
        )
    if not (database_exists(a) and database_exists(b)):
        return False
    return _postgresql_identity(a) == _postgresql_identity(b)


def _main_file_id(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino)
