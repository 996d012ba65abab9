"""System logs: write one, list them newest first by level, component or what they are about.

write_system_log(session, "agent timed out twice", level="warning", component="runner",
                 agent_id=7, game_id=4812, context={"timeout_s": 30})
errors = list_system_logs(session, min_level="error", game_id=4812)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.db.paging import DEFAULT_LIMIT, check_choice, paged
from arenadb.models import LOG_LEVELS, SystemLog


def write_system_log(
    session: Session,
    message: str,
    *,
    level: str = "info",
    component: str | None = None,
    context: dict[str, Any] | None = None,
    agent_id: int | None = None,
    conversation_id: int | None = None,
    coalition_id: int | None = None,
    game_id: int | None = None,
) -> SystemLog:
    """Record one log line (flushed, so it has its id)."""
    log = SystemLog(
        message=message,
        level=check_choice("log level", level, LOG_LEVELS),
        component=component,
        context=context,
        agent_id=agent_id,
        conversation_id=conversation_id,
        coalition_id=coalition_id,
        game_id=game_id,
    )
    session.add(log)
    session.flush()
    return log


def list_system_logs(
    session: Session,
    *,
    level: str | None = None,
    min_level: str | None = None,
    component: str | None = None,
    agent_id: int | None = None,
    conversation_id: int | None = None,
    coalition_id: int | None = None,
    game_id: int | None = None,
    since: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[SystemLog]:
    """Logs, newest first. `min_level="warning"` keeps warning, error and critical."""
    stmt = sa.select(SystemLog)
    if level is not None:
        stmt = stmt.where(SystemLog.level == check_choice("log level", level, LOG_LEVELS))
    if min_level is not None:
        start = LOG_LEVELS.index(check_choice("log level", min_level, LOG_LEVELS))
        stmt = stmt.where(SystemLog.level.in_(LOG_LEVELS[start:]))
    for column, value in (
        (SystemLog.component, component),
        (SystemLog.agent_id, agent_id),
        (SystemLog.conversation_id, conversation_id),
        (SystemLog.coalition_id, coalition_id),
        (SystemLog.game_id, game_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(SystemLog.created_at >= since)
    return list(session.scalars(paged(stmt.order_by(SystemLog.id.desc()), limit, offset)))
