"""The read side as ORM objects, for runner code that holds an `Arena` and wants relations.

The same references (`arenadb.catalog.refs`) and the same filter (`GameFilter`) as the
dataclass views in `games.py`; only the shape of the result differs. Every function takes a
Session and returns objects that stay usable after it ends (sessions are created with
expire_on_commit=False; relations a caller needs are loaded eagerly).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from arenadb.catalog.refs import (
    GameRef,
    game_candidates_limit,
    game_condition,
    one_game,
    resolve_game_id,
)
from arenadb.errors import InvalidArgumentError
from arenadb.inspection.filters import GameFilter, game_conditions, newest_first
from arenadb.limits import DEFAULT_LIMIT
from arenadb.models import Game, GamePlayer, GameTurn, LLMCall


def game_by_ref(session: Session, ref: GameRef, *, with_relations: bool = True) -> Game:
    """One game by id, UUID or unique UUID prefix; with its type and seats (and their agents).

    Relations are loaded with one SELECT ... IN per relation (no query per seat).
    """
    condition, label = game_condition(ref)
    query = sa.select(Game).where(condition).order_by(Game.uuid).limit(game_candidates_limit())
    if with_relations:
        query = query.options(
            selectinload(Game.game_type),
            selectinload(Game.players).selectinload(GamePlayer.agent),
        )
    game: Game = one_game(list(session.scalars(query)), label)
    return game


def list_game_rows(
    session: Session,
    filters: GameFilter | None = None,
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Game]:
    """Games newest first that match `filters`, one page at a time, with their type loaded."""
    if limit < 0 or offset < 0:
        raise InvalidArgumentError("limit and offset must not be negative")
    filters = filters or GameFilter()
    query = (
        sa.select(Game)
        .options(selectinload(Game.game_type))
        .where(*game_conditions(session, filters))
        .order_by(*newest_first(filters))
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


def game_turns(
    session: Session, ref: GameRef, *, from_seq: int = 0, with_actions: bool = False
) -> list[GameTurn]:
    """A game's turns in order (from `from_seq` on), optionally with their player actions."""
    game_id = _game_id(session, ref)
    query = (
        sa.select(GameTurn)
        .where(GameTurn.game_id == game_id, GameTurn.seq >= from_seq)
        .order_by(GameTurn.seq)
    )
    if with_actions:
        query = query.options(selectinload(GameTurn.actions))
    return list(session.scalars(query))


def turn_llm_calls(session: Session, ref: GameRef, turn_seq: int) -> list[LLMCall]:
    """The LLM call attempts of one turn, in the order they were recorded."""
    game_id = _game_id(session, ref)
    return list(
        session.scalars(
            sa.select(LLMCall)
            .where(LLMCall.game_id == game_id, LLMCall.turn_seq == turn_seq)
            .order_by(LLMCall.id)
        )
    )


def _game_id(session: Session, ref: GameRef) -> int:
    # An integer is taken as it is (no lookup): a runner passes the ids it was given, and an
    # unknown id simply has no turns.
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    return resolve_game_id(session, ref)
