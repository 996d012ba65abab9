"""Deprecated: the read side moved (this path works for one release, with a warning).

`game_by_ref`, `game_turns`, `turn_llm_calls`: `arenadb.inspection.rows`;
`list_games(session, ...)`: `arenadb.inspection.rows.list_game_rows` with a `GameFilter`;
`active_models`, `active_kinds`, `active_prompts`, `random_agents`: `arenadb.catalog.active`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from arenadb.limits import DEFAULT_LIMIT
from arenadb.models import Game

_MOVED = {
    "game_by_ref": "arenadb.inspection.rows",
    "game_turns": "arenadb.inspection.rows",
    "turn_llm_calls": "arenadb.inspection.rows",
    "active_models": "arenadb.catalog.active",
    "active_kinds": "arenadb.catalog.active",
    "active_prompts": "arenadb.catalog.active",
    "random_agents": "arenadb.catalog.active",
}


def list_games(
    session: Session,
    *,
    status: str | Sequence[str] | None = None,
    winning_side: str | None = None,
    game_type_id: int | None = None,
    agent_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Game]:
    """Deprecated: `arenadb.inspection.rows.list_game_rows(session, GameFilter(...))`."""
    from arenadb.inspection.filters import GameFilter
    from arenadb.inspection.rows import list_game_rows

    warnings.warn(
        "arenadb.inspection.queries.list_games moved to arenadb.inspection.rows.list_game_rows",
        DeprecationWarning,
        stacklevel=2,
    )
    filters = GameFilter(
        status=status, winning_side=winning_side, game_type=game_type_id, agent=agent_id
    )
    return list_game_rows(session, filters, limit=limit, offset=offset)


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    warnings.warn(
        f"arenadb.inspection.queries.{name} moved to {module}.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
