"""Rating agents: the incremental update when a game finishes, and the rebuild from history.

Both paths feed the same `RatingBook` (`arenadb.ratings.replay`: in-memory ratings + the rating
libraries), so a rebuild reproduces the incremental ratings bit for bit as long as it replays the
games in the order in which they were rated.

Rated order: every rating update takes the rating writer lock (a PostgreSQL transaction-scoped
advisory lock; on SQLite the finishing transaction is BEGIN IMMEDIATE, so writers are serialised
already) before it reads any rating, and inserts its rating events while it holds that lock.
Event ids therefore increase in the order in which games were rated, and that order is what a
rebuild replays: games by their first rating event id, then eligible games that were never
rated (finished before ratings existed, say) by finish time and id. A rebuild writes its events
in the same order, so a later rebuild replays the same history again.

Scopes: every rated game updates, per system, the agent's overall rating (game_type_id NULL)
and its rating for the game's type; each update writes one rating event.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from arenadb.db.bulk import bulk_writer, insert_rows
from arenadb.errors import ConflictError, NotFoundError
from arenadb.models import Game, GamePlayer, GameType, Rating, RatingEvent, utcnow
from arenadb.progress import Progress
from arenadb.ratings.replay import (
    RATING_EVENTS,
    RatedGame,
    RatingBook,
    RatingChange,
    RatingKey,
    RatingState,
    Scope,
    load_rated_history,
)
from arenadb.ratings.systems import SYSTEMS, Seat, check_systems, shared_first_setting

# pg_advisory_xact_lock key of the rating writer lock ("arenarat"; any fixed 64-bit number).
RATING_LOCK_KEY = 0x6172656E_61726174
DEFAULT_SYSTEMS = SYSTEMS

# The Core tables, for bulk statements (executemany) that need no ORM objects.
RATINGS = cast(sa.Table, Rating.__table__)


def is_ratable(*, status: str, rated: bool, outcome: str | None, environment_crashed: bool) -> bool:
    """Only completed, rated games that were won or drawn change ratings."""
    return (
        status == "completed" and rated and not environment_crashed and outcome in ("win", "draw")
    )


def take_rating_lock(conn: Connection | Session) -> None:
    """Serialise rating writers until the end of the transaction.

    PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback). SQLite: a
    writing transaction started with BEGIN IMMEDIATE already excludes every other writer.
    """
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": RATING_LOCK_KEY})


def rate_game(
    session: Session, game_id: int, systems: Sequence[str] = DEFAULT_SYSTEMS
) -> list[RatingChange]:
    """Update the ratings of a finished game's agents; call it in the transaction that finishes
    the game (on SQLite a `session_scope(engine, write=True)`).

    Does nothing (returns []) for games that are not completed, unrated, crashed or no contest.
    Raises ConflictError if the game was rated already.

    Example:
        with session_scope(engine, write=True) as session:
            game.status, game.outcome, game.winning_side = "completed", "win", "mafia"
            rate_game(session, game.id)
    """
    systems = check_systems(systems)
    session.flush()
    row = session.execute(
        sa.select(
            Game.game_type_id,
            Game.status,
            Game.rated,
            Game.outcome,
            Game.winning_side,
            Game.environment_crashed,
        ).where(Game.id == game_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"game {game_id} not found")
    if not is_ratable(
        status=row.status,
        rated=row.rated,
        outcome=row.outcome,
        environment_crashed=row.environment_crashed,
    ):
        return []
    take_rating_lock(session)
    already = session.execute(
        sa.select(RatingEvent.id)
        .where(RatingEvent.game_id == game_id, RatingEvent.system.in_(systems))
        .limit(1)
    ).first()
    if already is not None:
        raise ConflictError(f"game {game_id} is already rated")
    seats = tuple(
        Seat(r.seat, r.agent_id, r.side, r.rank, r.reward)
        for r in session.execute(
            sa.select(
                GamePlayer.seat,
                GamePlayer.agent_id,
                GamePlayer.side,
                GamePlayer.rank,
                GamePlayer.reward,
            )
            .where(GamePlayer.game_id == game_id)
            .order_by(GamePlayer.seat)
        )
    )
    game = RatedGame(game_id, row.game_type_id, row.outcome, row.winning_side, seats)
    scopes: list[Scope] = [None, row.game_type_id]
    book = _load_book(session, {s.agent_id for s in seats}, systems, row.game_type_id)
    book.shared_first = shared_first_settings(session, row.game_type_id)
    changes = book.apply(game, systems, scopes)
    if changes:
        _write_book(session.connection(), book, changes)
    return changes


def _load_book(
    session: Session, agent_ids: Iterable[int], systems: Sequence[str], game_type_id: int
) -> RatingBook:
    """The stored ratings of these agents in these systems, overall and for one game type."""
    book = RatingBook()
    rows = session.execute(
        sa.select(
            Rating.id,
            Rating.agent_id,
            Rating.system,
            Rating.game_type_id,
            Rating.mu,
            Rating.sigma,
            Rating.games,
            Rating.wins,
            Rating.draws,
            Rating.losses,
            Rating.last_game_id,
        ).where(
            Rating.agent_id.in_(sorted(agent_ids)),
            Rating.system.in_(systems),
            sa.or_(Rating.game_type_id.is_(None), Rating.game_type_id == game_type_id),
        )
    )
    for r in rows:
        book.states[(r.system, r.game_type_id, r.agent_id)] = RatingState(
            r.mu, r.sigma, r.games, r.wins, r.draws, r.losses, r.last_game_id, r.id
        )
    return book


RATING_COLUMNS = (
    "agent_id",
    "system",
    "game_type_id",
    "mu",
    "sigma",
    "games",
    "wins",
    "draws",
    "losses",
    "last_game_id",
    "updated_at",
)
EVENT_COLUMNS = (
    "game_id",
    "agent_id",
    "seat",
    "system",
    "game_type_id",
    "mu_before",
    "sigma_before",
    "mu_after",
    "sigma_after",
    "created_at",
)


def _write_book(conn: Connection, book: RatingBook, changes: Sequence[RatingChange]) -> None:
    """Store the changed ratings (UPDATE by id or INSERT) and the events, in rated order."""
    now = utcnow()
    updates: list[dict[str, Any]] = []
    inserts: list[tuple[Any, ...]] = []
    for key in _ordered(book):
        state = book.states[key]
        if state.row_id is None:
            inserts.append(_rating_row(key, state, now))
        else:
            updates.append(
                {
                    "row_id": state.row_id,
                    "mu": state.mu,
                    "sigma": state.sigma,
                    "games": state.games,
                    "wins": state.wins,
                    "draws": state.draws,
                    "losses": state.losses,
                    "last_game_id": state.last_game_id,
                    "updated_at": now,
                }
            )
    if updates:
        conn.execute(sa.update(RATINGS).where(RATINGS.c.id == sa.bindparam("row_id")), updates)
    insert_rows(conn, RATINGS, RATING_COLUMNS, inserts)
    insert_rows(conn, RATING_EVENTS, EVENT_COLUMNS, _event_rows(changes, now))
    book.dirty.clear()


def _ordered(book: RatingBook) -> list[RatingKey]:
    """The changed ratings in a stable order (system, overall first, game type, agent)."""
    return sorted(book.dirty, key=lambda k: (k[0], k[1] is not None, k[1] or 0, k[2]))


def _rating_row(key: RatingKey, state: RatingState, now: datetime) -> tuple[Any, ...]:
    system, scope, agent_id = key
    return (
        agent_id,
        system,
        scope,
        state.mu,
        state.sigma,
        state.games,
        state.wins,
        state.draws,
        state.losses,
        state.last_game_id,
        now,
    )


def _event_rows(changes: Sequence[RatingChange], now: datetime) -> list[tuple[Any, ...]]:
    return [
        (
            c.game_id,
            c.agent_id,
            c.seat,
            c.system,
            c.game_type_id,
            c.mu_before,
            c.sigma_before,
            c.mu_after,
            c.sigma_after,
            now,
        )
        for c in changes
    ]


@dataclass(frozen=True)
class RebuildResult:
    """What `rebuild_ratings` replaced."""

    systems: tuple[str, ...]
    game_type_id: int | None
    games: int
    ratings: int
    events: int
    seconds: float


def shared_first_settings(
    conn: Connection | Session, game_type_id: int | None = None
) -> dict[int, str]:
    """Game type id -> its shared-first rule (one type, or all of them)."""
    query = sa.select(GameType.id, GameType.config)
    if game_type_id is not None:
        query = query.where(GameType.id == game_type_id)
    return {r.id: shared_first_setting(r.config) for r in conn.execute(query)}


def resolve_game_type(conn: Connection | Session, game_type: str | int | None) -> int | None:
    """A game type id from its id, env id or name (`arenadb.catalog.refs`); None stays None."""
    from arenadb.catalog.refs import resolve_game_type_id

    return None if game_type is None else resolve_game_type_id(conn, game_type)


# Counts deleted events into their ratings (migration 0012); a full rebuild has no rating left.
COUNT_DELETED_TRIGGER = "rating_events_count_deleted"


def _delete_every_rating_event_sqlite(conn: Connection) -> None:
    """DELETE FROM rating_events without the row-by-row work its trigger forces on SQLite (a
    table with a trigger loses the truncate optimisation): the trigger is taken off and put back
    from its own text in the same transaction, so it is never missing for anyone else."""
    text = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (COUNT_DELETED_TRIGGER,),
    ).scalar()
    if text is not None:
        conn.exec_driver_sql(f"DROP TRIGGER {COUNT_DELETED_TRIGGER}")
    conn.exec_driver_sql("DELETE FROM rating_events")
    if text is not None:
        conn.exec_driver_sql(text)


def rebuild_ratings(
    engine: Engine,
    *,
    systems: Sequence[str] = DEFAULT_SYSTEMS,
    game_type: str | int | None = None,
    progress: Progress | None = None,
) -> RebuildResult:
    """Delete and recompute ratings and rating events from history, in one transaction.

    Without `game_type`: every scope of `systems` (overall and per game type). With it: only
    that game type's ratings (the overall ones depend on every game and are left alone).
    """
    systems = check_systems(systems)
    started = time.perf_counter()
    from arenadb.db import write_transaction

    # Every event references a game, its type and its agents, all read below under the write
    # lock, which keeps them in place until the commit: SQLite need not look each one up again.
    with write_transaction(engine, check_foreign_keys=False) as conn:
        take_rating_lock(conn)
        game_type_id = resolve_game_type(conn, game_type)
        games = load_rated_history(conn, game_type_id=game_type_id)
        delete_events = sa.delete(RATING_EVENTS).where(RATING_EVENTS.c.system.in_(systems))
        delete_ratings = sa.delete(RATINGS).where(RATINGS.c.system.in_(systems))
        if game_type_id is not None:
            delete_events = delete_events.where(RATING_EVENTS.c.game_type_id == game_type_id)
            delete_ratings = delete_ratings.where(RATINGS.c.game_type_id == game_type_id)
        if game_type_id is None and set(systems) == set(SYSTEMS):
            # Everything goes: TRUNCATE (PostgreSQL; transactional) and an unqualified DELETE
            # (SQLite's truncate optimisation) skip the per-row, per-index work of a DELETE.
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("TRUNCATE rating_events, ratings")  # fires no DELETE trigger
            else:
                conn.exec_driver_sql("DELETE FROM ratings")
                _delete_every_rating_event_sqlite(conn)
        else:
            # Ratings first: the trigger that counts deleted events into their ratings
            # (`ratings.deleted_game_results`, migration 0012) then finds none to update.
            conn.execute(delete_ratings)
            conn.execute(delete_events)
        book = RatingBook(shared_first=shared_first_settings(conn))
        now = utcnow()
        total = len(games)
        events_written = 0
        step = max(1, total // 200)
        with bulk_writer(conn, RATING_EVENTS, EVENT_COLUMNS, background=True) as write_events:
            for done, game in enumerate(games, 1):
                scopes: list[Scope] = (
                    [game_type_id] if game_type_id is not None else [None, game.game_type_id]
                )
                changes = book.apply(game, systems, scopes)
                write_events(_event_rows(changes, now))
                events_written += len(changes)
                if progress is not None and (done % step == 0 or done == total):
                    progress("rated games", done, total)
        rating_rows = [_rating_row(key, book.states[key], now) for key in _ordered(book)]
        insert_rows(conn, RATINGS, RATING_COLUMNS, rating_rows)
    return RebuildResult(
        systems=systems,
        game_type_id=game_type_id,
        games=total,
        ratings=len(book.states),
        events=events_written,
        seconds=time.perf_counter() - started,
    )
