"""Get-or-create registration of what plays: LLM models, agent kinds, prompts, agents, game types.

Safe under concurrency: each function first looks the row up; if missing it inserts inside a
SAVEPOINT, and when another process inserted the same row in the meantime (a unique violation)
it rolls the savepoint back and reads the winner's row (`arenadb.db.get_or_create`). No check
between the lookup and the insert raises: the insert decides. The caller's transaction stays
usable.

Prompts are immutable: registering a name with the content it already has returns that row;
registering it with new content creates the next version, forked from the latest one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arenadb.catalog.prices import registered_prices
from arenadb.db.get_or_create import insert_or_fetch
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError
from arenadb.models import Agent, AgentKind, GameType, LLMModel, Prompt
from arenadb.models.catalog import config_hash

T = TypeVar("T")
# Prompt versions can race (two writers forking the same name); retry that many times.
_FORK_ATTEMPTS = 5


def _update_given(obj: Any, values: Mapping[str, Any]) -> None:
    """Set the attributes given (not None) that differ: registration keeps metadata current."""
    for name, value in values.items():
        if value is not None and getattr(obj, name) != value:
            setattr(obj, name, value)


def get_or_create_model(
    session: Session,
    name: str,
    *,
    provider: str | None = None,
    litellm_name: str | None = None,
    input_price_per_mtok: float | None = None,
    output_price_per_mtok: float | None = None,
    active: bool | None = None,
) -> LLMModel:
    """The LLM model called `name`, created if missing; attributes given are kept current."""
    values = {
        "provider": provider,
        "litellm_name": litellm_name,
        "input_price_per_mtok": input_price_per_mtok,
        "output_price_per_mtok": output_price_per_mtok,
        "active": active,
    }

    def fetch() -> LLMModel | None:
        return session.scalars(sa.select(LLMModel).where(LLMModel.name == name)).first()

    model = fetch()
    if model is None:
        model = insert_or_fetch(
            session,
            lambda: LLMModel(name=name, **{k: v for k, v in values.items() if v is not None}),
            fetch,
        )
    _update_given(model, values)
    if input_price_per_mtok is not None or output_price_per_mtok is not None:
        registered_prices(
            session, model, {"input": input_price_per_mtok, "output": output_price_per_mtok}
        )
    return model


def get_or_create_kind(
    session: Session, name: str, *, description: str | None = None, active: bool | None = None
) -> AgentKind:
    """The agent kind called `name`, created if missing."""

    def fetch() -> AgentKind | None:
        return session.scalars(sa.select(AgentKind).where(AgentKind.name == name)).first()

    values = {"description": description, "active": active}
    kind = fetch()
    if kind is None:
        kind = insert_or_fetch(
            session,
            lambda: AgentKind(name=name, **{k: v for k, v in values.items() if v is not None}),
            fetch,
        )
    _update_given(kind, values)
    return kind


def prompt_sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def register_prompt(session: Session, name: str, content: str) -> Prompt:
    """The prompt `name` with exactly this content: the existing version, or a new fork.

    Example: registering ("mafia", "v1 text") twice returns version 1 both times; then
    ("mafia", "v2 text") returns version 2 with `forked_from_id` = version 1's id.
    """
    if not name:
        raise InvalidDataError("a prompt needs a name")
    digest = prompt_sha256(content)

    def fetch() -> Prompt | None:
        return session.scalars(
            sa.select(Prompt).where(Prompt.name == name, Prompt.sha256 == digest)
        ).first()

    for _ in range(_FORK_ATTEMPTS):
        found = fetch()
        if found is not None:
            return found
        latest = session.scalars(
            sa.select(Prompt).where(Prompt.name == name).order_by(Prompt.version.desc()).limit(1)
        ).first()
        try:
            with session.begin_nested():
                prompt = Prompt(
                    name=name,
                    version=latest.version + 1 if latest else 1,
                    content=content,
                    sha256=digest,
                    forked_from_id=latest.id if latest else None,
                )
                session.add(prompt)
            return prompt
        except IntegrityError:
            # Someone registered this content, or took this version number: look again.
            continue
    raise ConflictError(f"could not register prompt {name!r}: too many concurrent versions")


def _resolve(session: Session, cls: type[T], value: Any, what: str) -> T:
    if isinstance(value, cls):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        found = session.get(cls, value)
        if found is None:
            raise NotFoundError(f"{what} {value} not found")
        return found
    raise InvalidDataError(f"{what} must be a {cls.__name__}, an id or a name, not {value!r}")


def get_or_create_agent(
    session: Session,
    *,
    kind: AgentKind | int | str,
    model: LLMModel | int | str,
    prompt: Prompt | int,
    alias: str | None = None,
    agent_class: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> Agent:
    """The agent for (kind, model, prompt, config), created if missing. Names create kinds and
    models. The config is part of the identity (by its hash): two temperatures, two agents."""
    kind_row = (
        get_or_create_kind(session, kind)
        if isinstance(kind, str)
        else _resolve(session, AgentKind, kind, "agent kind")
    )
    model_row = (
        get_or_create_model(session, model)
        if isinstance(model, str)
        else _resolve(session, LLMModel, model, "LLM model")
    )
    prompt_row = _resolve(session, Prompt, prompt, "prompt")
    digest = config_hash(config)

    def fetch() -> Agent | None:
        return session.scalars(
            sa.select(Agent).where(
                Agent.kind_id == kind_row.id,
                Agent.model_id == model_row.id,
                Agent.prompt_id == prompt_row.id,
                Agent.config_hash == digest,
            )
        ).first()

    agent = fetch()
    if agent is None:
        agent = insert_or_fetch(
            session,
            lambda: Agent(
                kind_id=kind_row.id,
                model_id=model_row.id,
                prompt_id=prompt_row.id,
                alias=alias,
                agent_class=agent_class,
                config=dict(config) if config is not None else None,
                config_hash=digest,
            ),
            fetch,
            conflict=lambda: ConflictError(
                f"agent alias {alias!r} is already taken by another agent"
            ),
        )
    elif alias is not None and agent.alias is None:
        agent.alias = alias
    elif alias is not None and agent.alias != alias:
        raise ConflictError(
            f"agent {agent.id} ({kind_row.name}, {model_row.name}, prompt {prompt_row.id}) "
            f"is already registered as {agent.alias!r}, not {alias!r}"
        )
    # Eager relations for callers that use the agent after the session ends.
    agent.kind, agent.model, agent.prompt = kind_row, model_row, prompt_row
    return agent


def get_or_create_game_type(
    session: Session,
    env_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    min_seats: int | None = None,
    max_seats: int | None = None,
    sides: list[Any] | None = None,
    roles: list[Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> GameType:
    """The game type `env_id` (e.g. "SecretMafia-v0"), created if missing.

    Registering it again updates the attributes given (not None) that changed, sides and roles
    included. Games already played keep their seats, sides and results: a type describes the
    games started from now on (`start_game` checks seats against it).
    """
    if min_seats is not None and max_seats is not None and max_seats < min_seats:
        raise InvalidDataError(f"game type {env_id}: max_seats {max_seats} < min_seats {min_seats}")

    def fetch() -> GameType | None:
        return session.scalars(sa.select(GameType).where(GameType.env_id == env_id)).first()

    values: dict[str, Any] = {
        "name": name,
        "description": description,
        "min_seats": min_seats,
        "max_seats": max_seats,
        "sides": list(sides) if sides is not None else None,
        "roles": list(roles) if roles is not None else None,
        "config": dict(config) if config is not None else None,
    }
    found = fetch()
    if found is not None:
        _update_given(found, values)
        if found.max_seats < found.min_seats:
            # One bound given: the other follows it rather than making the range empty.
            if max_seats is None:
                found.max_seats = found.min_seats
            else:
                found.min_seats = found.max_seats
        return found
    low = min_seats if min_seats is not None else (max_seats or 2)
    high = max_seats if max_seats is not None else max(low, 2)
    values.update(min_seats=low, max_seats=max(high, low))
    return insert_or_fetch(
        session,
        lambda: GameType(env_id=env_id, **{k: v for k, v in values.items() if v is not None}),
        fetch,
    )
