"""Schema migrations: Alembic configured in code, under a lock, on one shared connection.

Every migration runs in one transaction that first takes a lock, so two `arenadb migrate up`
started at once on one database both succeed and the schema is migrated once:
PostgreSQL takes a transaction-scoped advisory lock; SQLite starts with BEGIN EXCLUSIVE.
SQLite batch migrations recreate tables, so foreign keys are switched off for the migration
connection (it cannot be done inside a transaction) and verified with foreign_key_check before
the commit.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from arenadb.config import Settings
from arenadb.db.admin import create_database, database_exists, drop_database
from arenadb.db.engine import SQLITE_BEGIN, create_engine
from arenadb.errors import (
    ArenaDBError,
    CheckFailedError,
    DatabaseMissingError,
    IntegrityCheckError,
    InvalidArgumentError,
)
from arenadb.resources import migrations_dir

# pg_advisory_xact_lock key: "arenadb" migrations (any fixed 64-bit number works).
MIGRATION_LOCK_KEY = 0x617265_6E6164_62


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
def locked_migration_connection(settings: Settings) -> Iterator[Connection]:
    """A connection inside one transaction that holds the migration lock; commits at the end."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # On the driver connection: SQLAlchemy would wrap it in a transaction, where
                # SQLite ignores this pragma.
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
            else:
                with conn.begin():
                    conn.execute(
                        sa.text("select pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY}
                    )
                    yield conn
    finally:
        engine.dispose()


def _current_heads(conn: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(conn).get_current_heads())


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

    @property
    def up_to_date(self) -> bool:
        return not self.pending and set(self.current) == set(self.heads)


@dataclass
class MigrationResult:
    database: str
    before: list[str]
    after: list[str]
    applied: list[str]


def _require_database(settings: Settings) -> None:
    if not database_exists(settings):
        raise DatabaseMissingError(
            f"database {settings.masked_url} does not exist (create it with `arenadb init`)"
        )


def _revisions_between(script: ScriptDirectory, upper: str, lower: str | None) -> list[str]:
    """Revision ids applied when going from `lower` (None: empty) up to `upper`, oldest first."""
    revs = list(script.iterate_revisions(upper, lower or "base"))
    return [r.revision for r in reversed(revs)]


def migration_status(settings: Settings) -> MigrationStatus:
    """Current revision(s), head(s) and the migrations not yet applied."""
    _require_database(settings)
    script = script_directory()
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            current = _current_heads(conn)
    finally:
        engine.dispose()
    heads = list(script.get_heads())
    return MigrationStatus(settings.masked_url, list(current), heads, pending_revisions(current))


def pending_revisions(current: tuple[str, ...] | list[str]) -> list[RevisionInfo]:
    """Revisions not applied to a database whose current heads are `current`, oldest first."""
    script = script_directory()
    heads = list(script.get_heads())
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
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
    revisions = [_info(rev, heads) for rev in reversed(list(script.walk_revisions()))]
    if settings is not None and database_exists(settings):
        status = migration_status(settings)
        pending = {p.revision for p in status.pending}
        for info in revisions:
            info.applied = info.revision not in pending
    return revisions


def upgrade(settings: Settings, revision: str = "head") -> MigrationResult:
    """Migrate an existing database up to `revision`, under the migration lock."""
    _require_database(settings)
    _check_revision(revision)
    with locked_migration_connection(settings) as conn:
        before = _current_heads(conn)
        command.upgrade(alembic_config(settings, conn), revision)
        after = _current_heads(conn)
    applied = _applied_between(before, after)
    return MigrationResult(settings.masked_url, list(before), list(after), applied)


def downgrade(settings: Settings, revision: str) -> MigrationResult:
    """Migrate down to `revision` (an id, a relative `-1`, or `base` for an empty schema)."""
    _require_database(settings)
    if revision != "base" and not revision.startswith("-"):
        _check_revision(revision)
    with locked_migration_connection(settings) as conn:
        before = _current_heads(conn)
        if not before:
            return MigrationResult(settings.masked_url, [], [], [])
        command.downgrade(alembic_config(settings, conn), revision)
        after = _current_heads(conn)
    removed = _applied_between(after, before)
    return MigrationResult(settings.masked_url, list(before), list(after), removed)


def _applied_between(lower: tuple[str, ...], upper: tuple[str, ...]) -> list[str]:
    script = script_directory()
    out: list[str] = []
    for head in upper:
        for rev in _revisions_between(script, head, None):
            below = set()
            for low in lower:
                below.update(_revisions_between(script, low, None))
            if rev not in below and rev not in out:
                out.append(rev)
    return out


def _check_revision(revision: str) -> None:
    if revision in ("head", "heads", "base"):
        return
    try:
        found = script_directory().get_revision(revision)
    except Exception as exc:  # alembic raises several types for a bad or ambiguous id
        raise InvalidArgumentError(f"unknown revision {revision!r}: {exc}") from None
    if found is None:
        raise InvalidArgumentError(f"unknown revision {revision!r}")


def offline_sql(
    settings: Settings, revision_range: str = "base:head", *, down: bool = False
) -> str:
    """The SQL a migration would run, for a DBA to review or apply by hand."""
    buffer = io.StringIO()
    cfg = alembic_config(settings, output=buffer)
    if down:
        command.downgrade(cfg, revision_range, sql=True)
    else:
        command.upgrade(cfg, revision_range, sql=True)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# migrate check: what CI runs


@dataclass
class CheckReport:
    ok: bool
    heads: list[str]
    scratch_backend: str
    problems: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    round_trip: bool = False
    target: str | None = None
    target_checked: bool = False
    pending: list[str] = field(default_factory=list)


def schema_differences(conn: Connection) -> list[str]:
    """What autogenerate would change to make the database match the models."""
    from alembic.autogenerate import compare_metadata

    from arenadb.models import metadata

    context = MigrationContext.configure(
        conn,
        opts={"compare_type": True, "target_metadata": metadata},
    )
    return [_describe_diff(d) for d in compare_metadata(context, metadata)]


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe_diff(d) for d in diff)
    kind, *rest = diff
    if kind.startswith("modify_") and len(rest) == 6:  # (schema, table, column, info, old, new)
        _schema, table, column, _info, old, new = rest
        return f"{kind} {table}.{column}: {old!r} -> {new!r}"
    parts = []
    for item in rest:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if name and table and table != name:
            parts.append(f"{table}.{name}")
        elif name:
            parts.append(str(name))
        else:
            parts.append(repr(item))
    return f"{kind} " + " ".join(parts)


@contextmanager
def scratch_database(settings: Settings) -> Iterator[Settings]:
    """A throwaway empty database on the same backend (and server) as `settings`."""
    if settings.url.is_sqlite:
        with tempfile.TemporaryDirectory(prefix="arenadb-check-") as folder:
            path = Path(folder) / "scratch.db"
            yield settings.with_url(f"sqlite:///{path}", origin="scratch")
        return
    name = f"arenadb_check_{uuid.uuid4().hex[:12]}"
    scratch = settings.with_url(settings.url.with_database(name), origin="scratch")
    create_database(scratch)
    try:
        yield scratch
    finally:
        drop_database(scratch, missing_ok=True)


def check_migrations(settings: Settings, *, check_target: bool = True) -> CheckReport:
    """Heads, model drift and up/down/up on a scratch database; pending on the target if any.

    Raises CheckFailedError (exit 3) carrying the report when anything is wrong.
    """
    script = script_directory()
    heads = list(script.get_heads())
    report = CheckReport(ok=True, heads=heads, scratch_backend=settings.backend)
    if len(heads) > 1:
        report.problems.append(f"{len(heads)} heads ({', '.join(heads)}): merge them")
    else:
        with scratch_database(settings) as scratch:
            create_database(scratch, if_not_exists=True)
            upgrade(scratch, "head")
            engine = create_engine(scratch, pooled=False)
            try:
                with engine.connect() as conn:
                    report.differences = schema_differences(conn)
            finally:
                engine.dispose()
            if report.differences:
                report.problems.append(
                    f"models and migrations differ ({len(report.differences)} differences): "
                    "write a migration"
                )
            try:
                downgrade(scratch, "base")
                upgrade(scratch, "head")
                report.round_trip = True
            except ArenaDBError:
                raise
            except Exception as exc:
                report.problems.append(f"up -> down to base -> up failed: {exc}")
    if check_target:
        report.target = settings.masked_url
        if database_exists(settings):
            report.target_checked = True
            status = migration_status(settings)
            report.pending = [p.revision for p in status.pending]
            if report.pending:
                report.problems.append(
                    f"{len(report.pending)} pending migrations on {settings.masked_url}: "
                    "run `arenadb migrate up`"
                )
    report.ok = not report.problems
    if not report.ok:
        raise CheckFailedError("; ".join(report.problems), details=report)
    return report
