"""Test data for the social tests: agents (with their model, kind and prompt) and games."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.models import Agent, AgentKind, Game, GameType, LLMModel, Prompt


def make_agents(session: Session, aliases: Iterable[str]) -> dict[str, int]:
    """One agent per alias (same model and kind, one prompt each); alias -> id."""
    model = session.scalar(sa.select(LLMModel).where(LLMModel.name == "test-model"))
    if model is None:
        model = LLMModel(name="test-model", provider="test")
        kind = AgentKind(name="test-kind")
        session.add_all([model, kind])
        session.flush()
    kind = session.scalars(sa.select(AgentKind).where(AgentKind.name == "test-kind")).one()
    ids: dict[str, int] = {}
    for alias in aliases:
        content = f"You are {alias}."
        prompt = Prompt(
            name=alias, content=content, sha256=hashlib.sha256(content.encode()).hexdigest()
        )
        session.add(prompt)
        session.flush()
        agent = Agent(kind_id=kind.id, model_id=model.id, prompt_id=prompt.id, alias=alias)
        session.add(agent)
        session.flush()
        ids[alias] = agent.id
    return ids


def make_game(session: Session) -> int:
    game_type = session.scalar(sa.select(GameType).where(GameType.env_id == "SecretMafia-v0"))
    if game_type is None:
        game_type = GameType(env_id="SecretMafia-v0", min_seats=6, max_seats=6)
        session.add(game_type)
        session.flush()
    game = Game(game_type_id=game_type.id, status="running")
    session.add(game)
    session.flush()
    return game.id
