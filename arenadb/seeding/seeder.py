"""`arenadb seed --env ENV`: write an environment's seed data, in one transaction.

Everything is read and validated first (`seedfiles.load_seed`); then one write transaction
creates the catalog (models, kinds, prompts with their forks, agents, game types), the core event
types, the generated games (through the recorder's bulk path, rated in order as they finish),
the social data, and records the applied seed in `arenadb_meta`. Any error rolls all of it back:
the database is left exactly as it was.

Deterministic: every generated game has its own random stream and a stable UUID derived from the
environment, its `[[generate]]` block and its index, and every timestamp comes from the seed's
`start_time`. Two fresh databases seeded alike hold identical rows (`arenadb_meta`'s applied_at
aside), and seeding again finds every game by its UUID and adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.catalog import registration as registry
from arenadb.config import Settings
from arenadb.db.engine import SQLITE_BEGIN, create_engine
from arenadb.errors import ArenaDBError, InvalidDataError
from arenadb.models import (
    Agent,
    ArenaMeta,
    Game,
    GameType,
    LLMModel,
    Prompt,
    metadata,
)
from arenadb.models.base import clock_fixed_at
from arenadb.progress import Progress
from arenadb.recording.records import GameRecord, write_game
from arenadb.seeding import generators as seedgen
from arenadb.seeding.files import SeedData, SeedFile, load_seed

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


def _on_wall_clock(progress: Progress) -> Progress:
    """The caller's callback, run outside the seed's clock (what it writes is not the seed's)."""

    def report(what: str, done: int, total: int) -> None:
        with clock_fixed_at(None):
            progress(what, done, total)

    return report


def _file_error(file: SeedFile, exc: ArenaDBError) -> InvalidDataError:
    return InvalidDataError(f"{file.path}: {exc}")


class _Seeder:
    def __init__(self, session: Session, data: SeedData, progress: Progress | None) -> None:
        self.session = session
        self.data = data
        self.progress = _on_wall_clock(progress) if progress is not None else None
        self.start: datetime = data.seed["start_time"]
        # Identity keys of the rows this run inserted (for the counts in the result).
        self.inserted: set[Any] = set()
        sa.event.listen(session, "pending_to_persistent", self._inserted)
        self.result = SeedResult(data.env, data.seed["version"])
        self.models: dict[str, LLMModel] = {}
        self.prompts: dict[str, list[Prompt]] = {}
        self.agents: dict[str, Agent] = {}
        self.game_types: dict[str, GameType] = {}
        self.seed_agents: dict[str, seedgen.SeedAgent] = {}

    def _inserted(self, _session: Session, obj: Any) -> None:
        self.inserted.add(sa.inspect(obj).identity_key)

    def _created(self, what: str, obj: Any) -> None:
        state = sa.inspect(obj)
        if state.pending or state.identity_key in self.inserted:
            self.result.created[what] = self.result.created.get(what, 0) + 1

    def catalog(self) -> None:
        s = self.session
        for row in self.data.rows("models"):
            model = registry.get_or_create_model(
                s,
                row["name"],
                provider=row.get("provider"),
                litellm_name=row.get("litellm_name"),
                input_price_per_mtok=row.get("input_price_per_mtok"),
                output_price_per_mtok=row.get("output_price_per_mtok"),
                active=row.get("active"),
            )
            self.models[row["name"]] = model
            self._created("models", model)
        for row in self.data.rows("kinds"):
            kind = registry.get_or_create_kind(
                s, row["name"], description=row.get("description"), active=row.get("active")
            )
            self._created("kinds", kind)
        for row in self.data.rows("prompts"):
            prompt = registry.register_prompt(s, row["name"], row["content"])
            if "active" in row and prompt.active != row["active"]:
                prompt.active = row["active"]
            self.prompts.setdefault(row["name"], []).append(prompt)
            self._created("prompts", prompt)
        for row in self.data.rows("game_types"):
            game_type = registry.get_or_create_game_type(
                s,
                row["env_id"],
                name=row.get("name"),
                min_seats=row.get("min_seats"),
                max_seats=row.get("max_seats"),
                sides=row.get("sides"),
                roles=row.get("roles"),
            )
            for key in ("description", "config"):
                if key in row and getattr(game_type, key) != row[key]:
                    setattr(game_type, key, row[key])
            self.game_types[row["env_id"]] = game_type
            self._created("game_types", game_type)
        for row in self.data.rows("agents"):
            versions = self.prompts[row["prompt"]]
            prompt = versions[row.get("prompt_version", len(versions)) - 1]
            agent = registry.get_or_create_agent(
                s,
                kind=row["kind"],
                model=self.models[row["model"]],
                prompt=prompt,
                alias=row["alias"],
                agent_class=row.get("class"),
                config=row.get("config"),
            )
            if "active" in row and agent.active != row["active"]:
                agent.active = row["active"]
            self.agents[row["alias"]] = agent
            self._created("agents", agent)
        s.flush()
        # The one resolving step: the generators emit records with database ids.
        for row in self.data.rows("agents"):
            agent = self.agents[row["alias"]]
            model = self.models[row["model"]]
            versions = self.prompts[row["prompt"]]
            prompt = versions[row.get("prompt_version", len(versions)) - 1]
            self.seed_agents[row["alias"]] = seedgen.SeedAgent(
                alias=row["alias"],
                agent_id=agent.id,
                model_id=model.id,
                model=model.name,
                kind=row["kind"],
                provider=model.provider,
                input_price=model.input_price_per_mtok or 0.0,
                output_price=model.output_price_per_mtok or 0.0,
                prompt=prompt.content,
            )

    def event_types(self) -> None:
        from arenadb.events import ensure_event_types

        for file, rows in self.data.extra.get("event_types", []):
            try:
                outcome = ensure_event_types(self.session, rows)
            except InvalidDataError as exc:
                raise _file_error(file, exc) from None
            self.result.created["event_types"] = self.result.created.get("event_types", 0) + len(
                outcome.created
            )

    def games(self) -> None:
        plans = []
        for block, row in enumerate(self.data.rows("generate")):
            for index in range(row["games"]):
                plans.append((block, index, row))
        uuids = [seedgen.game_uuid(self.data.env, block, index) for block, index, _ in plans]
        existing: set = set()
        for chunk in range(0, len(uuids), 500):
            existing.update(
                self.session.scalars(
                    sa.select(Game.uuid).where(Game.uuid.in_(uuids[chunk : chunk + 500]))
                )
            )
        written_ids: list[int] = []
        # Games start one after another through the seed's time line; each block continues
        # where the previous one ended, so the whole history is ordered and reproducible.
        clock = self.start
        seed = self.data.seed["random_seed"]
        for done, ((block, index, row), game_uuid) in enumerate(zip(plans, uuids, strict=True)):
            rng = random.Random(f"{seed}/{block}/{index}")
            clock += timedelta(minutes=rng.randint(5, 45))
            if self.progress:
                self.progress("games", done, len(plans))
            if game_uuid in existing:
                self.result.games_existing += 1
                continue
            game_id = write_game(self.session, self._generate(rng, row, clock, game_uuid))
            written_ids.append(game_id)
            self.result.games_written += 1
        if self.progress:
            self.progress("games", len(plans), len(plans))
        self._stamp_ratings(written_ids)

    def _generate(
        self, rng: random.Random, row: dict[str, Any], start: datetime, game_uuid: Any
    ) -> GameRecord:
        agents = [self.seed_agents[a] for a in row["agents"]]
        rounds = tuple(row.get("rounds", [2, 3]))
        crash, running = bool(row.get("crash")), bool(row.get("running"))
        type_id = self.game_types[row["game_type"]].id
        if row["game"] == "secret_mafia":
            game = seedgen.secret_mafia(
                rng,
                agents,
                start,
                game_uuid,
                rounds,
                game_type_id=type_id,
                crash=crash,
                running=running,
            )
        elif row["game"] == "colonel_blotto":
            game = seedgen.colonel_blotto(
                rng,
                agents,
                start,
                game_uuid,
                rounds,
                game_type_id=type_id,
                crash=crash,
                running=running,
            )
        else:
            game = seedgen.fourx(
                rng,
                agents,
                start,
                game_uuid,
                row.get("turns", 60),
                row.get("snapshot_every", 10),
                game_type_id=type_id,
                running=running,
            )
        game.info = {**(game.info or {}), "seed_env": self.data.env}
        return game

    def _stamp_ratings(self, game_ids: list[int]) -> None:
        """Rating rows and events written now get the finishing time of their game."""
        from arenadb.models import Rating, RatingEvent

        finished = sa.select(Game.finished_at).where(Game.id == RatingEvent.game_id)
        last = sa.select(Game.finished_at).where(Game.id == Rating.last_game_id)
        for chunk in range(0, len(game_ids), 500):
            ids = game_ids[chunk : chunk + 500]
            self.session.execute(
                sa.update(RatingEvent)
                .where(RatingEvent.game_id.in_(ids))
                .values(created_at=finished.scalar_subquery())
            )
            self.session.execute(
                sa.update(Rating)
                .where(Rating.last_game_id.in_(ids))
                .values(updated_at=last.scalar_subquery())
            )

    def social(self) -> None:
        from arenadb.seeding.social import SECTIONS, load_social_seed

        by_file: dict[Any, tuple[SeedFile, dict[str, Any]]] = {}
        for section in SECTIONS:
            for file, value in self.data.extra.get(section, []):
                by_file.setdefault(file.path, (file, {}))[1][section] = value
        aliases = {alias: agent.id for alias, agent in self.agents.items()}
        for file, sections in by_file.values():
            try:
                outcome = load_social_seed(self.session, sections, aliases)
            except InvalidDataError as exc:
                raise _file_error(file, exc) from None
            for name, count in vars(outcome).items():
                if count:
                    self.result.created[name] = self.result.created.get(name, 0) + count

    def record_meta(self) -> None:
        value = {
            "env": self.data.env,
            "version": self.data.seed["version"],
            "checksum": self.data.checksum,
            "games": self.result.games_written + self.result.games_existing,
            "applied_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        meta = self.session.get(ArenaMeta, SEED_META_KEY)
        if meta is None:
            self.session.add(ArenaMeta(key=SEED_META_KEY, value=value))
        elif self.result.changed or {**meta.value, "applied_at": None} != {
            **value,
            "applied_at": None,
        }:
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
                    seeder = _Seeder(session, data, progress)
                    if reset:
                        empty_all_tables(session)
                        seeder.result.reset = True
                    seeder.catalog()
                    seeder.event_types()
                    seeder.games()
                    seeder.social()
                    seeder.record_meta()
                    session.flush()
                finally:
                    session.close()
    finally:
        engine.dispose()
    return seeder.result


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
