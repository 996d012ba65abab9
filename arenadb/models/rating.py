"""Agent ratings per rating system and scope, and the audit trail of every change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import Base, created_at_column, utcnow
from arenadb.models.catalog import Agent, GameType

RATING_SYSTEMS = ("trueskill", "openskill")


class Rating(Base):
    """Current rating of an agent in one system, overall (game_type_id NULL) or per game type."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(sa.String(20))
    game_type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("game_types.id", ondelete="CASCADE"), index=True
    )
    mu: Mapped[float]
    sigma: Mapped[float]
    games: Mapped[int] = mapped_column(default=0, server_default="0")
    wins: Mapped[int] = mapped_column(default=0, server_default="0")
    draws: Mapped[int] = mapped_column(default=0, server_default="0")
    losses: Mapped[int] = mapped_column(default=0, server_default="0")
    # Seat results this rating counts whose rating events are gone (their games deleted): kept
    # by the trigger `rating_events_count_deleted` (migration 0012), 0 again after a rebuild.
    deleted_game_results: Mapped[int] = mapped_column(default=0, server_default="0")
    last_game_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("games.id", ondelete="SET NULL"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    agent: Mapped[Agent] = relationship()
    game_type: Mapped[GameType | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("agent_id", "system", "game_type_id"),
        # NULLs are distinct in a UNIQUE constraint, so the overall rating needs its own index.
        sa.Index(
            "uq_ratings_overall",
            "agent_id",
            "system",
            unique=True,
            sqlite_where=sa.text("game_type_id IS NULL"),
            postgresql_where=sa.text("game_type_id IS NULL"),
        ),
        sa.Index("ix_ratings_system_game_type_id_mu", "system", "game_type_id", "mu"),
        sa.CheckConstraint("sigma > 0", name="sigma_positive"),
        sa.CheckConstraint(
            "games >= 0 AND wins >= 0 AND draws >= 0 AND losses >= 0", name="counts_nonnegative"
        ),
        sa.CheckConstraint("deleted_game_results >= 0", name="deleted_game_results_nonnegative"),
    )


class RatingEvent(Base):
    """One rating change caused by one rated game: the audit trail a leaderboard rebuilds from."""

    __tablename__ = "rating_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(sa.ForeignKey("games.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    seat: Mapped[int | None]
    system: Mapped[str] = mapped_column(sa.String(20))
    game_type_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("game_types.id", ondelete="CASCADE"), index=True
    )
    mu_before: Mapped[float]
    sigma_before: Mapped[float]
    mu_after: Mapped[float]
    sigma_after: Mapped[float]
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (sa.Index("ix_rating_events_agent_id_system_id", "agent_id", "system", "id"),)
