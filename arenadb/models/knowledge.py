"""What agents know: knowledge chunks (retrievable text) and knowledge graphs (nodes and edges).

Chunks are keyed by (source, external_id), and `external_id` is NOT NULL on purpose: in SQL a
NULL never equals another NULL, so a UNIQUE (source, external_id) would let any number of
id-less duplicates in, and `INSERT ... ON CONFLICT (source, external_id)` could never update
them. A chunk that has no natural id gets one derived from its content (see
`arenadb.social.knowledge.content_external_id`), which makes re-importing the same text a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import Base, check_in, created_at_column, never_reused_ids
from arenadb.models.catalog import Agent
from arenadb.models.social import updated_at_column

KNOWLEDGE_GRAPH_TYPES = ("personal", "shared", "global")


class KnowledgeChunk(Base):
    """A piece of text an agent can retrieve, from a named source."""

    __tablename__ = "knowledge_chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(200))
    external_id: Mapped[str] = mapped_column(sa.String(500))
    title: Mapped[str | None] = mapped_column(sa.String(500))
    content: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    __table_args__ = (
        # The upsert key; its index also serves "chunks of a source".
        sa.UniqueConstraint("source", "external_id"),
        # get_knowledge_chunk_by_external_id without a source.
        sa.Index("ix_knowledge_chunks_external_id", "external_id"),
        never_reused_ids(),
    )


class KnowledgeGraph(Base):
    """A graph of what an agent (or everyone) knows, with who else may read it.

    Personal and shared graphs have an owner; a global graph may have none. Readers: see
    `arenadb.social.knowledge.can_access`.
    """

    __tablename__ = "knowledge_graphs"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    owner_agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[str] = mapped_column(sa.String(20), default="personal", server_default="personal")
    description: Mapped[str | None] = mapped_column(sa.Text)
    nodes: Mapped[list[Any]] = mapped_column(default=list)
    edges: Mapped[list[Any]] = mapped_column(default=list)
    is_public: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Ids of the agents that may read the graph besides its owner.
    access_list: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    owner: Mapped[Agent | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(check_in("type", KNOWLEDGE_GRAPH_TYPES), name="type"),
        sa.CheckConstraint(
            "type = 'global' OR owner_agent_id IS NOT NULL", name="owner_unless_global"
        ),
        sa.UniqueConstraint("owner_agent_id", "name"),
        # NULLs are distinct in a UNIQUE constraint: ownerless graphs need their own index.
        sa.Index(
            "uq_knowledge_graphs_ownerless_name",
            "name",
            unique=True,
            sqlite_where=sa.text("owner_agent_id IS NULL"),
            postgresql_where=sa.text("owner_agent_id IS NULL"),
        ),
        never_reused_ids(),
    )
