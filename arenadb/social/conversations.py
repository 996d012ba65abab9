"""Conversations, their participants and their messages.

A conversation has a type (direct, group, broadcast, system), may belong to a game and/or to the
user who owns it, and has agents and users as participants. Messages are read in pages, oldest
first; a conversation is never loaded with its whole transcript.

    with session_scope(engine, write=True) as session:
        talk = create_conversation(
            session, type="group", title="Day 1", game_id=game.id, participants=[a1, a2, a3]
        )
        add_message(session, talk.id, "system", "Day 1 begins. Discuss.")
        add_message(session, talk.id, "agent", "I suspect seat 3.", agent_id=a1,
                    meta={"input_tokens": 812, "output_tokens": 9})
        page = list_messages(session, talk.id, limit=50)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.catalog.refs import as_id
from arenadb.db.paging import DEFAULT_LIMIT, check_choice, fetch_by_id, paged
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError
from arenadb.models import (
    CONVERSATION_STATUSES,
    CONVERSATION_TYPES,
    SENDER_TYPES,
    Agent,
    Conversation,
    ConversationParticipant,
    Game,
    Message,
    User,
    utcnow,
)

DIRECT_MAX_PARTICIPANTS = 2


def _require_ids(session: Session, model: type[Any], ids: Iterable[int], what: str) -> None:
    wanted = set(ids)
    if not wanted:
        return
    found = set(session.scalars(sa.select(model.id).where(model.id.in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise NotFoundError(f"{what} {missing[0]} not found")


# --- conversations ---------------------------------------------------------------------------


def create_conversation(
    session: Session,
    *,
    type: str = "group",
    title: str | None = None,
    game_id: int | None = None,
    user_id: int | None = None,
    participants: Iterable[int] = (),
    user_participants: Iterable[int] = (),
    meta: dict[str, Any] | None = None,
    conversation_uuid: uuid.UUID | None = None,
) -> Conversation:
    """A new conversation; `participants` are agent ids, `user_participants` user ids."""
    check_choice("conversation type", type, CONVERSATION_TYPES)
    agent_ids = list(dict.fromkeys(participants))
    user_ids = list(dict.fromkeys(user_participants))
    if type == "direct" and len(agent_ids) + len(user_ids) > DIRECT_MAX_PARTICIPANTS:
        raise InvalidDataError("a direct conversation has at most 2 participants")
    _require_ids(session, Agent, agent_ids, "agent")
    _require_ids(session, User, [*user_ids, *([user_id] if user_id is not None else [])], "user")
    if game_id is not None:
        _require_ids(session, Game, [game_id], "game")
    conversation = Conversation(type=type, title=title, game_id=game_id, user_id=user_id, meta=meta)
    if conversation_uuid is not None:
        conversation.uuid = conversation_uuid
    conversation.participants = [ConversationParticipant(agent_id=a) for a in agent_ids] + [
        ConversationParticipant(user_id=u) for u in user_ids
    ]
    session.add(conversation)
    session.flush()
    return conversation


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    """The conversation with this id, or NotFoundError."""
    return fetch_by_id(session, Conversation, conversation_id, "conversation")


def get_conversation_by_uuid(session: Session, conversation_uuid: uuid.UUID) -> Conversation:
    conversation = session.scalar(
        sa.select(Conversation).where(Conversation.uuid == conversation_uuid)
    )
    if conversation is None:
        raise NotFoundError(f"conversation {conversation_uuid} not found")
    return conversation


def find_conversation(session: Session, ref: str | int) -> Conversation:
    """By integer id or by UUID (as the CLI accepts either)."""
    conversation_id = as_id(ref)
    if conversation_id is not None:
        return get_conversation(session, conversation_id)
    try:
        parsed = uuid.UUID(str(ref))
    except ValueError:
        raise InvalidDataError(f"not a conversation id or uuid: {ref!r}") from None
    return get_conversation_by_uuid(session, parsed)


def conversation_filter(
    stmt: sa.Select[Any],
    *,
    user_id: int | None,
    game_id: int | None,
    agent_id: int | None,
    type: str | None,
    status: str | None,
) -> sa.Select[Any]:
    if user_id is not None:
        stmt = stmt.where(Conversation.user_id == user_id)
    if game_id is not None:
        stmt = stmt.where(Conversation.game_id == game_id)
    if type is not None:
        stmt = stmt.where(
            Conversation.type == check_choice("conversation type", type, CONVERSATION_TYPES)
        )
    if status is not None:
        stmt = stmt.where(
            Conversation.status == check_choice("status", status, CONVERSATION_STATUSES)
        )
    if agent_id is not None:
        stmt = stmt.where(
            Conversation.id.in_(
                sa.select(ConversationParticipant.conversation_id).where(
                    ConversationParticipant.agent_id == agent_id
                )
            )
        )
    return stmt


def list_conversations(
    session: Session,
    *,
    user_id: int | None = None,
    game_id: int | None = None,
    agent_id: int | None = None,
    type: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Conversation]:
    """Conversations, newest first, filtered by owner, game, participating agent, type, status."""
    stmt = conversation_filter(
        sa.select(Conversation),
        user_id=user_id,
        game_id=game_id,
        agent_id=agent_id,
        type=type,
        status=status,
    )
    return list(session.scalars(paged(stmt.order_by(Conversation.id.desc()), limit, offset)))


def list_conversations_for_user(
    session: Session,
    user_id: int,
    *,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> list[Conversation]:
    """The conversations a user owns, newest first."""
    return list_conversations(session, user_id=user_id, status=status, limit=limit, offset=offset)


def list_all_conversations(
    session: Session, *, status: str | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> list[Conversation]:
    return list_conversations(session, status=status, limit=limit, offset=offset)


def update_conversation(
    session: Session,
    conversation_id: int,
    *,
    title: str | None = None,
    status: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Conversation:
    """Change the fields that are given (None leaves a field as it is)."""
    conversation = get_conversation(session, conversation_id)
    if title is not None:
        conversation.title = title
    if status is not None:
        conversation.status = check_choice("status", status, CONVERSATION_STATUSES)
    if meta is not None:
        conversation.meta = meta
    session.flush()
    return conversation


def archive_conversation(session: Session, conversation_id: int) -> Conversation:
    """Mark a conversation archived: it stays readable and takes no new messages."""
    return update_conversation(session, conversation_id, status="archived")


def delete_conversation(session: Session, conversation_id: int) -> None:
    """Delete a conversation with its participants and messages (ON DELETE CASCADE)."""
    session.delete(get_conversation(session, conversation_id))
    session.flush()


# --- participants ----------------------------------------------------------------------------


def add_participant(
    session: Session,
    conversation_id: int,
    *,
    agent_id: int | None = None,
    user_id: int | None = None,
    role: str | None = None,
) -> ConversationParticipant:
    """Add an agent or a user (exactly one) to a conversation; ConflictError if already in."""
    if (agent_id is None) == (user_id is None):
        raise InvalidDataError("a participant is an agent or a user: give exactly one")
    conversation = get_conversation(session, conversation_id)
    if agent_id is not None:
        _require_ids(session, Agent, [agent_id], "agent")
        column, value, what = ConversationParticipant.agent_id, agent_id, "agent"
    else:
        assert user_id is not None
        _require_ids(session, User, [user_id], "user")
        column, value, what = ConversationParticipant.user_id, user_id, "user"
    count = participant_count(session, conversation_id)
    already = session.scalar(
        sa.select(ConversationParticipant.id).where(
            ConversationParticipant.conversation_id == conversation_id, column == value
        )
    )
    if already is not None:
        raise ConflictError(f"{what} {value} is already in conversation {conversation_id}")
    if conversation.type == "direct" and count >= DIRECT_MAX_PARTICIPANTS:
        raise ConflictError(f"direct conversation {conversation_id} already has 2 participants")
    participant = ConversationParticipant(
        conversation_id=conversation_id, agent_id=agent_id, user_id=user_id, role=role
    )
    session.add(participant)
    session.flush()
    return participant


def remove_participant(
    session: Session,
    conversation_id: int,
    *,
    agent_id: int | None = None,
    user_id: int | None = None,
) -> None:
    """Take an agent or a user out of a conversation (their messages stay)."""
    stmt = sa.delete(ConversationParticipant).where(
        ConversationParticipant.conversation_id == conversation_id
    )
    if agent_id is not None:
        stmt = stmt.where(ConversationParticipant.agent_id == agent_id)
    elif user_id is not None:
        stmt = stmt.where(ConversationParticipant.user_id == user_id)
    else:
        raise InvalidDataError("a participant is an agent or a user: give exactly one")
    if session.execute(stmt).rowcount == 0:  # type: ignore[attr-defined]
        who = f"agent {agent_id}" if agent_id is not None else f"user {user_id}"
        raise NotFoundError(f"{who} is not in conversation {conversation_id}")


def participant_count(session: Session, conversation_id: int) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                ConversationParticipant.conversation_id == conversation_id
            )
        )
        or 0
    )


@dataclass
class ParticipantView:
    """A participant as the CLI shows it: who (agent alias or user name) and in what role."""

    kind: str
    agent_id: int | None
    user_id: int | None
    name: str | None
    role: str | None
    joined_at: datetime


def list_participants(session: Session, conversation_id: int) -> list[ParticipantView]:
    get_conversation(session, conversation_id)
    rows = session.execute(
        sa.select(ConversationParticipant, Agent.alias, User.name, User.email)
        .outerjoin(Agent, Agent.id == ConversationParticipant.agent_id)
        .outerjoin(User, User.id == ConversationParticipant.user_id)
        .where(ConversationParticipant.conversation_id == conversation_id)
        .order_by(ConversationParticipant.id)
    )
    return [
        ParticipantView(
            kind="agent" if p.agent_id is not None else "user",
            agent_id=p.agent_id,
            user_id=p.user_id,
            name=alias if p.agent_id is not None else (user_name or email),
            role=p.role,
            joined_at=p.joined_at,
        )
        for p, alias, user_name, email in rows
    ]


# --- messages --------------------------------------------------------------------------------


def add_message(
    session: Session,
    conversation_id: int,
    sender_type: str,
    content: str,
    *,
    agent_id: int | None = None,
    user_id: int | None = None,
    message_type: str = "text",
    meta: dict[str, Any] | None = None,
) -> Message:
    """Append a message. An agent sender gives `agent_id`, a user `user_id`, the system neither.

    Archived conversations take no new messages, and an agent speaks only in a conversation it
    is a participant of (ConflictError for both). Users may post as observers.
    """
    check_choice("sender type", sender_type, SENDER_TYPES)
    expected = {"agent": (True, False), "user": (False, True), "system": (False, False)}
    if (agent_id is not None, user_id is not None) != expected[sender_type]:
        needs = {"agent": "agent_id only", "user": "user_id only", "system": "no sender id"}
        raise InvalidDataError(f"a message from {sender_type} takes {needs[sender_type]}")
    conversation = get_conversation(session, conversation_id)
    if conversation.status == "archived":
        raise ConflictError(f"conversation {conversation_id} is archived")
    if agent_id is not None:
        _require_ids(session, Agent, [agent_id], "agent")
        _require_participant(session, conversation_id, agent_id)
    if user_id is not None:
        _require_ids(session, User, [user_id], "user")
    message = Message(
        conversation_id=conversation_id,
        sender_type=sender_type,
        sender_agent_id=agent_id,
        sender_user_id=user_id,
        message_type=message_type,
        content=content,
        meta=meta,
    )
    session.add(message)
    conversation.last_message_at = utcnow()
    session.flush()
    return message


def _require_participant(session: Session, conversation_id: int, agent_id: int) -> None:
    member = session.scalar(
        sa.select(ConversationParticipant.id).where(
            ConversationParticipant.conversation_id == conversation_id,
            ConversationParticipant.agent_id == agent_id,
        )
    )
    if member is None:
        raise ConflictError(
            f"agent {agent_id} is not a participant of conversation {conversation_id}: "
            "add it before it speaks there"
        )


def get_message(session: Session, message_id: int) -> Message:
    """The message with this id, or NotFoundError."""
    return fetch_by_id(session, Message, message_id, "message")


def list_messages(
    session: Session,
    conversation_id: int,
    *,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sender_type: str | None = None,
) -> list[Message]:
    """A page of a conversation's messages, oldest first, optionally from one sender type."""
    stmt = sa.select(Message).where(Message.conversation_id == conversation_id)
    if sender_type is not None:
        stmt = stmt.where(
            Message.sender_type == check_choice("sender type", sender_type, SENDER_TYPES)
        )
    return list(session.scalars(paged(stmt.order_by(Message.id), limit, offset)))


def message_count(session: Session, conversation_id: int, *, sender_type: str | None = None) -> int:
    """How many messages a conversation has (of one sender type, if given)."""
    stmt = sa.select(sa.func.count()).where(Message.conversation_id == conversation_id)
    if sender_type is not None:
        stmt = stmt.where(Message.sender_type == sender_type)
    return session.scalar(stmt) or 0


@dataclass
class TokenUsage:
    """Token counts summed over a conversation's messages (from their meta; NULL = unknown)."""

    input_tokens: int | None
    output_tokens: int | None


def token_usage(session: Session, conversation_id: int) -> TokenUsage:
    """Sum `meta.input_tokens` and `meta.output_tokens` over a conversation, in SQL."""
    row = session.execute(
        sa.select(
            sa.func.sum(Message.meta["input_tokens"].as_integer()),
            sa.func.sum(Message.meta["output_tokens"].as_integer()),
        ).where(Message.conversation_id == conversation_id)
    ).one()
    return TokenUsage(
        input_tokens=None if row[0] is None else int(row[0]),
        output_tokens=None if row[1] is None else int(row[1]),
    )


def delete_message(session: Session, message_id: int) -> None:
    session.delete(get_message(session, message_id))
    session.flush()
