"""System logs: what happened, at what level, linked to whatever it was about.

The links are SET NULL on delete: a log outlives what it describes (the message and the context
JSON still say what it was).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from arenadb.models.base import Base, check_in, created_at_column

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SystemLog(Base):
    """One log line, with structured context."""

    __tablename__ = "system_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = created_at_column()
    level: Mapped[str] = mapped_column(sa.String(10), default="info", server_default="info")
    # Which part of the system wrote it ("runner", "matchmaker", ...).
    component: Mapped[str | None] = mapped_column(sa.String(100))
    message: Mapped[str] = mapped_column(sa.Text)
    context: Mapped[dict[str, Any] | None]
    agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    coalition_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("coalitions.id", ondelete="SET NULL"), index=True
    )
    game_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("games.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        sa.CheckConstraint(check_in("level", LOG_LEVELS), name="level"),
        sa.Index("ix_system_logs_created_at", "created_at"),
        sa.Index("ix_system_logs_level_id", "level", "id"),
        sa.Index("ix_system_logs_component_id", "component", "id"),
    )
