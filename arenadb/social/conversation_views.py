"""Read views of conversations for the CLI and reports: summaries and one conversation in detail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.catalog.refs import AgentRef, GameRef, resolve_agent_id, resolve_game_id
from arenadb.db.paging import DEFAULT_LIMIT, check_choice, paged
from arenadb.models import (
    SENDER_TYPES,
    Agent,
    Conversation,
    ConversationParticipant,
    Message,
    User,
)
from arenadb.social.conversations import (
    ParticipantView,
    conversation_filter,
    find_conversation,
    list_participants,
    message_count,
    token_usage,
)


@dataclass
class ConversationSummary:
    """A conversation with its counts, as `arenadb conversations list` shows it."""

    id: int
    uuid: uuid.UUID
    type: str
    title: str | None
    status: str
    game_id: int | None
    user_id: int | None
    participants: int
    messages: int
    created_at: datetime
    last_message_at: datetime | None
    meta: dict[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


def list_conversation_summaries(
    session: Session,
    *,
    user_id: int | None = None,
    game_id: GameRef | None = None,
    agent_id: AgentRef | None = None,
    type: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[ConversationSummary]:
    """`list_conversations` with participant and message counts, in one query.

    `game_id` and `agent_id` take any reference of `arenadb.catalog.refs` (a game's UUID
    prefix, an agent's alias).
    """
    if game_id is not None:
        game_id = resolve_game_id(session, game_id)
    if agent_id is not None:
        agent_id = resolve_agent_id(session, agent_id)
    participants = (
        sa.select(sa.func.count())
        .where(ConversationParticipant.conversation_id == Conversation.id)
        .scalar_subquery()
    )
    messages = (
        sa.select(sa.func.count())
        .where(Message.conversation_id == Conversation.id)
        .scalar_subquery()
    )
    stmt = conversation_filter(
        sa.select(Conversation, participants, messages),
        user_id=user_id,
        game_id=game_id,
        agent_id=agent_id,
        type=type,
        status=status,
    )
    rows = session.execute(paged(stmt.order_by(Conversation.id.desc()), limit, offset))
    return [_summary(c, n_participants, n_messages) for c, n_participants, n_messages in rows]


def _summary(c: Conversation, n_participants: int, n_messages: int) -> ConversationSummary:
    return ConversationSummary(
        id=c.id,
        uuid=c.uuid,
        type=c.type,
        title=c.title,
        status=c.status,
        game_id=c.game_id,
        user_id=c.user_id,
        participants=n_participants,
        messages=n_messages,
        created_at=c.created_at,
        last_message_at=c.last_message_at,
        meta=c.meta,
    )


@dataclass
class MessageView:
    id: int
    created_at: datetime
    sender_type: str
    sender: str | None
    agent_id: int | None
    user_id: int | None
    message_type: str
    content: str
    meta: dict[str, Any] | None


def _sender_name(sender_type: str, alias: str | None, user_name: str | None) -> str | None:
    return {"agent": alias, "user": user_name}.get(sender_type, "system")


@dataclass
class ConversationDetail:
    """What `arenadb conversation show` prints: the conversation, who is in it, its messages."""

    conversation: ConversationSummary
    participants: list[ParticipantView] = field(default_factory=list)
    messages: list[MessageView] = field(default_factory=list)


def conversation_detail(
    session: Session,
    ref: str | int,
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sender_type: str | None = None,
) -> ConversationDetail:
    """A conversation (by id or uuid), its participants, and one page of its messages."""
    conversation = find_conversation(session, ref)
    stmt = (
        sa.select(Message, Agent.alias, User.name, User.email)
        .outerjoin(Agent, Agent.id == Message.sender_agent_id)
        .outerjoin(User, User.id == Message.sender_user_id)
        .where(Message.conversation_id == conversation.id)
    )
    if sender_type is not None:
        stmt = stmt.where(
            Message.sender_type == check_choice("sender type", sender_type, SENDER_TYPES)
        )
    rows = session.execute(paged(stmt.order_by(Message.id), limit, offset))
    messages = [
        MessageView(
            id=m.id,
            created_at=m.created_at,
            sender_type=m.sender_type,
            sender=_sender_name(m.sender_type, alias, name or email),
            agent_id=m.sender_agent_id,
            user_id=m.sender_user_id,
            message_type=m.message_type,
            content=m.content,
            meta=m.meta,
        )
        for m, alias, name, email in rows
    ]
    participants = list_participants(session, conversation.id)
    summary = _summary(conversation, len(participants), message_count(session, conversation.id))
    usage = token_usage(session, conversation.id)
    summary.input_tokens, summary.output_tokens = usage.input_tokens, usage.output_tokens
    return ConversationDetail(
        conversation=summary,
        participants=participants,
        messages=messages,
    )
