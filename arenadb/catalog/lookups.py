"""Ids of game types and models, and model prices, looked up once per Arena.

A runner names a game type by env id and a model by name on every game and every LLM call; the
Arena answers from these caches after the first lookup. Registration through the Arena keeps
them current (`remember_*`, `forget_prices`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from arenadb.catalog.prices import PriceHistory, price_history
from arenadb.errors import InvalidDataError, NotFoundError
from arenadb.models import GameType, LLMModel


class CatalogLookups:
    """Game type ids, model ids and model prices, each read from the database once."""

    def __init__(
        self,
        session: Callable[[], AbstractContextManager[Session]],
        register_game_type: Callable[..., GameType],
    ) -> None:
        # `session()` opens a read transaction; `register_game_type(env_id, min_seats=,
        # max_seats=)` registers a type a runner starts a game of before registering it.
        self._session = session
        self._register_game_type = register_game_type
        self._game_type_ids: dict[str, int] = {}
        self._model_ids: dict[str, int] = {}
        self._prices: dict[int, PriceHistory] = {}

    def remember_game_type(self, env_id: str, game_type_id: int) -> None:
        self._game_type_ids[env_id] = game_type_id

    def remember_model(self, name: str, model_id: int) -> None:
        self._model_ids[name] = model_id

    def forget_prices(self, model_id: int) -> None:
        self._prices.pop(model_id, None)

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
                registered = self._register_game_type(game_type, min_seats=seats, max_seats=seats)
                found = registered.id
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
