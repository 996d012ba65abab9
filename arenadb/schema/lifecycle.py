"""Whole-database lifecycle: check, init (create + migrate, idempotent), reset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db.admin import create_database, database_exists, drop_database
from arenadb.db.engine import create_engine, has_sqlite_header, server_info
from arenadb.db.search_index import REBUILD_HINT, search_index_problems
from arenadb.errors import CheckFailedError, DatabaseMissingError
from arenadb.progress import Progress
from arenadb.schema.migrations import (
    MigrationResult,
    pending_revisions,
    script_directory,
    upgrade,
)

if TYPE_CHECKING:
    from arenadb.seeding.seeder import SeedResult


@dataclass
class DatabaseCheck:
    """What `arenadb db check` reports; `problems` empty means an arenadb database at head."""

    url: str
    backend: str
    server_version: str = ""
    database: str = ""
    current_revision: list[str] = field(default_factory=list)
    head_revision: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    seed: dict[str, Any] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    unknown_revision: list[str] = field(default_factory=list)
    # Derived data out of step with its source: the search index, the usage rollup.
    derived_problems: list[str] = field(default_factory=list)
    # Tables of another application in a database shared on purpose: listed, not checked.
    other_tables: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def migration_state(self) -> str:
        if self.unknown_revision:
            return f"unknown revision {', '.join(self.unknown_revision)}"
        if not self.current_revision:
            return "not initialised (run `arenadb init`)"
        if self.pending:
            return f"{len(self.pending)} pending (run `arenadb migrate up`)"
        return "up to date"


def check_database(settings: Settings) -> DatabaseCheck:
    """Is this an arenadb database at head whose live schema matches the models?

    A catalogue read: backend, server version, revision, pending migrations, drift, seed.
    Raises CheckFailedError (exit 3) carrying the report when it is not.
    """
    report = _inspect(settings)
    if report.problems:
        raise CheckFailedError(f"{report.url}: " + "; ".join(report.problems), details=report)
    return report


def _inspect(settings: Settings) -> DatabaseCheck:
    from alembic.runtime.migration import MigrationContext

    from arenadb.schema import revisions
    from arenadb.schema.check import live_differences

    heads = list(script_directory().get_heads())
    report = DatabaseCheck(settings.masked_url, settings.backend, head_revision=heads)
    path = settings.url.sqlite_path if settings.url.is_sqlite else None
    if path is not None and path.is_file() and path.stat().st_size == 0:
        report.problems.append("the file is empty (0 bytes): not an arenadb database")
        return report
    if path is not None and path.is_file() and not has_sqlite_header(path):
        report.problems.append("the file is not a SQLite database")
        return report
    if not database_exists(settings):
        raise DatabaseMissingError(
            f"database {settings.masked_url} does not exist (create it with `arenadb init`)"
        )
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            info = server_info(conn)
            tables = set(sa.inspect(conn).get_table_names())
            current = list(MigrationContext.configure(conn).get_current_heads())
            report.seed = _applied_seed(conn) if current else None
    finally:
        engine.dispose()
    report.server_version = info.pop("server_version")
    report.database = info.pop("database")
    info.pop("backend")
    report.extra = info
    report.current_revision = current
    script = script_directory()
    report.unknown_revision = revisions.unknown_in_database(script, current)
    if report.unknown_revision:
        report.problems.append(
            f"at revision {', '.join(report.unknown_revision)}, which "
            f"this arenadb does not know (it knows {revisions.describe_code(script)})"
        )
        return report
    if not current:
        if tables - {"alembic_version"}:
            report.problems.append(
                f"not an arenadb database: {len(tables - {'alembic_version'})} tables "
                "and no migration revision"
            )
        else:
            report.problems.append("not initialised: no tables (run `arenadb init`)")
        return report
    from arenadb.db.admin import other_application_tables

    report.other_tables = sorted(other_application_tables(tables))
    report.pending = [p.revision for p in pending_revisions(current)]
    if report.pending:
        report.problems.append(
            f"{len(report.pending)} pending migrations ({', '.join(report.pending)}): "
            "run `arenadb migrate up`"
        )
        return report
    report.differences = live_differences(settings)
    if report.differences:
        report.problems.append(
            f"the live schema differs from the models ({len(report.differences)} differences)"
        )
        return report
    search, rollup = _derived_problems(settings)
    report.derived_problems = search + rollup
    if search:
        report.problems.append(f"{'; '.join(search)}: {REBUILD_HINT}")
    report.problems.extend(rollup)
    return report


def _derived_problems(settings: Settings) -> tuple[list[str], list[str]]:
    """Derived data out of step with what it is derived from: the search index, the rollup."""
    from arenadb.db.rollups import rollup_problems

    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            return search_index_problems(conn), rollup_problems(conn)
    finally:
        engine.dispose()


def _applied_seed(conn: sa.Connection) -> dict[str, Any] | None:
    from arenadb.models import ArenaMeta

    if not sa.inspect(conn).has_table(ArenaMeta.__tablename__):
        return None
    value = conn.execute(sa.select(ArenaMeta.value).where(ArenaMeta.key == "seed")).scalar()
    return value if isinstance(value, dict) else None


@dataclass
class InitResult:
    url: str
    created: bool
    migration: MigrationResult
    seed: SeedResult | None = None


def init_database(
    settings: Settings,
    *,
    seed: str | None = None,
    progress: Progress | None = None,
    any_database: bool = False,
) -> InitResult:
    """Create the database if it is missing, migrate it to head, and optionally seed it.

    Safe to run again. A bad seed environment or seed file is reported before anything is
    created. A database holding another application's tables is refused unless
    `any_database` (arenadb's tables then go beside the others).
    """
    from arenadb.seeding.files import load_seed

    if seed is not None:
        load_seed(seed)
    created = create_database(settings, if_not_exists=True)
    migration = upgrade(settings, "head", any_database=any_database)
    result = InitResult(settings.masked_url, created, migration)
    if seed is not None:
        from arenadb.seeding.seeder import seed_database

        result.seed = seed_database(settings, seed, progress=progress)
    return result


def reset_database(
    settings: Settings,
    *,
    seed: str | None = None,
    progress: Progress | None = None,
    any_database: bool = False,
) -> InitResult:
    """Drop the database, create it again, migrate it to head, and optionally seed it.

    Like `drop_database`, only an arenadb database is dropped unless `any_database`.
    """
    from arenadb.seeding.files import load_seed

    if seed is not None:
        load_seed(seed)  # before dropping anything
    drop_database(settings, missing_ok=True, any_database=any_database)
    return init_database(settings, seed=seed, progress=progress)
