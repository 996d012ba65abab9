"""Who won a game that names no winning side: the agent(s) ranked first (1v1, free-for-all)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.models import Agent, GamePlayer


def agent_label(alias: str | None, agent_id: int) -> str:
    """How an agent is named in listings: its alias, else `agent N`."""
    return alias or f"agent {agent_id}"


def game_winners(conn: Connection, game_ids: Sequence[int]) -> dict[int, str]:
    """game id -> the agents of its seats ranked 1 (joined by ", "); games without ranks are
    left out. One query for a whole page of games."""
    if not game_ids:
        return {}
    rows = conn.execute(
        sa.select(GamePlayer.game_id, GamePlayer.agent_id, Agent.alias)
        .join(Agent.__table__, Agent.id == GamePlayer.agent_id)
        .where(GamePlayer.game_id.in_(list(game_ids)), GamePlayer.rank == 1)
        .order_by(GamePlayer.game_id, GamePlayer.seat)
    ).all()
    names: dict[int, list[str]] = {}
    for game_id, agent_id, alias in rows:
        label = agent_label(alias, agent_id)
        seen = names.setdefault(game_id, [])
        if label not in seen:
            seen.append(label)
    return {game_id: ", ".join(labels) for game_id, labels in names.items()}
