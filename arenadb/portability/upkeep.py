"""Upkeep: retention (`clean_database`) and backups (`backup_database`).

    from arenadb.portability.upkeep import backup_database, clean_database

    report = clean_database(engine, before=datetime(2026, 1, 1, tzinfo=timezone.utc),
                            what=["llm-payloads", "logs"], dry_run=True)
    for item in report.items:
        print(item.category, item.table, item.action, item.rows)
    backup_database(settings, "arena-backup.db")   # SQLite: the online backup API

Retention categories (`--what`):
- `llm-payloads`: request, response and reasoning of the LLM calls of games finished before the
  date are set to NULL; tokens, cost, times and status stay, so statistics do not change.
- `logs`: system logs and execution logs created before the date are deleted.
- `events`: completed and failed queue events finished before the date are deleted.
- `snapshots`: periodic snapshots of games finished before the date are deleted, except the last
  periodic one of each game; manual, critical and final snapshots are kept.
- `game-detail` (only by name, never part of `all`): the turns, actions, LLM calls and snapshots
  of games finished before the date are removed; the games, their seats, results and ratings
  stay. On PostgreSQL every range of game ids whose games all finished before the date loses its
  partitions (`arenadb.db.partitions`: DROP, no DELETE, no bloat); the rest is deleted row by
  row. The calls leave the usage rollup in the same transaction, so it stays exact.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.config import Settings
from arenadb.db import partitions
from arenadb.db.engine import write_transaction
from arenadb.db.rollups import take_calls
from arenadb.db.sqlite_files import connect_existing_sqlite
from arenadb.errors import (
    ConfigError,
    DatabaseMissingError,
    DatabaseUnavailableError,
    InvalidArgumentError,
)
from arenadb.models import (
    Event,
    ExecutionLog,
    Game,
    GameSnapshot,
    GameTurn,
    LLMCall,
    PlayerAction,
    SystemLog,
)
from arenadb.portability.outputs import safe_output, sqlite_files
from arenadb.progress import Progress
from arenadb.urls import DatabaseURL, is_secret_key

_WOULD = {
    "payloads set to NULL": "would set payloads to NULL",
    "deleted": "would delete",
    "partitions dropped": "would drop partitions",
}
CLEAN_CATEGORIES = ("llm-payloads", "logs", "events", "snapshots", "game-detail")
# What `all` means: every category but game-detail, which removes what games were (their turns).
ALL_CLEAN = ("llm-payloads", "logs", "events", "snapshots")
DEFAULT_CLEAN = ("llm-payloads", "logs")
GAME_DETAIL = "game-detail"


def _table(model: type[Any]) -> sa.Table:
    return cast(sa.Table, model.__table__)


@dataclass
class CleanItem:
    """What one category did (or would do) to one table."""

    category: str
    table: str
    action: str
    rows: int


@dataclass
class CleanReport:
    before: datetime
    dry_run: bool
    items: list[CleanItem] = field(default_factory=list)
    # PostgreSQL, game-detail: the partitions dropped (or that would be).
    partitions: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(item.rows for item in self.items)


def check_categories(what: Sequence[str] | None) -> list[str]:
    """The categories asked for (comma lists allowed, `all` for every one but game-detail),
    validated."""
    if not what:
        return list(DEFAULT_CLEAN)
    chosen: list[str] = []
    for entry in what:
        for name in (part.strip() for part in entry.split(",")):
            if not name:
                continue
            if name == "all":
                chosen += [c for c in ALL_CLEAN if c not in chosen]
                continue
            if name not in CLEAN_CATEGORIES:
                raise InvalidArgumentError(
                    f"unknown retention category {name!r}: one of "
                    f"{', '.join(CLEAN_CATEGORIES)} or all (all but game-detail)",
                    parameter="what",
                )
            if name not in chosen:
                chosen.append(name)
    return chosen or list(DEFAULT_CLEAN)


def _finished_before(before: datetime) -> sa.Select[Any]:
    games = _table(Game)
    return sa.select(games.c.id).where(games.c.finished_at < before)


def _statements(category: str, before: datetime) -> list[tuple[str, str, sa.Table, Any]]:
    """(table, action, table object, WHERE clause) for one category."""
    if category == "llm-payloads":
        calls = _table(LLMCall)
        where = sa.and_(
            calls.c.game_id.in_(_finished_before(before)),
            sa.or_(
                calls.c.request.is_not(None),
                calls.c.response.is_not(None),
                calls.c.reasoning.is_not(None),
            ),
        )
        return [("llm_calls", "payloads set to NULL", calls, where)]
    if category == "logs":
        return [
            (t.name, "deleted", t, t.c.created_at < before)
            for t in (_table(SystemLog), _table(ExecutionLog))
        ]
    if category == "events":
        events = _table(Event)
        where = sa.and_(
            events.c.status.in_(("completed", "failed")),
            sa.func.coalesce(events.c.completed_at, events.c.created_at) < before,
        )
        return [("events", "deleted", events, where)]
    snapshots = _table(GameSnapshot)
    later = snapshots.alias("later")
    where = sa.and_(
        snapshots.c.kind == "periodic",
        snapshots.c.game_id.in_(_finished_before(before)),
        sa.exists().where(
            later.c.game_id == snapshots.c.game_id,
            later.c.kind == "periodic",
            later.c.turn > snapshots.c.turn,
        ),
    )
    return [("game_snapshots", "deleted", snapshots, where)]


def clean_database(
    engine: Engine, *, before: datetime, what: Sequence[str] | None = None, dry_run: bool = False
) -> CleanReport:
    """Remove what retention allows (or, with `dry_run`, count it), in one transaction."""
    categories = check_categories(what)
    report = CleanReport(before=before, dry_run=dry_run)
    # A dry run only counts: a plain read, no write lock.
    scope = engine.connect() if dry_run else write_transaction(engine)
    with scope as conn:
        if GAME_DETAIL in categories:  # first: the other categories need not touch its rows
            _game_detail(conn, before, dry_run, report)
        for category in (c for c in categories if c != GAME_DETAIL):
            for name, action, table, where in _statements(category, before):
                rows = _apply(conn, category, table, where, dry_run)
                label = _WOULD[action] if dry_run else action
                report.items.append(CleanItem(category, name, label, rows))
    return report


def _game_detail(conn: Connection, before: datetime, dry_run: bool, report: CleanReport) -> None:
    """Drop the partitions of ranges of old games (PostgreSQL), delete the rest of old games'
    detail, taking their LLM calls out of the usage rollup."""
    dropped = [use.partition for use in partitions.range_uses(conn, before) if use.droppable]
    report.partitions = [p.name(t) for p in dropped for t in p.tables]
    if dropped:
        if dry_run:
            rows = {t: _partition_rows(conn, t, dropped) for t in partitions.TABLES}
        else:
            rows = partitions.drop_partitions(conn, dropped)
        label = _WOULD["partitions dropped"] if dry_run else "partitions dropped"
        report.items += [CleanItem(GAME_DETAIL, t, label, n) for t, n in rows.items()]
    for table in (_table(LLMCall), _table(PlayerAction), _table(GameSnapshot), _table(GameTurn)):
        where = sa.and_(
            table.c.game_id.in_(_finished_before(before)),
            *(sa.not_(table.c.game_id.between(p.low, p.high - 1)) for p in dropped),
        )
        if not dry_run and table.name == "llm_calls":
            take_calls(conn, where)  # out of the usage rollup before they go
        rows_deleted = _apply(conn, GAME_DETAIL, table, where, dry_run)
        label = _WOULD["deleted"] if dry_run else "deleted"
        report.items.append(CleanItem(GAME_DETAIL, table.name, label, rows_deleted))


def _partition_rows(conn: Connection, table: str, ranges: list[partitions.Partition]) -> int:
    return sum(
        int(conn.execute(sa.text(f"SELECT count(*) FROM {p.name(table)}")).scalar_one())
        for p in ranges
        if table in p.tables
    )


def _apply(conn: Connection, category: str, table: sa.Table, where: Any, dry_run: bool) -> int:
    if dry_run:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one()
        )
    if category == "llm-payloads":
        # sa.null(): a plain None in a JSON column would be stored as the JSON value null.
        statement: sa.Update | sa.Delete = (
            sa.update(table)
            .where(where)
            .values(request=sa.null(), response=sa.null(), reasoning=sa.null())
        )
    else:
        statement = sa.delete(table).where(where)
    return int(conn.execute(statement).rowcount or 0)


# --------------------------------------------------------------------------- backup

# Progress: SQLite reports "pages"; pg_dump reports nothing until it ends.


@dataclass
class BackupResult:
    path: str
    backend: str
    method: str
    bytes: int
    seconds: float


def backup_database(
    settings: Settings,
    path: str | Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> BackupResult:
    """A consistent copy of the live database in `path`.

    SQLite: the online backup API (consistent while others write, WAL included).
    PostgreSQL: pg_dump from PATH, custom format (plain SQL when `path` ends in .sql); the
    password goes through the PGPASSWORD environment variable, never the command line.
    """
    target = Path(path)
    protected = sqlite_files(settings.url.sqlite_path) if settings.url.is_sqlite else []
    started = time.perf_counter()
    with safe_output(target, force=force, protected=protected) as partial:
        if settings.url.is_sqlite:
            method = _sqlite_backup(settings, partial, progress)
        else:
            method = _pg_dump(settings, partial, plain=target.suffix == ".sql")
    return BackupResult(
        str(target),
        settings.backend,
        method,
        target.stat().st_size,
        time.perf_counter() - started,
    )


def _sqlite_backup(settings: Settings, partial: Path, progress: Progress | None) -> str:
    source_path = settings.url.sqlite_path
    if source_path is None:
        raise InvalidArgumentError("an in-memory SQLite database cannot be backed up")
    if not source_path.is_file():
        raise DatabaseMissingError(f"database {settings.masked_url} does not exist")
    try:
        source = connect_existing_sqlite(source_path)  # removed since the check: not recreated
    except sqlite3.Error:
        raise DatabaseMissingError(f"database {settings.masked_url} does not exist") from None
    destination = sqlite3.connect(partial)  # the new file this backup writes
    try:

        def report(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress("pages", total - remaining, total)

        # Page by page, so writers are not held up for the whole copy; a write in the middle
        # restarts the copy, which still ends consistent.
        source.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_ms)}")
        source.backup(destination, pages=4096, progress=report)
    except sqlite3.Error as exc:
        raise DatabaseUnavailableError(f"backup of {settings.masked_url} failed: {exc}") from None
    finally:
        destination.close()
        source.close()
    return "sqlite online backup"


def pg_dump_command(settings: Settings, output: Path, *, plain: bool) -> tuple[list[str], dict]:
    """The pg_dump argument list and environment; no secret is on the command line (every
    local user can read it in /proc): the password goes in PGPASSWORD, other secret parameters
    (`sslpassword`, ...) in a private service file (see `_pg_dump`)."""
    executable = shutil.which("pg_dump")
    if executable is None:
        raise ConfigError(
            "pg_dump not found on PATH: install the PostgreSQL client tools "
            "(e.g. apt install postgresql-client), or copy the database to a SQLite file"
        )
    url = settings.url
    secrets = {k: v for k, v in url.query if k.lower() == "password"}
    query = tuple((k, v) for k, v in url.query if not is_secret_key(k))
    conninfo = DatabaseURL(
        "postgresql", url.username, None, url.host, url.port, url.database, query
    )
    env = dict(os.environ)
    password = url.password or secrets.get("password")
    if password:
        env["PGPASSWORD"] = password
    env.setdefault("PGCONNECT_TIMEOUT", str(max(1, int(settings.connect_timeout))))
    args = [
        executable,
        f"--format={'plain' if plain else 'custom'}",
        "--no-owner",
        f"--file={output}",
        f"--dbname={conninfo.render()}",
    ]
    return args, env


def _secret_parameters(url: DatabaseURL) -> dict[str, str]:
    """Secret connection parameters that libpq takes from no environment variable."""
    return {k: v for k, v in url.query if is_secret_key(k) and k.lower() != "password"}


@contextmanager
def _private_service_file(parameters: dict[str, str], env: dict[str, str]) -> Iterator[None]:
    """Hand `parameters` to libpq through a service file only this user can read (0600 in a
    0700 folder), removed afterwards; libpq merges it under the command line's parameters."""
    if not parameters:
        yield
        return
    if any(ch in v for v in parameters.values() for ch in "\n\r"):
        raise InvalidArgumentError("a secret connection parameter contains a line break")
    folder = tempfile.mkdtemp(prefix="arenadb-pg-")
    path = os.path.join(folder, "pg_service.conf")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("[arenadb]\n" + "".join(f"{k}={v}\n" for k, v in parameters.items()))
        env["PGSERVICEFILE"] = path
        env["PGSERVICE"] = "arenadb"
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pg_dump(settings: Settings, partial: Path, *, plain: bool) -> str:
    args, env = pg_dump_command(settings, partial, plain=plain)
    with _private_service_file(_secret_parameters(settings.url), env):
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = settings.mask(" ".join(done.stderr.split())) or f"exit {done.returncode}"
        raise DatabaseUnavailableError(f"pg_dump of {settings.masked_url} failed: {detail}")
    return f"pg_dump ({'plain SQL' if plain else 'custom format'})"
