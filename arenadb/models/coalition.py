"""Coalitions of agents: a goal, rules, a status and a shared value pool, with members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import Base, UTCDateTime, check_in, created_at_column, never_reused_ids
from arenadb.models.catalog import Agent
from arenadb.models.social import updated_at_column

COALITION_STATUSES = ("forming", "active", "suspended", "dissolved")


class Coalition(Base):
    """Agents that agreed to pursue a goal together and pool what they earn."""

    __tablename__ = "coalitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    goal: Mapped[str | None] = mapped_column(sa.Text)
    rules: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(sa.String(20), default="forming", server_default="forming")
    value_pool: Mapped[float] = mapped_column(default=0.0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    dissolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    members: Mapped[list[CoalitionMember]] = relationship(
        back_populates="coalition",
        order_by="CoalitionMember.joined_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        sa.CheckConstraint(check_in("status", COALITION_STATUSES), name="status"),
        sa.CheckConstraint("value_pool >= 0", name="value_pool_nonnegative"),
        sa.CheckConstraint(
            "(status = 'dissolved') = (dissolved_at IS NOT NULL)", name="dissolved_at_iff_dissolved"
        ),
        sa.Index("ix_coalitions_status_id", "status", "id"),
        never_reused_ids(),
    )


class CoalitionMember(Base):
    """An agent in a coalition, with its role and what it has put into the pool."""

    __tablename__ = "coalition_members"

    coalition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("coalitions.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # "leader", "member", ...: free-form.
    role: Mapped[str] = mapped_column(sa.String(50), default="member", server_default="member")
    contribution: Mapped[float] = mapped_column(default=0.0, server_default="0")
    joined_at: Mapped[datetime] = created_at_column()

    coalition: Mapped[Coalition] = relationship(back_populates="members")
    agent: Mapped[Agent] = relationship()

    __table_args__ = (sa.CheckConstraint("contribution >= 0", name="contribution_nonnegative"),)
