"""Agents as `agents list` shows them: kind, model, prompt, rated games, last game, rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.catalog.refs import ModelRef, resolve_model_id
from arenadb.inspection.filters import DEFAULT_RATING_SYSTEM
from arenadb.limits import DEFAULT_LIMIT, check_page
from arenadb.models import Agent, AgentKind, GamePlayer, LLMModel, Prompt, Rating


@dataclass
class AgentSummary:
    """One line of `agents list`."""

    id: int
    alias: str | None
    kind: str
    model: str
    prompt: str
    prompt_version: int
    agent_class: str | None
    active: bool
    rated_games: int
    last_game_id: int | None
    rating_mu: float | None
    rating_sigma: float | None
    created_at: datetime | None


def list_agents(
    engine: Engine,
    *,
    model: ModelRef | None = None,
    kind: str | None = None,
    active: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    system: str = DEFAULT_RATING_SYSTEM,
) -> list[AgentSummary]:
    """Agents by id, with kind, model, prompt, rated games, last game and overall rating.

    Games are counted by the rating (`rated_games`), not by counting seats: a count would grow
    with the history, while this page must cost the same on any database size.
    """
    check_page(limit, offset)
    a = Agent.__table__
    # One probe of the (agent_id, game_id) index per agent.
    last_game = (
        sa.select(GamePlayer.game_id)
        .where(GamePlayer.agent_id == a.c.id)
        .order_by(GamePlayer.game_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rating = Rating.__table__
    query = (
        sa.select(
            a.c.id,
            a.c.alias,
            AgentKind.name.label("kind"),
            LLMModel.name.label("model"),
            Prompt.name.label("prompt"),
            Prompt.version.label("prompt_version"),
            a.c.agent_class,
            a.c.active,
            rating.c.games.label("rated_games"),
            last_game.label("last_game_id"),
            rating.c.mu,
            rating.c.sigma,
            a.c.created_at,
        )
        .join(AgentKind.__table__, AgentKind.id == a.c.kind_id)
        .join(LLMModel.__table__, LLMModel.id == a.c.model_id)
        .join(Prompt.__table__, Prompt.id == a.c.prompt_id)
        .outerjoin(
            rating,
            sa.and_(
                rating.c.agent_id == a.c.id,
                rating.c.system == system,
                rating.c.game_type_id.is_(None),
            ),
        )
        .order_by(a.c.id)
        .limit(limit)
        .offset(offset)
    )
    if kind is not None:
        query = query.where(AgentKind.name == kind)
    if active is not None:
        query = query.where(a.c.active.is_(active))
    with engine.connect() as conn:
        if model is not None:
            query = query.where(a.c.model_id == resolve_model_id(conn, model))
        rows = conn.execute(query).all()
    return [
        AgentSummary(
            id=r.id,
            alias=r.alias,
            kind=r.kind,
            model=r.model,
            prompt=r.prompt,
            prompt_version=r.prompt_version,
            agent_class=r.agent_class,
            active=bool(r.active),
            rated_games=int(r.rated_games or 0),
            last_game_id=r.last_game_id,
            rating_mu=r.mu,
            rating_sigma=r.sigma,
            created_at=r.created_at,
        )
        for r in rows
    ]
