"""The seed's generated games, written through the recorder's bulk path (`write_game`), rated in
order as they finish; a game whose UUID is already in the database is left as it is."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.models import Game, Rating, RatingEvent
from arenadb.models.base import clock_fixed_at
from arenadb.progress import Progress
from arenadb.recording.records import GameRecord, write_game
from arenadb.seeding.catalog import SeedCatalog
from arenadb.seeding.files import SeedData
from arenadb.seeding.generators import generate
from arenadb.seeding.planning import PlannedGame, game_slots, planned_games

# Rows per `IN (...)` list: far below every backend's bound-parameter limit.
CHUNK = 500
T = TypeVar("T")


@dataclass
class GamesWritten:
    written: int = 0
    existing: int = 0


def write_games(
    session: Session, data: SeedData, catalog: SeedCatalog, progress: Progress | None
) -> GamesWritten:
    """Generate and write every planned game not already in the database."""
    report = _on_wall_clock(progress) if progress is not None else None
    slots = game_slots(data)
    existing = _existing_uuids(session, [slot.uuid for slot in slots])
    counts = GamesWritten()
    written_ids: list[int] = []
    for done, planned in enumerate(planned_games(data, slots)):
        if report:
            report("games", done, len(slots))
        if planned.slot.uuid in existing:
            counts.existing += 1
            continue
        written_ids.append(write_game(session, _generated(planned, data, catalog)))
        counts.written += 1
    if report:
        report("games", len(slots), len(slots))
    _stamp_ratings(session, written_ids)
    return counts


def _generated(planned: PlannedGame, data: SeedData, catalog: SeedCatalog) -> GameRecord:
    spec = planned.slot.spec
    game = generate(
        spec,
        planned.rng,
        [catalog.seed_agents[alias] for alias in spec["agents"]],
        planned.start,
        planned.slot.uuid,
        game_type_id=catalog.game_types[spec["game_type"]].id,
    )
    game.info = {**(game.info or {}), "seed_env": data.env}
    return game


def _existing_uuids(session: Session, uuids: list[uuid.UUID]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for chunk in _chunks(uuids):
        found.update(session.scalars(sa.select(Game.uuid).where(Game.uuid.in_(chunk))))
    return found


def _stamp_ratings(session: Session, game_ids: list[int]) -> None:
    """Rating rows and events written now get the finishing time of their game."""
    finished = sa.select(Game.finished_at).where(Game.id == RatingEvent.game_id)
    last = sa.select(Game.finished_at).where(Game.id == Rating.last_game_id)
    for ids in _chunks(game_ids):
        session.execute(
            sa.update(RatingEvent)
            .where(RatingEvent.game_id.in_(ids))
            .values(created_at=finished.scalar_subquery())
        )
        session.execute(
            sa.update(Rating)
            .where(Rating.last_game_id.in_(ids))
            .values(updated_at=last.scalar_subquery())
        )


def _chunks(items: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _on_wall_clock(progress: Progress) -> Progress:
    """The caller's callback, run outside the seed's clock (what it writes is not the seed's)."""

    def report(what: str, done: int, total: int) -> None:
        with clock_fixed_at(None):
            progress(what, done, total)

    return report
