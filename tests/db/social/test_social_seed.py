"""The social seed files load into a database, idempotently, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from arenadb.db import session_scope
from arenadb.errors import InvalidDataError
from arenadb.models import Coalition, Conversation, KnowledgeGraph, Message
from arenadb.seeding.social import (
    conversation_seed_uuid,
    load_social_seed,
    seed_agent_aliases,
)
from arenadb.social import coalitions as co
from arenadb.social import conversations as cv
from arenadb.social import knowledge as kn
from tests.support.social_helpers import make_agents

SEEDS = Path(__file__).resolve().parents[3] / "seeds"


def read_seed(env: str) -> dict:
    return tomllib.loads((SEEDS / env / "social.toml").read_text(encoding="utf-8"))


def test_seed_files_name_the_expected_agents():
    assert seed_agent_aliases(read_seed("demo")) == {
        "resource-optimizer",
        "market-maker",
        "information-broker",
    }
    assert len(seed_agent_aliases(read_seed("development"))) == 7


@pytest.mark.parametrize("env", ["development", "demo"])
def test_social_seed_loads_idempotently(engine, env):
    data = read_seed(env)
    with session_scope(engine, write=True) as s:
        agents = make_agents(s, sorted(seed_agent_aliases(data)))
        first = load_social_seed(s, data, agents)
    assert first.conversations == len(data["conversations"])
    assert first.messages == sum(len(c.get("messages", [])) for c in data["conversations"])
    assert first.knowledge_graphs == len(data["knowledge_graphs"])
    assert first.coalitions == len(data["coalitions"])
    assert first.knowledge_chunks == len(data["knowledge_chunks"])
    with session_scope(engine, write=True) as s:
        second = load_social_seed(s, data, agents)
    assert (second.users, second.conversations, second.messages, second.knowledge_chunks) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert (second.knowledge_graphs, second.coalitions, second.coalition_members) == (0, 0, 0)
    with session_scope(engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Conversation)) == first.conversations
        assert s.scalar(sa.select(sa.func.count()).select_from(Message)) == first.messages
        assert s.scalar(sa.select(sa.func.count()).select_from(KnowledgeGraph)) == len(
            data["knowledge_graphs"]
        )
        assert s.scalar(sa.select(sa.func.count()).select_from(Coalition)) == len(
            data["coalitions"]
        )
        if env == "demo":
            talk = cv.get_conversation_by_uuid(s, conversation_seed_uuid("demo/energy-negotiation"))
            speakers = {p.name for p in cv.list_participants(s, talk.id)}
            assert {"resource-optimizer", "market-maker", "information-broker"} <= speakers
            pool = co.get_coalition_by_name(s, "Peak energy pool")
            assert pool.status == "active" and pool.value_pool == 105.0
            model = kn.get_knowledge_graph_by_name(
                s, "grid demand model", owner_agent_id=agents["information-broker"]
            )
            assert kn.can_access(model, agents["resource-optimizer"])
            assert not kn.can_access(model, agents["market-maker"])
        else:
            pact = co.get_coalition_by_name(s, "Old caravan pact")
            assert pact.status == "dissolved" and len(co.list_members(s, pact.id)) == 2
            archived = cv.list_conversations(s, status="archived")
            assert [c.title for c in archived] == ["Scheduled maintenance"]


def test_social_seed_errors_name_the_place(engine):
    with session_scope(engine, write=True) as s:
        agents = make_agents(s, ["a"])
        bad_alias = {"coalitions": [{"name": "x", "members": [{"agent": "ghost"}]}]}
        with pytest.raises(InvalidDataError, match="coalition 'x' member 1 names unknown agent"):
            load_social_seed(s, bad_alias, agents)
        with pytest.raises(InvalidDataError, match="unknown key"):
            load_social_seed(s, {"users": [{"email": "a@b.c", "nick": "a"}]}, agents)
        with pytest.raises(InvalidDataError, match="unknown section"):
            load_social_seed(s, {"games": []}, agents)
