"""The active part of the catalog, as ORM rows a runner passes back to `Arena.start_game`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.errors import InvalidArgumentError
from arenadb.models import Agent, AgentKind, LLMModel, Prompt


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
        raise InvalidArgumentError("count must not be negative")
    query = sa.select(Agent)
    if active_only:
        query = query.where(Agent.active)
    return list(session.scalars(query.order_by(sa.func.random()).limit(count)))
