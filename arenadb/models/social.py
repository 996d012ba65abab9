"""People and talk: users, conversations (with participants) and messages.

A conversation may belong to a game (a Secret Mafia day phase is one), to a user who owns it, or
to nobody (a system broadcast). Its participants are arena agents and/or users. Every message has
exactly one kind of sender, enforced by a CHECK: an agent, a user, or the system (no sender row).

Deletion, as a user would expect it:
- deleting a user deletes the conversations they own, their participations and every message
  they sent;
- deleting a conversation deletes its participants and messages;
- deleting a game deletes its conversations (they are part of the game's record, like its turns);
- an agent that has sent a message cannot be deleted (RESTRICT, like an agent that played a
  game): the transcript is history. An agent that only listened can be: its participations go.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import (
    Base,
    UTCDateTime,
    check_in,
    created_at_column,
    never_reused_ids,
    utcnow,
)
from arenadb.models.catalog import Agent

CONVERSATION_TYPES = ("direct", "group", "broadcast", "system")
CONVERSATION_STATUSES = ("active", "archived")
SENDER_TYPES = ("agent", "user", "system")


def updated_at_column() -> Mapped[datetime]:
    """`updated_at`: set on insert and on every ORM update (bulk upserts set it themselves)."""
    return mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )


class User(Base):
    """A person who owns and watches agents and conversations."""

    __tablename__ = "users"

    __table_args__ = never_reused_ids()

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    # The identity in an external auth system ("auth0|123"); unique when present.
    external_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    # Stored lower-cased by the ops, so the unique constraint is case-insensitive in practice.
    email: Mapped[str | None] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Conversation(Base):
    """A conversation among agents and/or users, optionally within a game."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(sa.String(20), default="group", server_default="group")
    title: Mapped[str | None] = mapped_column(sa.String(300))
    status: Mapped[str] = mapped_column(sa.String(20), default="active", server_default="active")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    game_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("games.id", ondelete="CASCADE"), index=True
    )
    # Free-form: the game phase, the topic, whatever the runner wants to find it by later.
    meta: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User | None] = relationship(back_populates="conversations")
    participants: Mapped[list[ConversationParticipant]] = relationship(
        back_populates="conversation",
        order_by="ConversationParticipant.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        order_by="Message.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",  # transcripts can be long: page them with list_messages()
    )

    __table_args__ = (
        sa.CheckConstraint(check_in("type", CONVERSATION_TYPES), name="type"),
        sa.CheckConstraint(check_in("status", CONVERSATION_STATUSES), name="status"),
        # A user's conversations by status, newest first; the whole list by status / by type.
        sa.Index("ix_conversations_user_id_status_id", "user_id", "status", "id"),
        sa.Index("ix_conversations_status_id", "status", "id"),
        sa.Index("ix_conversations_type_id", "type", "id"),
        never_reused_ids(),
    )


class ConversationParticipant(Base):
    """An agent or a user taking part in a conversation (exactly one of the two)."""

    __tablename__ = "conversation_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Free-form ("moderator", "observer", a game role): no game's roles are hard-coded.
    role: Mapped[str | None] = mapped_column(sa.String(100))
    joined_at: Mapped[datetime] = created_at_column()

    conversation: Mapped[Conversation] = relationship(back_populates="participants")
    agent: Mapped[Agent | None] = relationship()
    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "(agent_id IS NOT NULL AND user_id IS NULL)"
            " OR (agent_id IS NULL AND user_id IS NOT NULL)",
            name="agent_xor_user",
        ),
        # NULLs are distinct, so each constraint only bites on rows of its own kind.
        sa.UniqueConstraint("conversation_id", "agent_id"),
        sa.UniqueConstraint("conversation_id", "user_id"),
    )


class Message(Base):
    """One message. `meta` carries token counts and the like: {"input_tokens": 120, ...}."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    sender_type: Mapped[str] = mapped_column(sa.String(20))
    sender_agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="RESTRICT"), index=True
    )
    sender_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # "text", "vote", "accusation", ...: free-form, the game decides.
    message_type: Mapped[str] = mapped_column(sa.String(50), default="text", server_default="text")
    content: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    sender_agent: Mapped[Agent | None] = relationship()
    sender_user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(check_in("sender_type", SENDER_TYPES), name="sender_type"),
        sa.CheckConstraint(
            "(sender_type = 'agent' AND sender_agent_id IS NOT NULL AND sender_user_id IS NULL)"
            " OR (sender_type = 'user' AND sender_user_id IS NOT NULL AND sender_agent_id IS NULL)"
            " OR (sender_type = 'system' AND sender_agent_id IS NULL AND sender_user_id IS NULL)",
            name="sender_matches_type",
        ),
        # A transcript in order, whole or by sender type.
        sa.Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        sa.Index(
            "ix_messages_conversation_id_sender_type_id", "conversation_id", "sender_type", "id"
        ),
        never_reused_ids(),
    )
