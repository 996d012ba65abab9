"""Load the social part of a seed (`seeds/<env>/social.toml`): users, conversations with their
messages, knowledge chunks and graphs, coalitions with members.

Agents are named by alias; the caller (`arenadb seed`) has created them and passes
`agents_by_alias`. Loading is idempotent, by natural key:
- users by `external_id` (else `email`);
- conversations by `key`, from which a stable UUID is derived (uuid5): a conversation that
  exists is left as it is, messages included;
- knowledge chunks are upserted by (source, external_id);
- knowledge graphs by (owner alias, name); coalitions by name; members by (coalition, agent).
Existing rows are never modified (except chunks, whose upsert is the point), so hand edits
made in the database survive a re-seed.

    data = tomllib.loads(Path("seeds/demo/social.toml").read_text())
    result = load_social_seed(session, data, {"market-maker": 3, ...})
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from arenadb.errors import InvalidDataError, NotFoundError
from arenadb.social import coalitions as coalition_ops
from arenadb.social import conversations as conversation_ops
from arenadb.social import knowledge as knowledge_ops
from arenadb.social import users as user_ops

# Namespace of the UUIDs derived from seed conversation keys (any fixed UUID would do).
SEED_NAMESPACE = uuid.UUID("5b0c1d1e-7a3c-4c53-9f0e-a7e1a2d8c0de")

SECTIONS = ("users", "conversations", "knowledge_chunks", "knowledge_graphs", "coalitions")
USER_KEYS = {"external_id", "email", "name"}
CONVERSATION_KEYS = {
    "key",
    "type",
    "title",
    "status",
    "owner",
    "participants",
    "user_participants",
    "meta",
    "messages",
}
MESSAGE_KEYS = {"agent", "user", "content", "type", "meta"}
GRAPH_KEYS = {"name", "owner", "type", "description", "is_public", "access", "nodes", "edges"}
COALITION_KEYS = {"name", "goal", "rules", "status", "value_pool", "members"}
MEMBER_KEYS = {"agent", "role", "contribution"}


@dataclass
class SocialSeedResult:
    """Rows created by one load (knowledge chunks: inserted or changed); 0 on a re-run."""

    users: int = 0
    conversations: int = 0
    messages: int = 0
    knowledge_chunks: int = 0
    knowledge_graphs: int = 0
    coalitions: int = 0
    coalition_members: int = 0


def conversation_seed_uuid(key: str) -> uuid.UUID:
    """The UUID a seeded conversation gets from its `key`."""
    return uuid.uuid5(SEED_NAMESPACE, key)


class _Refs:
    """Resolves aliases and user keys to ids, with errors that say where in the file."""

    def __init__(self, session: Session, agents_by_alias: Mapping[str, int]) -> None:
        self.session = session
        self.agents = agents_by_alias

    def agent(self, alias: Any, where: str) -> int:
        if not isinstance(alias, str) or alias not in self.agents:
            raise InvalidDataError(f"social seed: {where} names unknown agent {alias!r}")
        return self.agents[alias]

    def user(self, key: Any, where: str) -> int:
        user = None
        if isinstance(key, str):
            user = user_ops.get_user_by_external_id(self.session, key)
            if user is None and "@" in key:
                user = user_ops.get_user_by_email(self.session, key)
        if user is None:
            raise InvalidDataError(f"social seed: {where} names unknown user {key!r}")
        return user.id


def _entries(data: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    entries = data.get(section, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidDataError(f"social seed: [[{section}]] must be a list of tables")
    return entries


def _check_keys(entry: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(entry) - allowed
    if unknown:
        raise InvalidDataError(
            f"social seed: {where} has unknown key(s) {', '.join(sorted(unknown))}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )


def _require(entry: Mapping[str, Any], key: str, where: str) -> Any:
    if entry.get(key) in (None, ""):
        raise InvalidDataError(f"social seed: {where} needs `{key}`")
    return entry[key]


def load_social_seed(
    session: Session, data: Mapping[str, Any], agents_by_alias: Mapping[str, int]
) -> SocialSeedResult:
    """Insert what `data` (a parsed social.toml) describes and is not there yet."""
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise InvalidDataError(f"social seed: unknown section(s) {', '.join(sorted(unknown))}")
    refs = _Refs(session, agents_by_alias)
    result = SocialSeedResult()
    _load_users(session, _entries(data, "users"), result)
    _load_conversations(session, refs, _entries(data, "conversations"), result)
    chunks = _entries(data, "knowledge_chunks")
    if chunks:
        upserted = knowledge_ops.bulk_upsert_knowledge_chunks(session, chunks)
        result.knowledge_chunks = upserted.written
    _load_graphs(session, refs, _entries(data, "knowledge_graphs"), result)
    _load_coalitions(session, refs, _entries(data, "coalitions"), result)
    session.flush()
    return result


def _load_users(session: Session, entries: list[dict[str, Any]], result: SocialSeedResult) -> None:
    for i, entry in enumerate(entries):
        where = f"users[{i}]"
        _check_keys(entry, USER_KEYS, where)
        external_id, email = entry.get("external_id"), entry.get("email")
        if not external_id and not email:
            raise InvalidDataError(f"social seed: {where} needs `external_id` or `email`")
        existing = (
            user_ops.get_user_by_external_id(session, external_id)
            if external_id
            else user_ops.get_user_by_email(session, str(email))
        )
        if existing is not None:
            continue
        user = user_ops.create_user(
            session, email=email, name=entry.get("name"), external_id=external_id
        )
        # Stable identity, so that databases seeded alike are identical.
        user.uuid = uuid.uuid5(SEED_NAMESPACE, f"user/{external_id or email}")
        result.users += 1


def _load_conversations(
    session: Session, refs: _Refs, entries: list[dict[str, Any]], result: SocialSeedResult
) -> None:
    for i, entry in enumerate(entries):
        key = _require(entry, "key", f"conversations[{i}]")
        where = f"conversation {key!r}"
        _check_keys(entry, CONVERSATION_KEYS, where)
        conversation_uuid = conversation_seed_uuid(str(key))
        try:
            conversation_ops.get_conversation_by_uuid(session, conversation_uuid)
            continue
        except NotFoundError:
            pass
        owner = refs.user(entry["owner"], where) if entry.get("owner") else None
        conversation = conversation_ops.create_conversation(
            session,
            type=entry.get("type", "group"),
            title=entry.get("title"),
            user_id=owner,
            participants=[refs.agent(a, where) for a in entry.get("participants", [])],
            user_participants=[refs.user(u, where) for u in entry.get("user_participants", [])],
            meta=entry.get("meta"),
            conversation_uuid=conversation_uuid,
        )
        result.conversations += 1
        for j, message in enumerate(entry.get("messages", [])):
            at = f"{where} message {j + 1}"
            _check_keys(message, MESSAGE_KEYS, at)
            agent = refs.agent(message["agent"], at) if "agent" in message else None
            user = refs.user(message["user"], at) if "user" in message else None
            sender = "agent" if agent is not None else "user" if user is not None else "system"
            conversation_ops.add_message(
                session,
                conversation.id,
                sender,
                str(_require(message, "content", at)),
                agent_id=agent,
                user_id=user,
                message_type=message.get("type", "text"),
                meta=message.get("meta"),
            )
            result.messages += 1
        # Seeded last so that the messages could be added to it.
        if entry.get("status", "active") != "active":
            conversation_ops.update_conversation(session, conversation.id, status=entry["status"])


def _load_graphs(
    session: Session, refs: _Refs, entries: list[dict[str, Any]], result: SocialSeedResult
) -> None:
    for i, entry in enumerate(entries):
        name = _require(entry, "name", f"knowledge_graphs[{i}]")
        where = f"knowledge graph {name!r}"
        _check_keys(entry, GRAPH_KEYS, where)
        owner = refs.agent(entry["owner"], where) if entry.get("owner") else None
        if knowledge_ops.get_knowledge_graph_by_name(session, name, owner_agent_id=owner):
            continue
        graph = knowledge_ops.create_knowledge_graph(
            session,
            name=name,
            owner_agent_id=owner,
            type=entry.get("type", "personal" if owner is not None else "global"),
            description=entry.get("description"),
            nodes=entry.get("nodes", []),
            edges=entry.get("edges", []),
            is_public=bool(entry.get("is_public", False)),
            access_list=[refs.agent(a, where) for a in entry.get("access", [])],
        )
        graph.uuid = uuid.uuid5(SEED_NAMESPACE, f"graph/{entry.get('owner')}/{name}")
        result.knowledge_graphs += 1


def _load_coalitions(
    session: Session, refs: _Refs, entries: list[dict[str, Any]], result: SocialSeedResult
) -> None:
    for i, entry in enumerate(entries):
        name = _require(entry, "name", f"coalitions[{i}]")
        where = f"coalition {name!r}"
        _check_keys(entry, COALITION_KEYS, where)
        coalition = coalition_ops.get_coalition_by_name(session, name)
        status = entry.get("status", "forming")
        if coalition is None:
            coalition = coalition_ops.create_coalition(
                session,
                name=name,
                goal=entry.get("goal"),
                rules=entry.get("rules"),
                status="forming" if status == "dissolved" else status,
                value_pool=float(entry.get("value_pool", 0.0)),
            )
            result.coalitions += 1
        if coalition.status == "dissolved":
            continue
        have = {m.agent_id for m in coalition_ops.list_members(session, coalition.id)}
        for j, member in enumerate(entry.get("members", [])):
            at = f"{where} member {j + 1}"
            _check_keys(member, MEMBER_KEYS, at)
            agent_id = refs.agent(member.get("agent"), at)
            if agent_id in have:
                continue
            # A member's contribution goes into the pool, on top of the seeded value_pool.
            coalition_ops.add_member(
                session,
                coalition.id,
                agent_id,
                role=member.get("role", "member"),
                contribution=float(member.get("contribution", 0.0)),
            )
            have.add(agent_id)
            result.coalition_members += 1
        if status == "dissolved":
            coalition_ops.dissolve_coalition(session, coalition.id)


def seed_agent_aliases(data: Mapping[str, Any]) -> set[str]:
    """Every agent alias a social seed refers to (they must exist before it is loaded)."""
    aliases: set[str] = set()
    for conversation in data.get("conversations", []):
        aliases.update(conversation.get("participants", []))
        aliases.update(m["agent"] for m in conversation.get("messages", []) if "agent" in m)
    for graph in data.get("knowledge_graphs", []):
        aliases.update([graph["owner"]] if graph.get("owner") else [])
        aliases.update(graph.get("access", []))
    for coalition in data.get("coalitions", []):
        aliases.update(m["agent"] for m in coalition.get("members", []) if "agent" in m)
    return aliases
