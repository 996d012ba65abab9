"""The read side of the recorded arena: what the predecessor repository offered, without N+1.

Every function takes a Session and returns ORM objects that stay usable after the session ends
(sessions are created with expire_on_commit=False; relations a caller needs are loaded eagerly).
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from arenadb.errors import InvalidDataError, NotFoundError
from arenadb.models import (
    GAME_STATUSES,
    Agent,
    AgentKind,
    Game,
    GamePlayer,
    GameTurn,
    LLMCall,
    LLMModel,
    Prompt,
)

GameRef = int | str | uuid_module.UUID


def _game_condition(ref: GameRef) -> sa.ColumnElement[bool]:
    """`ref` is an integer id, a UUID, or a string holding either."""
    if isinstance(ref, bool):
        raise InvalidDataError(f"not a game id or uuid: {ref!r}")
    if isinstance(ref, int):
        return Game.id == ref
    if isinstance(ref, uuid_module.UUID):
        return Game.uuid == ref
    text = str(ref).strip()
    if text.isdigit():
        return Game.id == int(text)
    try:
        return Game.uuid == uuid_module.UUID(text)
    except ValueError:
        raise InvalidDataError(f"not a game id or uuid: {ref!r}") from None


def game_by_ref(session: Session, ref: GameRef, *, with_relations: bool = True) -> Game:
    """One game by id or uuid; with its type, seats (and their agents) and snapshots' metadata.

    Relations are loaded with one SELECT ... IN per relation (no query per seat).
    """
    query = sa.select(Game).where(_game_condition(ref))
    if with_relations:
        query = query.options(
            selectinload(Game.game_type),
            selectinload(Game.players).selectinload(GamePlayer.agent),
        )
    game = session.scalars(query).first()
    if game is None:
        raise NotFoundError(f"game {ref} not found")
    return game


def active_models(session: Session) -> list[LLMModel]:
    return list(session.scalars(sa.select(LLMModel).where(LLMModel.active).order_by(LLMModel.name)))


def active_kinds(session: Session) -> list[AgentKind]:
    return list(
        session.scalars(sa.select(AgentKind).where(AgentKind.active).order_by(AgentKind.name))
    )


def active_prompts(session: Session, *, latest_only: bool = False) -> list[Prompt]:
    """Active prompts by name and version; `latest_only` keeps the newest version of each name."""
    query = sa.select(Prompt).where(Prompt.active)
    if latest_only:
        newest = (
            sa.select(Prompt.name, sa.func.max(Prompt.version).label("version"))
            .where(Prompt.active)
            .group_by(Prompt.name)
            .subquery()
        )
        query = query.join(
            newest, sa.and_(Prompt.name == newest.c.name, Prompt.version == newest.c.version)
        )
    return list(session.scalars(query.order_by(Prompt.name, Prompt.version)))


def random_agents(session: Session, count: int, *, active_only: bool = True) -> list[Agent]:
    """`count` distinct agents picked at random (fewer if fewer exist)."""
    if count < 0:
        raise InvalidDataError("count must not be negative")
    query = sa.select(Agent)
    if active_only:
        query = query.where(Agent.active)
    return list(session.scalars(query.order_by(sa.func.random()).limit(count)))


def list_games(
    session: Session,
    *,
    status: str | Sequence[str] | None = None,
    winning_side: str | None = None,
    game_type_id: int | None = None,
    agent_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Game]:
    """Games newest first, filtered by status / winning side / type / agent, one page at a time."""
    if limit < 0 or offset < 0:
        raise InvalidDataError("limit and offset must not be negative")
    query = sa.select(Game).options(selectinload(Game.game_type))
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        unknown = [s for s in statuses if s not in GAME_STATUSES]
        if unknown:
            raise InvalidDataError(f"unknown game status {unknown[0]!r}: one of {GAME_STATUSES}")
        query = query.where(Game.status.in_(statuses))
    if winning_side is not None:
        query = query.where(Game.winning_side == winning_side)
    if game_type_id is not None:
        query = query.where(Game.game_type_id == game_type_id)
    if agent_id is not None:
        query = query.where(
            Game.id.in_(sa.select(GamePlayer.game_id).where(GamePlayer.agent_id == agent_id))
        )
    return list(session.scalars(query.order_by(Game.id.desc()).limit(limit).offset(offset)))


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
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref
    found = session.execute(sa.select(Game.id).where(_game_condition(ref))).scalar()
    if found is None:
        raise NotFoundError(f"game {ref} not found")
    return int(found)
