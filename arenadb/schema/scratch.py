"""Throwaway databases for `migrate check`, marked as ours, and the leftovers of killed runs.

A run killed with SIGKILL cannot drop its scratch database, so every scratch database carries a
mark, and the next run drops the marked ones whose creator is gone. A database is only ever
dropped when all of these hold: its name has our prefix, its COMMENT is our mark, nobody is
connected to it, and its creator is gone (the same host's pid no longer runs, or, created from
another host, it is older than STALE_AFTER). The creator keeps a connection open to its scratch
database for as long as it uses it, so "nobody is connected" means the run is over.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db.admin import create_database, drop_database, maintenance_connection
from arenadb.db.engine import create_engine

PREFIX = "arenadb_check_"
MARK = "arenadb migrate check scratch database"
SQLITE_PREFIX = "arenadb-check-"
# A scratch database from another host, with nobody connected, older than this is a leftover.
STALE_AFTER = timedelta(minutes=10)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _mark() -> str:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"{MARK}; host={socket.gethostname()}; pid={os.getpid()}; created={now}"


def _parse_mark(comment: str | None) -> dict[str, str] | None:
    if not comment or not comment.startswith(MARK + ";"):
        return None
    fields = dict(
        part.strip().split("=", 1) for part in comment[len(MARK) + 1 :].split(";") if "=" in part
    )
    return fields if {"host", "pid", "created"} <= fields.keys() else None


def _creator_gone(fields: dict[str, str]) -> bool:
    try:
        pid = int(fields["pid"])
        created = datetime.fromisoformat(fields["created"])
    except ValueError:
        return False
    if fields["host"] == socket.gethostname():
        return not _pid_running(pid)
    return datetime.now(timezone.utc) - created > STALE_AFTER


def remove_stale_scratch(settings: Settings) -> list[str]:
    """Drop the scratch databases (or SQLite scratch folders) of runs that were killed."""
    if settings.url.is_sqlite:
        return _remove_stale_folders()
    removed = []
    with maintenance_connection(settings) as conn:
        rows = conn.execute(
            sa.text(
                "select d.datname, shobj_description(d.oid, 'pg_database'), "
                "(select count(*) from pg_stat_activity a where a.datname = d.datname) "
                "from pg_database d where starts_with(d.datname, :prefix)"
            ),
            {"prefix": PREFIX},
        ).all()
        for name, comment, connected in rows:
            fields = _parse_mark(comment)
            if fields is None or connected or not _creator_gone(fields):
                continue
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            try:
                # No FORCE: if anyone connected since we looked, it is not ours to drop.
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")
            except sa.exc.DBAPIError:
                continue
            removed.append(name)
    return removed


def _remove_stale_folders() -> list[str]:
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{SQLITE_PREFIX}*"):
        pid_text = folder.name[len(SQLITE_PREFIX) :].split("-", 1)[0]
        if not folder.is_dir() or not pid_text.isdigit() or _pid_running(int(pid_text)):
            continue
        if all(f.name.startswith("scratch.db") for f in folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    return removed


@contextmanager
def scratch_database(settings: Settings) -> Iterator[Settings]:
    """An empty database on the same backend (and server) as `settings`, dropped afterwards."""
    if settings.url.is_sqlite:
        prefix = f"{SQLITE_PREFIX}{os.getpid()}-"
        with tempfile.TemporaryDirectory(prefix=prefix) as folder:
            scratch = settings.with_url(f"sqlite:///{Path(folder) / 'scratch.db'}", "scratch")
            create_database(scratch)
            yield scratch
        return
    name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    scratch = settings.with_url(settings.url.with_database(name), origin="scratch")
    create_database(scratch)
    try:
        with maintenance_connection(settings) as conn:
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            mark = _mark().replace("'", "''")  # a utility statement takes no bound parameter
            conn.exec_driver_sql(f"COMMENT ON DATABASE {quoted} IS '{mark}'")
        guard = create_engine(scratch, pooled=False)
        try:
            with guard.connect():  # "somebody is connected": this run still uses it
                yield scratch
        finally:
            guard.dispose()
    finally:
        drop_database(scratch, missing_ok=True)
