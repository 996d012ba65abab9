"""The catalogue as one Arena sees it: registration, and the ids and prices it looks up, cached.

A runner names a game type by env id and a model by name on every game and every LLM call; the
Arena answers from these caches after the first lookup. Registration goes through here (one
write transaction each, `arenadb.catalog.registration`) so that it keeps them current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from arenadb.catalog import registration as registry
from arenadb.catalog.prices import PriceHistory, price_history
from arenadb.errors import InvalidDataError, NotFoundError
from arenadb.models import Agent, AgentKind, GameType, LLMModel, Prompt


class CachedCatalog:
    """Registration of models, kinds, prompts, game types and agents; game type ids, model ids
    and model prices, each read from the database once."""

    def __init__(self, session: Callable[..., AbstractContextManager[Session]]) -> None:
        # `session()` is one transaction on the primary (the runner reads its own writes);
        # `session(write=True)` a write transaction.
        self._session = session
        self._game_type_ids: dict[str, int] = {}
        self._model_ids: dict[str, int] = {}
        self._prices: dict[int, PriceHistory] = {}

    # -- registration -----------------------------------------------------------------------

    def register_model(self, name: str, **attributes: Any) -> LLMModel:
        with self._session(write=True) as session:
            model = registry.get_or_create_model(session, name, **attributes)
        self._model_ids[model.name] = model.id
        self._prices.pop(model.id, None)
        return model

    def register_kind(self, name: str, **attributes: Any) -> AgentKind:
        with self._session(write=True) as session:
            return registry.get_or_create_kind(session, name, **attributes)

    def register_prompt(self, name: str, content: str) -> Prompt:
        with self._session(write=True) as session:
            return registry.register_prompt(session, name, content)

    def register_game_type(self, env_id: str, **attributes: Any) -> GameType:
        with self._session(write=True) as session:
            game_type = registry.get_or_create_game_type(session, env_id, **attributes)
        self._game_type_ids[env_id] = game_type.id
        return game_type

    def register_agent(
        self,
        *,
        model: LLMModel | int | str,
        kind: AgentKind | int | str,
        prompt: Prompt | int | tuple[str, str],
        alias: str | None = None,
        agent_class: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Agent:
        """The agent, with the kind, model and prompt it names, in one transaction."""
        with self._session(write=True) as session:
            if isinstance(prompt, tuple):
                prompt = registry.register_prompt(session, *prompt)
            agent = registry.get_or_create_agent(
                session,
                kind=kind,
                model=model,
                prompt=prompt,
                alias=alias,
                agent_class=agent_class,
                config=config,
            )
        self._model_ids[agent.model.name] = agent.model_id
        return agent

    # -- lookups ----------------------------------------------------------------------------

    def game_type_id(self, game_type: GameType | int | str, seats: int = 2) -> int:
        """The id of a game type; an env id that is not registered yet is registered."""
        if isinstance(game_type, GameType):
            return game_type.id
        if not isinstance(game_type, str):
            if isinstance(game_type, bool) or not isinstance(game_type, int):
                raise InvalidDataError(f"not a game type: {game_type!r}")
            return game_type
        found = self._game_type_ids.get(game_type)
        if found is None:
            from arenadb.catalog.refs import resolve_game_type_id

            try:
                with self._session() as session:
                    found = resolve_game_type_id(session, game_type)
            except NotFoundError:
                # A runner may start a game of a type it never registered: seated as started.
                found = self.register_game_type(game_type, min_seats=seats, max_seats=seats).id
            self._game_type_ids[game_type] = found
        return found

    def model_id(self, model: LLMModel | int | str | Any) -> int:
        """The id of an LLM model given as object, id, or registered name."""
        if isinstance(model, LLMModel):
            return model.id
        if isinstance(model, int) and not isinstance(model, bool):
            return model
        if not isinstance(model, str):
            raise InvalidDataError(f"model must be an LLMModel, an id or a name, not {model!r}")
        found = self._model_ids.get(model)
        if found is None:
            from arenadb.catalog.refs import resolve_model_id

            with self._session() as session:
                found = resolve_model_id(session, model)
            self._model_ids[model] = found
        return found

    def model_prices(self, model_id: int) -> PriceHistory:
        """A model's dated prices (per million tokens), read once."""
        prices = self._prices.get(model_id)
        if prices is None:
            with self._session() as session:
                if session.get(LLMModel, model_id) is None:
                    raise NotFoundError(f"LLM model {model_id} not found")
                prices = price_history(session, model_id)
            self._prices[model_id] = prices
        return prices
