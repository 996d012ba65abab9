"""Whole-database lifecycle: check, init (create + migrate, idempotent), reset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db.admin import create_database, database_exists, drop_database
from arenadb.db.engine import create_engine, server_info
from arenadb.errors import DatabaseMissingError
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
    """What `arenadb db check` reports."""

    url: str
    backend: str
    server_version: str
    database: str
    current_revision: list[str] = field(default_factory=list)
    head_revision: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    seed: dict[str, Any] | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def migration_state(self) -> str:
        if not self.current_revision:
            return "not initialised (run `arenadb init`)"
        if self.pending:
            return f"{len(self.pending)} pending (run `arenadb migrate up`)"
        return "up to date"


def check_database(settings: Settings) -> DatabaseCheck:
    """Connect, and report backend, server version, database, migration state and seed."""
    if settings.url.is_sqlite and not database_exists(settings):
        raise DatabaseMissingError(
            f"database {settings.masked_url} does not exist (create it with `arenadb init`)"
        )
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            info = server_info(conn)
            current = list(MigrationContext.configure(conn).get_current_heads())
            seed = _applied_seed(conn) if current else None
    finally:
        engine.dispose()
    pending = [p.revision for p in pending_revisions(current)]
    return DatabaseCheck(
        url=settings.masked_url,
        backend=info.pop("backend"),
        server_version=info.pop("server_version"),
        database=info.pop("database"),
        current_revision=current,
        head_revision=list(script_directory().get_heads()),
        pending=pending,
        seed=seed,
        extra=info,
    )


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
    settings: Settings, *, seed: str | None = None, progress: Progress | None = None
) -> InitResult:
    """Create the database if it is missing, migrate it to head, and optionally seed it.

    Safe to run again. A bad seed environment or seed file is reported before anything is
    created.
    """
    from arenadb.seeding.files import load_seed

    if seed is not None:
        load_seed(seed)
    created = create_database(settings, if_not_exists=True)
    migration = upgrade(settings, "head")
    result = InitResult(settings.masked_url, created, migration)
    if seed is not None:
        from arenadb.seeding.seeder import seed_database

        result.seed = seed_database(settings, seed, progress=progress)
    return result


def reset_database(
    settings: Settings, *, seed: str | None = None, progress: Progress | None = None
) -> InitResult:
    """Drop the database, create it again, migrate it to head, and optionally seed it."""
    from arenadb.seeding.files import load_seed

    if seed is not None:
        load_seed(seed)  # before dropping anything
    drop_database(settings, missing_ok=True)
    return init_database(settings, seed=seed, progress=progress)
