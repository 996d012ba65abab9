"""The read side of the library facade: what `Arena` offers to read, as ORM rows.

`Arena` inherits these methods; each opens one read transaction through the Arena's
`read_session()`: on the read replica when one is configured (`ARENADB_READ_URL`), so what a
runner just wrote may not be there yet (read through `arena.session()` to read your own
writes). The CLI reads through `arenadb.inspection.games` and friends instead, which return
plain dataclasses.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from arenadb.catalog import active
from arenadb.errors import NotFoundError
from arenadb.inspection import rows
from arenadb.limits import DEFAULT_LIMIT
from arenadb.models import Agent, AgentKind, Game, GameTurn, GameType, LLMCall, LLMModel, Prompt


class ReadSide:
    """Catalogue and game reads for a class that provides `read_session()` (a session on the
    read replica when one is configured, else on the database)."""

    def read_session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def active_models(self) -> list[LLMModel]:
        with self.read_session() as session:
            return active.active_models(session)

    def active_kinds(self) -> list[AgentKind]:
        with self.read_session() as session:
            return active.active_kinds(session)

    def active_prompts(self, *, latest_only: bool = False) -> list[Prompt]:
        with self.read_session() as session:
            return active.active_prompts(session, latest_only=latest_only)

    def random_agents(self, count: int, *, active_only: bool = True) -> list[Agent]:
        with self.read_session() as session:
            return active.random_agents(session, count, active_only=active_only)

    def games(
        self,
        *,
        status: str | Sequence[str] | None = None,
        winning_side: str | None = None,
        game_type: GameType | int | str | None = None,
        agent: Agent | int | None = None,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[Game]:
        """Games newest first, filtered, one page (`limit`, `offset`) at a time.

        `game_type` is a type id, env id or name; a type that does not exist has no games.
        """
        from arenadb.catalog.refs import resolve_game_type_id
        from arenadb.inspection.filters import GameFilter

        type_id: int | None = None
        with self.read_session() as session:
            if isinstance(game_type, GameType):
                type_id = game_type.id
            elif game_type is not None:
                try:
                    type_id = resolve_game_type_id(session, game_type)
                except NotFoundError:
                    # A runner may ask before it registers the type: nothing played yet.
                    return []
            filters = GameFilter(
                status=status,
                winning_side=winning_side,
                game_type=type_id,
                agent=agent.id if isinstance(agent, Agent) else agent,
            )
            return rows.list_game_rows(session, filters, limit=limit, offset=offset)

    def game(self, game: int | str | uuid_module.UUID) -> Game:
        """One game by id, UUID or unique UUID prefix, with its type and seats' agents loaded."""
        with self.read_session() as session:
            return rows.game_by_ref(session, game)

    def turns(
        self, game: int | str | uuid_module.UUID, *, from_seq: int = 0, with_actions: bool = False
    ) -> list[GameTurn]:
        with self.read_session() as session:
            return rows.game_turns(session, game, from_seq=from_seq, with_actions=with_actions)

    def llm_calls(self, game: int | str | uuid_module.UUID, turn_seq: int) -> list[LLMCall]:
        with self.read_session() as session:
            return rows.turn_llm_calls(session, game, turn_seq)
