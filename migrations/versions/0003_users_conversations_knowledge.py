"""users, conversations (participants, messages), knowledge chunks and graphs, coalitions
(members), system logs.

Revision ID: 0003
Revises: 0002

Only creates tables.
Create Date: 2026-11-22 17:35:17.397640
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on PostgreSQL, JSON (text) elsewhere; the same type the models declare.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coalitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.Text(), nullable=True),
        sa.Column("rules", JSON, nullable=True),
        sa.Column("status", sa.String(length=20), server_default="forming", nullable=False),
        sa.Column("value_pool", sa.Double(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("dissolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'dissolved') = (dissolved_at IS NOT NULL)",
            name=op.f("ck_coalitions_dissolved_at_iff_dissolved"),
        ),
        sa.CheckConstraint(
            "status IN ('forming', 'active', 'suspended', 'dissolved')",
            name=op.f("ck_coalitions_status"),
        ),
        sa.CheckConstraint("value_pool >= 0", name=op.f("ck_coalitions_value_pool_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coalitions")),
        sa.UniqueConstraint("name", name=op.f("uq_coalitions_name")),
    )
    with op.batch_alter_table("coalitions", schema=None) as batch_op:
        batch_op.create_index("ix_coalitions_status_id", ["status", "id"], unique=False)

    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("meta", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_chunks")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_knowledge_chunks_source_external_id")
        ),
    )
    with op.batch_alter_table("knowledge_chunks", schema=None) as batch_op:
        batch_op.create_index("ix_knowledge_chunks_external_id", ["external_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("external_id", name=op.f("uq_users_external_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_users_uuid")),
    )
    op.create_table(
        "coalition_members",
        sa.Column("coalition_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=50), server_default="member", nullable=False),
        sa.Column("contribution", sa.Double(), server_default="0", nullable=False),
        sa.Column(
            "joined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "contribution >= 0", name=op.f("ck_coalition_members_contribution_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_coalition_members_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["coalition_id"],
            ["coalitions.id"],
            name=op.f("fk_coalition_members_coalition_id_coalitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("coalition_id", "agent_id", name=op.f("pk_coalition_members")),
    )
    with op.batch_alter_table("coalition_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coalition_members_agent_id"), ["agent_id"], unique=False
        )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=20), server_default="group", nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("game_id", sa.Integer(), nullable=True),
        sa.Column("meta", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'archived')", name=op.f("ck_conversations_status")
        ),
        sa.CheckConstraint(
            "type IN ('direct', 'group', 'broadcast', 'system')", name=op.f("ck_conversations_type")
        ),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_conversations_game_id_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("uuid", name=op.f("uq_conversations_uuid")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversations_game_id"), ["game_id"], unique=False)
        batch_op.create_index("ix_conversations_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_conversations_type_id", ["type", "id"], unique=False)
        batch_op.create_index(
            "ix_conversations_user_id_status_id", ["user_id", "status", "id"], unique=False
        )

    op.create_table(
        "knowledge_graphs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("owner_agent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), server_default="personal", nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("nodes", JSON, nullable=False),
        sa.Column("edges", JSON, nullable=False),
        sa.Column("is_public", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("access_list", JSON, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "type = 'global' OR owner_agent_id IS NOT NULL",
            name=op.f("ck_knowledge_graphs_owner_unless_global"),
        ),
        sa.CheckConstraint(
            "type IN ('personal', 'shared', 'global')", name=op.f("ck_knowledge_graphs_type")
        ),
        sa.ForeignKeyConstraint(
            ["owner_agent_id"],
            ["agents.id"],
            name=op.f("fk_knowledge_graphs_owner_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_graphs")),
        sa.UniqueConstraint(
            "owner_agent_id", "name", name=op.f("uq_knowledge_graphs_owner_agent_id_name")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_knowledge_graphs_uuid")),
    )
    with op.batch_alter_table("knowledge_graphs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_graphs_owner_agent_id"), ["owner_agent_id"], unique=False
        )
        batch_op.create_index(
            "uq_knowledge_graphs_ownerless_name",
            ["name"],
            unique=True,
            sqlite_where=sa.text("owner_agent_id IS NULL"),
            postgresql_where=sa.text("owner_agent_id IS NULL"),
        )

    op.create_table(
        "conversation_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column(
            "joined_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(agent_id IS NOT NULL AND user_id IS NULL) OR (agent_id IS NULL AND user_id IS NOT NULL)",
            name=op.f("ck_conversation_participants_agent_xor_user"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_conversation_participants_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_participants_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversation_participants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_participants")),
        sa.UniqueConstraint(
            "conversation_id",
            "agent_id",
            name=op.f("uq_conversation_participants_conversation_id_agent_id"),
        ),
        sa.UniqueConstraint(
            "conversation_id",
            "user_id",
            name=op.f("uq_conversation_participants_conversation_id_user_id"),
        ),
    )
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversation_participants_agent_id"), ["agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_conversation_participants_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender_type", sa.String(length=20), nullable=False),
        sa.Column("sender_agent_id", sa.Integer(), nullable=True),
        sa.Column("sender_user_id", sa.Integer(), nullable=True),
        sa.Column("message_type", sa.String(length=50), server_default="text", nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("meta", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(sender_type = 'agent' AND sender_agent_id IS NOT NULL AND sender_user_id IS NULL) OR (sender_type = 'user' AND sender_user_id IS NOT NULL AND sender_agent_id IS NULL) OR (sender_type = 'system' AND sender_agent_id IS NULL AND sender_user_id IS NULL)",
            name=op.f("ck_messages_sender_matches_type"),
        ),
        sa.CheckConstraint(
            "sender_type IN ('agent', 'user', 'system')", name=op.f("ck_messages_sender_type")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_agent_id"],
            ["agents.id"],
            name=op.f("fk_messages_sender_agent_id_agents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_user_id"],
            ["users.id"],
            name=op.f("fk_messages_sender_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_conversation_id_id", ["conversation_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_messages_conversation_id_sender_type_id",
            ["conversation_id", "sender_type", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_messages_sender_agent_id"), ["sender_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_messages_sender_user_id"), ["sender_user_id"], unique=False
        )

    op.create_table(
        "system_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("level", sa.String(length=10), server_default="info", nullable=False),
        sa.Column("component", sa.String(length=100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("context", JSON, nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("coalition_id", sa.Integer(), nullable=True),
        sa.Column("game_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "level IN ('debug', 'info', 'warning', 'error', 'critical')",
            name=op.f("ck_system_logs_level"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_system_logs_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["coalition_id"],
            ["coalitions.id"],
            name=op.f("fk_system_logs_coalition_id_coalitions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_system_logs_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_system_logs_game_id_games"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_logs")),
    )
    with op.batch_alter_table("system_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_system_logs_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_system_logs_coalition_id"), ["coalition_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_system_logs_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index("ix_system_logs_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_system_logs_game_id"), ["game_id"], unique=False)
        batch_op.create_index("ix_system_logs_level_id", ["level", "id"], unique=False)
        batch_op.create_index("ix_system_logs_component_id", ["component", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("system_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_system_logs_component_id")
        batch_op.drop_index("ix_system_logs_level_id")
        batch_op.drop_index(batch_op.f("ix_system_logs_game_id"))
        batch_op.drop_index("ix_system_logs_created_at")
        batch_op.drop_index(batch_op.f("ix_system_logs_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_system_logs_coalition_id"))
        batch_op.drop_index(batch_op.f("ix_system_logs_agent_id"))

    op.drop_table("system_logs")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_sender_user_id"))
        batch_op.drop_index(batch_op.f("ix_messages_sender_agent_id"))
        batch_op.drop_index("ix_messages_conversation_id_sender_type_id")
        batch_op.drop_index("ix_messages_conversation_id_id")

    op.drop_table("messages")
    with op.batch_alter_table("conversation_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_participants_user_id"))
        batch_op.drop_index(batch_op.f("ix_conversation_participants_agent_id"))

    op.drop_table("conversation_participants")
    with op.batch_alter_table("knowledge_graphs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_knowledge_graphs_ownerless_name",
            sqlite_where=sa.text("owner_agent_id IS NULL"),
            postgresql_where=sa.text("owner_agent_id IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_knowledge_graphs_owner_agent_id"))

    op.drop_table("knowledge_graphs")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_user_id_status_id")
        batch_op.drop_index("ix_conversations_type_id")
        batch_op.drop_index("ix_conversations_status_id")
        batch_op.drop_index(batch_op.f("ix_conversations_game_id"))

    op.drop_table("conversations")
    with op.batch_alter_table("coalition_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coalition_members_agent_id"))

    op.drop_table("coalition_members")
    op.drop_table("users")
    with op.batch_alter_table("knowledge_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_knowledge_chunks_external_id")

    op.drop_table("knowledge_chunks")
    with op.batch_alter_table("coalitions", schema=None) as batch_op:
        batch_op.drop_index("ix_coalitions_status_id")

    op.drop_table("coalitions")
