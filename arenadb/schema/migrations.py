"""Schema migrations: Alembic configured in code, under a lock, on one shared connection.

Two `arenadb migrate up` started at once on one database both succeed and the schema is
migrated once: PostgreSQL takes a session advisory lock (held across the commits of
per-revision transactions and of `autocommit_block`s, see `arenadb.schema.online`); SQLite runs
the whole migration in one BEGIN EXCLUSIVE transaction. SQLite batch migrations recreate tables,
so foreign keys are switched off for the migration connection (it cannot be done inside a
transaction) and verified with foreign_key_check before the commit.

On PostgreSQL every migration statement waits at most `Settings.lock_timeout_ms` for a table
lock: a migration queued behind a long transaction would make every writer queue behind it.
A revision that times out is rolled back and the migration is tried again a few times.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from arenadb.config import Settings
from arenadb.db.admin import database_exists
from arenadb.db.engine import SQLITE_BEGIN, create_engine, use_wal
from arenadb.errors import (
    ArenaDBError,
    DatabaseMissingError,
    IntegrityCheckError,
    MigrationFailedError,
)
from arenadb.resources import migrations_dir
from arenadb.schema import revisions

# pg_advisory_lock key: "arenadb" migrations (any fixed 64-bit number works).
MIGRATION_LOCK_KEY = 0x617265_6E6164_62
# A revision that hit lock_timeout is tried this many times in all, waiting longer each time.
LOCK_ATTEMPTS = 3
LOCK_RETRY_WAIT_S = 1.0
LOCK_NOT_AVAILABLE = "55P03"


@dataclass
class RevisionStep:
    """One revision applied or reverted, as `on_step` hears of it."""

    revision: str
    message: str
    upgrade: bool
    seconds: float


OnStep = Callable[[RevisionStep], None]


def alembic_config(
    settings: Settings | None = None,
    connection: Connection | None = None,
    output: io.StringIO | None = None,
) -> Config:
    """Alembic's Config, built in code: script location from the package, URL from settings."""
    cfg = Config(output_buffer=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if settings is not None:
        # ConfigParser interpolates '%': a password containing it must be escaped.
        cfg.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
        cfg.attributes["settings"] = settings
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@contextmanager
def migration_lock(conn: Connection, lock_timeout_ms: int = 0) -> Iterator[Connection]:
    """Hold the migration lock on `conn` (a connection of its own, not in a transaction).

    SQLite: yields inside one exclusive transaction, committed at the end. PostgreSQL: yields
    outside any transaction, so Alembic owns the transactions (one per revision, which an
    `autocommit_block` may commit early); the session lock outlives them.
    """
    if conn.dialect.name == "sqlite":
        # On the driver connection: SQLAlchemy would wrap it in a transaction, where SQLite
        # ignores this pragma.
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        conn = conn.execution_options(**{SQLITE_BEGIN: "EXCLUSIVE"})
        with conn.begin():
            yield conn
            problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise IntegrityCheckError(
                    f"migration left {len(problems)} rows with broken foreign keys "
                    f"(first: {tuple(problems[0])}); rolled back"
                )
        raw.execute("PRAGMA foreign_keys=ON")
        use_wal(raw)  # a migrated database is an arenadb database: WAL (never on a mere connect)
        return
    # Waiting for another migration is right (it may take long); lock_timeout comes after.
    conn.execute(sa.text("select pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
    if lock_timeout_ms:
        conn.exec_driver_sql(f"SET lock_timeout = {int(lock_timeout_ms)}")
    conn.commit()
    try:
        yield conn
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        conn.commit()


@contextmanager
def locked_migration_connection(settings: Settings) -> Iterator[Connection]:
    """A connection of its own holding the migration lock (see `migration_lock`)."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn, migration_lock(conn, settings.lock_timeout_ms) as locked:
            yield locked
    finally:
        engine.dispose()


def _current_heads(conn: Connection) -> tuple[str, ...]:
    heads = tuple(MigrationContext.configure(conn).get_current_heads())
    if conn.dialect.name == "postgresql" and conn.in_transaction():
        conn.commit()  # PostgreSQL: leave the transactions to Alembic (see migration_lock)
    return heads


@dataclass
class RevisionInfo:
    revision: str
    down_revision: str | None
    message: str
    is_head: bool = False
    applied: bool | None = None


@dataclass
class MigrationStatus:
    database: str
    current: list[str]
    heads: list[str]
    pending: list[RevisionInfo] = field(default_factory=list)
    # Tables of another application (`arenadb.db.admin.is_arenadb_database`); empty for ours.
    foreign_tables: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.pending and set(self.current) == set(self.heads)

    @property
    def state(self) -> str:
        """`up_to_date`, `pending` or `not_arenadb` (another application's database)."""
        if self.foreign_tables:
            return "not_arenadb"
        return "up_to_date" if self.up_to_date else "pending"

    @property
    def summary(self) -> str:
        """The state in words, with what to run."""
        if self.foreign_tables:
            listed = ", ".join(self.foreign_tables[:5])
            return f"not an arenadb database (tables of another application: {listed})"
        if self.up_to_date:
            return "up to date"
        return f"{len(self.pending)} migrations pending: run `arenadb migrate up`"


@dataclass
class MigrationResult:
    database: str
    before: list[str]
    after: list[str]
    applied: list[str]
    steps: list[RevisionStep] = field(default_factory=list)


def _require_database(settings: Settings) -> None:
    if not database_exists(settings):
        raise DatabaseMissingError(
            f"database {settings.masked_url} does not exist (create it with `arenadb init`)"
        )


def current_revisions(settings: Settings) -> list[str]:
    """What alembic_version of the database says, unchecked."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return list(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def migration_status(settings: Settings) -> MigrationStatus:
    """Current revision(s), head(s), the migrations not yet applied, and whether the database
    is another application's."""
    from arenadb.db.admin import connection_tables, is_arenadb_database

    _require_database(settings)
    script = script_directory()
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            current = list(MigrationContext.configure(conn).get_current_heads())
            tables = connection_tables(conn)
    finally:
        engine.dispose()
    revisions.require_known_current(script, current, settings.masked_url)
    heads = list(script.get_heads())
    foreign = [] if is_arenadb_database(tables) else sorted(tables)
    return MigrationStatus(settings.masked_url, current, heads, pending_revisions(current), foreign)


def pending_revisions(current: tuple[str, ...] | list[str]) -> list[RevisionInfo]:
    """Revisions not applied to a database whose current heads are `current`, oldest first.

    Revisions this code does not know are left out of `current` (callers report them).
    """
    script = script_directory()
    heads = list(script.get_heads())
    known = set(revisions.known(script))
    applied: set[str] = set()
    for rev in current:
        if rev in known:
            applied |= revisions.ancestors(script, rev)
    return [
        _info(rev, heads)
        for rev in reversed(list(script.walk_revisions()))
        if rev.revision not in applied
    ]


def _info(rev: Any, heads: list[str]) -> RevisionInfo:
    down = rev.down_revision
    if isinstance(down, tuple):
        down = ",".join(down)
    message = (rev.doc or "").strip().splitlines()[0] if rev.doc else ""
    return RevisionInfo(rev.revision, down, message, rev.revision in heads)


def history(settings: Settings | None = None) -> list[RevisionInfo]:
    """Every revision, oldest first; with settings of an existing database, which are applied."""
    script = script_directory()
    heads = list(script.get_heads())
    infos = [_info(rev, heads) for rev in reversed(list(script.walk_revisions()))]
    if settings is not None and database_exists(settings):
        status = migration_status(settings)
        pending = {p.revision for p in status.pending}
        for info in infos:
            info.applied = info.revision not in pending
    return infos


class _StepTimer:
    """Alembic's on_version_apply hook: times each revision and hands it to `on_step`."""

    def __init__(self, on_step: OnStep | None) -> None:
        self.on_step = on_step
        self.steps: list[RevisionStep] = []
        self.started = time.perf_counter()

    def __call__(self, *, step: Any, **_: Any) -> None:
        now = time.perf_counter()
        script = step.up_revision
        message = (script.doc or "").strip().splitlines()[0] if script and script.doc else ""
        done = RevisionStep(step.up_revision_id, message, step.is_upgrade, now - self.started)
        self.started = now
        self.steps.append(done)
        if self.on_step is not None:
            self.on_step(done)


def _is_lock_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _run(
    settings: Settings,
    action: str,
    target: Callable[[list[str]], str],
    on_step: OnStep | None,
    *,
    any_database: bool = False,
) -> MigrationResult:
    """Run `command.upgrade`/`downgrade` under the lock; retry a revision that hit lock_timeout."""
    timer = _StepTimer(on_step)
    first: list[str] | None = None
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        failure: Exception | None = None
        before: list[str] = []
        running = False
        try:
            # An exception must leave this block: that is what rolls SQLite's one transaction back.
            with locked_migration_connection(settings) as conn:
                before = list(_current_heads(conn))
                first = before if first is None else first
                destination = target(before)
                cfg = alembic_config(settings, conn)
                cfg.attributes["on_version_apply"] = timer
                cfg.attributes["any_database"] = any_database  # see migrations/env.py
                timer.started = time.perf_counter()
                running = True
                getattr(command, action)(cfg, destination)
                after = list(_current_heads(conn))
        except ArenaDBError:
            raise
        except Exception as exc:
            failure = exc
        if failure is None:
            break
        if not running:  # connecting or reading the version failed: not a migration's fault
            raise failure
        if _is_lock_timeout(failure) and attempt < LOCK_ATTEMPTS:
            time.sleep(LOCK_RETRY_WAIT_S * attempt)
            continue
        # Outside the lock: SQLite's exclusive transaction is rolled back by now.
        raise _failed(settings, action, timer, before, failure, attempt) from failure
    assert first is not None
    changed = [s.revision for s in timer.steps]
    return MigrationResult(settings.masked_url, first, after, changed, timer.steps)


def _failing_revision(action: str, before: list[str], done: list[str]) -> str:
    """The revision that was running when a migration from `before` failed after `done`."""
    if len(before) > 1:
        return "?"
    script = script_directory()
    below = revisions.ancestors(script, before[0] if before else None)
    if action == "upgrade":
        path = [r for r in revisions.known(script) if r not in below | set(done)]
    else:
        path = [r for r in reversed(revisions.known(script)) if r in below and r not in done]
    return path[0] if path else "?"


def _failed(
    settings: Settings,
    action: str,
    timer: _StepTimer,
    before: list[str],
    exc: Exception,
    attempts: int,
) -> MigrationFailedError:
    """One line: which revision failed, why, and where the database was left."""
    failing = _failing_revision(action, before, [s.revision for s in timer.steps])
    try:
        now = ", ".join(current_revisions(settings)) or "base"
    except Exception:  # the server went away too: say what we know
        now = "unknown"
    if _is_lock_timeout(exc):
        reason = (
            f"waited longer than lock_timeout ({settings.lock_timeout_ms} ms) for a lock held "
            f"by another session, {attempts} times; run it when the tables are less busy or "
            "raise the lock timeout"
        )
    else:
        detail = getattr(exc, "orig", None) or exc
        reason = f"{type(detail).__name__}: {' '.join(str(detail).split())}"
    return MigrationFailedError(
        f"{action} of revision {failing} on {settings.masked_url} failed: {reason} "
        f"(database left at {now})",
        revision=failing,
    )


def upgrade(
    settings: Settings,
    revision: str = "head",
    *,
    on_step: OnStep | None = None,
    any_database: bool = False,
) -> MigrationResult:
    """Migrate an existing database up to `revision` (an id, `+N`, `head`), under the lock.

    A database holding another application's tables (`arenadb.db.admin.is_arenadb_database`)
    is refused (RefusedError) unless `any_database`: then arenadb's tables go beside them.
    """
    _require_database(settings)
    script = script_directory()
    if revision not in ("heads", "base") and not revision.startswith("+"):
        revisions.resolve(script, revision)  # an unknown id is refused before connecting
    return _run(
        settings,
        "upgrade",
        lambda current: revisions.upgrade_target(script, current, revision, settings.masked_url),
        on_step,
        any_database=any_database,
    )


def downgrade(
    settings: Settings, revision: str, *, on_step: OnStep | None = None
) -> MigrationResult:
    """Migrate down to `revision` (an id, a relative `-1`, or `base` for an empty schema)."""
    _require_database(settings)
    script = script_directory()
    if not revision.startswith("-"):
        revisions.resolve(script, revision)
    if revision == "base" and not current_revisions(settings):
        return MigrationResult(settings.masked_url, [], [], [])
    return _run(
        settings,
        "downgrade",
        lambda current: revisions.downgrade_target(script, current, revision, settings.masked_url),
        on_step,
    )


def offline_sql(
    settings: Settings, revision_range: str | None = None, *, down: bool | None = None
) -> str:
    """The SQL a migration would run, for a DBA to review or apply by hand.

    `revision_range` is FROM:TO; a range whose TO is below FROM is a downgrade. `down` True
    or False insists on a direction (and picks head:base or base:head when no range is given).
    """
    script = script_directory()
    if revision_range is None:
        revision_range = "head:base" if down else "base:head"
    span, goes_down = revisions.offline_range(script, revision_range, down)
    buffer = io.StringIO()
    cfg = alembic_config(settings, output=buffer)
    if goes_down:
        command.downgrade(cfg, span, sql=True)
    else:
        command.upgrade(cfg, span, sql=True)
    return buffer.getvalue()
