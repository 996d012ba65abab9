"""`arenadb seed --env ENV`: write an environment's seed data, in one transaction.

Everything is read and validated first (`files.load_seed`); then one write transaction
creates the catalog (`catalog`: models, kinds, prompts with their forks, agents, game types), the
core event types, the generated games (`planning` places them, `generators` play them, `games`
writes them through the recorder's bulk path, rated in order as they finish), the social data
(`social`), and records the applied seed in `arenadb_meta`. Any error rolls all of it back: the
database is left exactly as it was.

Deterministic: every generated game has its own random stream and a stable UUID derived from the
environment, its `[[generate]]` block and its index, and every timestamp comes from the seed's
`start_time`. Two fresh databases seeded alike hold identical rows (`arenadb_meta`'s applied_at
aside), and seeding again finds every game by its UUID and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.config import Settings
from arenadb.db.engine import SQLITE_BEGIN, create_engine
from arenadb.db.statistics import refresh_statistics
from arenadb.errors import ArenaDBError, InvalidDataError
from arenadb.models import ArenaMeta, metadata
from arenadb.models.base import clock_fixed_at
from arenadb.progress import Progress
from arenadb.seeding.catalog import SeedCatalog
from arenadb.seeding.files import SeedData, SeedFile, load_seed
from arenadb.seeding.games import write_games

SEED_META_KEY = "seed"


@dataclass
class SeedResult:
    env: str
    version: int
    created: dict[str, int] = field(default_factory=dict)
    games_written: int = 0
    games_existing: int = 0
    reset: bool = False

    @property
    def changed(self) -> bool:
        return self.reset or self.games_written > 0 or any(self.created.values())

    def add_created(self, what: str, count: int) -> None:
        self.created[what] = self.created.get(what, 0) + count


def empty_all_tables(session: Session) -> None:
    """Delete every row of every arenadb table (not the migration version), ids restarting."""
    conn = session.connection()
    tables = [t for t in reversed(metadata.sorted_tables)]
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.quote(t.name) for t in tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        return
    for table in tables:
        conn.execute(table.delete())
    # Like RESTART IDENTITY: AUTOINCREMENT tables keep their high-water mark otherwise.
    if conn.exec_driver_sql("select 1 from sqlite_master where name = 'sqlite_sequence'").first():
        conn.exec_driver_sql("DELETE FROM sqlite_sequence")


def _file_error(file: SeedFile, exc: ArenaDBError) -> InvalidDataError:
    return InvalidDataError(f"{file.path}: {exc}")


def _write_seed(
    session: Session, data: SeedData, *, reset: bool, progress: Progress | None
) -> SeedResult:
    """Every section of `data`, in the order their rows refer to each other."""
    result = SeedResult(data.env, data.seed["version"])
    if reset:
        empty_all_tables(session)
        result.reset = True
    catalog = SeedCatalog.register(session, data)
    result.created.update(catalog.created)
    _add_event_types(session, data, result)
    games = write_games(session, data, catalog, progress)
    result.games_written, result.games_existing = games.written, games.existing
    _add_social(session, data, catalog, result)
    _record_meta(session, data, result)
    session.flush()
    return result


def _add_event_types(session: Session, data: SeedData, result: SeedResult) -> None:
    from arenadb.events import ensure_event_types

    for file, rows in data.extra.get("event_types", []):
        try:
            outcome = ensure_event_types(session, rows)
        except InvalidDataError as exc:
            raise _file_error(file, exc) from None
        result.add_created("event_types", len(outcome.created))


def _add_social(session: Session, data: SeedData, catalog: SeedCatalog, result: SeedResult) -> None:
    from arenadb.seeding.social import SECTIONS, load_social_seed

    by_file: dict[Any, tuple[SeedFile, dict[str, Any]]] = {}
    for section in SECTIONS:
        for file, value in data.extra.get(section, []):
            by_file.setdefault(file.path, (file, {}))[1][section] = value
    aliases = catalog.agent_ids()
    for file, sections in by_file.values():
        try:
            outcome = load_social_seed(session, sections, aliases)
        except InvalidDataError as exc:
            raise _file_error(file, exc) from None
        for name, count in vars(outcome).items():
            if count:
                result.add_created(name, count)


def _record_meta(session: Session, data: SeedData, result: SeedResult) -> None:
    value = {
        "env": data.env,
        "version": data.seed["version"],
        "checksum": data.checksum,
        "games": result.games_written + result.games_existing,
        "applied_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    meta = session.get(ArenaMeta, SEED_META_KEY)
    if meta is None:
        session.add(ArenaMeta(key=SEED_META_KEY, value=value))
    elif result.changed or {**meta.value, "applied_at": None} != {**value, "applied_at": None}:
        meta.value = value


def _check_sections(data: SeedData) -> None:
    from arenadb.seeding.social import SECTIONS

    for section, items in data.extra.items():
        if section != "event_types" and section not in SECTIONS:
            file = items[0][0]
            raise InvalidDataError(f"{file.path}: unknown section [{section}]")


def seed_database(
    settings: Settings,
    env: str,
    *,
    reset: bool = False,
    progress: Progress | None = None,
    seeds_root: Path | None = None,
) -> SeedResult:
    """Write seed environment `env` into the (migrated) database, all in one transaction.

    `seeds_root`: a folder laid out like the shipped `seeds/` (default: the shipped one).
    """
    from arenadb.schema.migrations import migration_status

    data = load_seed(env, root=seeds_root)
    _check_sections(data)
    status = migration_status(settings)
    if not status.up_to_date:
        from arenadb.errors import ConflictError

        raise ConflictError(
            f"database {settings.masked_url} is not at the latest schema: run `arenadb migrate up`"
        )
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            # Rows this run inserts get the seed's clock as they are written (two fresh databases
            # seeded alike are identical); nothing else is touched, so rows of other writers (a
            # claimed event's lock, a user added meanwhile) keep their times.
            with conn.begin(), clock_fixed_at(data.seed["start_time"]):
                session = Session(bind=conn, expire_on_commit=False, autoflush=True)
                try:
                    result = _write_seed(session, data, reset=reset, progress=progress)
                finally:
                    session.close()
        refresh_statistics(engine)
    finally:
        engine.dispose()
    return result


def applied_seed(settings: Settings) -> dict[str, Any] | None:
    """The `arenadb_meta` record of the last applied seed, if any."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(ArenaMeta.value).where(ArenaMeta.key == SEED_META_KEY)
            ).scalar()
    finally:
        engine.dispose()
    return row if isinstance(row, dict) else None
