"""Users, conversations, messages, knowledge, coalitions and system logs, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from arenadb.db import session_scope
from arenadb.errors import ConflictError, InvalidDataError, NotFoundError
from arenadb.models import (
    Agent,
    CoalitionMember,
    Conversation,
    ConversationParticipant,
    Game,
    KnowledgeChunk,
    KnowledgeGraph,
    Message,
    SystemLog,
)
from arenadb.social import coalitions as co
from arenadb.social import conversation_views as cvv
from arenadb.social import conversations as cv
from arenadb.social import knowledge as kn
from arenadb.social import users as us
from arenadb.social.system_logs import list_system_logs, write_system_log
from tests.support.social_helpers import make_agents, make_game

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def agents(engine) -> dict[str, int]:
    with session_scope(engine, write=True) as s:
        return make_agents(s, ["alpha", "beta", "gamma", "delta"])


def count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


# --- users -----------------------------------------------------------------------------------


def test_users_crud_paging_and_uniqueness(engine):
    with session_scope(engine, write=True) as s:
        ids = [us.create_user(s, email=f"U{i}@Example.org", name=f"u{i}").id for i in range(5)]
        assert us.get_user_by_email(s, "u3@example.ORG").id == ids[3]
        with pytest.raises(ConflictError, match="already has email"):
            us.create_user(s, email="u1@example.org")
        user, created = us.get_or_create_user_by_external_id(s, "auth|7", name="seven")
        again, created_again = us.get_or_create_user_by_external_id(s, "auth|7")
        assert created and not created_again and again.id == user.id
        assert us.get_user_by_external_id(s, "auth|nobody") is None
        page = us.list_users(s, limit=2, offset=2)
        assert [u.id for u in page] == ids[2:4]
        assert us.list_users(s, limit=10, offset=100) == []
        updated = us.update_user(s, ids[0], name="renamed", email="new@example.org")
        assert (updated.name, updated.email) == ("renamed", "new@example.org")
        with pytest.raises(InvalidDataError):
            us.list_users(s, limit=0)
    with session_scope(engine, write=True) as s:
        us.delete_user(s, ids[4])
        with pytest.raises(NotFoundError, match=f"user {ids[4]} not found"):
            us.get_user(s, ids[4])


# --- conversations and messages --------------------------------------------------------------


def test_conversations_messages_paging_and_filters(engine, agents):
    a, b, c = agents["alpha"], agents["beta"], agents["gamma"]
    with session_scope(engine, write=True) as s:
        owner = us.create_user(s, email="owner@example.org")
        game_id = make_game(s)
        day = cv.create_conversation(
            s, type="group", title="Day 1", game_id=game_id, participants=[a, b, c, a]
        )
        direct = cv.create_conversation(
            s, type="direct", participants=[a], user_participants=[owner.id], user_id=owner.id
        )
        cv.add_message(s, day.id, "system", "Day 1 begins.")
        for i in range(6):
            cv.add_message(
                s, day.id, "agent", f"msg {i}", agent_id=(a, b)[i % 2], meta={"input_tokens": i}
            )
        cv.add_message(s, day.id, "user", "watching", user_id=owner.id)
        assert cv.message_count(s, day.id) == 8
        assert cv.token_usage(s, day.id) == cv.TokenUsage(input_tokens=15, output_tokens=None)
        assert cv.message_count(s, day.id, sender_type="agent") == 6
        page = cv.list_messages(s, day.id, limit=3, offset=2)
        assert [m.content for m in page] == ["msg 1", "msg 2", "msg 3"]
        agent_msgs = cv.list_messages(s, day.id, sender_type="agent", limit=2, offset=4)
        assert [m.content for m in agent_msgs] == ["msg 4", "msg 5"]
        assert cv.get_message(s, page[0].id).meta == {"input_tokens": 1}
        with pytest.raises(InvalidDataError, match="agent_id only"):
            cv.add_message(s, day.id, "agent", "no sender")
        with pytest.raises(InvalidDataError, match="no sender id"):
            cv.add_message(s, day.id, "system", "x", agent_id=a)
        with pytest.raises(InvalidDataError, match="at most 2"):
            cv.create_conversation(s, type="direct", participants=[a, b, c])
        with pytest.raises(ConflictError, match="already has 2"):
            cv.add_participant(s, direct.id, agent_id=b)
        with pytest.raises(ConflictError, match="already in"):
            cv.add_participant(s, day.id, agent_id=b)
        with pytest.raises(NotFoundError, match="agent 9999 not found"):
            cv.create_conversation(s, participants=[9999])
        assert [p.name for p in cv.list_participants(s, day.id)] == ["alpha", "beta", "gamma"]

        assert [x.id for x in cv.list_conversations(s, game_id=game_id)] == [day.id]
        assert [x.id for x in cv.list_conversations(s, agent_id=b)] == [day.id]
        assert [x.id for x in cv.list_conversations_for_user(s, owner.id)] == [direct.id]
        assert [x.id for x in cv.list_all_conversations(s)] == [direct.id, day.id]
        assert [x.id for x in cv.list_conversations(s, type="direct")] == [direct.id]
        cv.archive_conversation(s, direct.id)
        assert [x.id for x in cv.list_conversations(s, status="active")] == [day.id]
        with pytest.raises(ConflictError, match="archived"):
            cv.add_message(s, direct.id, "system", "too late")
        cv.update_conversation(s, day.id, title="Day 1 (vote)", meta={"phase": "day"})
        summary = cvv.list_conversation_summaries(s, game_id=game_id)[0]
        assert (summary.title, summary.participants, summary.messages) == ("Day 1 (vote)", 3, 8)
        detail = cvv.conversation_detail(s, str(day.uuid), limit=2, offset=7)
        assert detail.conversation.id == day.id
        assert [(m.sender_type, m.sender) for m in detail.messages] == [
            ("user", "owner@example.org")
        ]
        assert day.last_message_at is not None and day.updated_at >= day.created_at
        cv.remove_participant(s, day.id, agent_id=c)
        assert cv.participant_count(s, day.id) == 2
        with pytest.raises(NotFoundError):
            cv.remove_participant(s, day.id, agent_id=c)
        cv.delete_message(s, page[0].id)
        assert cv.message_count(s, day.id) == 7


def test_an_agent_speaks_only_where_it_is_a_participant(engine, agents):
    a, b = agents["alpha"], agents["beta"]
    with session_scope(engine, write=True) as s:
        owner = us.create_user(s, email="watcher@example.org").id
        talk = cv.create_conversation(s, title="pair", participants=[a]).id
    refused = f"agent {b} is not a participant of conversation"
    with pytest.raises(ConflictError, match=refused), session_scope(engine, write=True) as s:
        cv.add_message(s, talk, "agent", "let me in", agent_id=b)
    assert count(engine, Message) == 0
    with session_scope(engine, write=True) as s:
        cv.add_message(s, talk, "agent", "hello", agent_id=a)
        cv.add_message(s, talk, "user", "observing", user_id=owner)  # users may observe
        cv.add_participant(s, talk, agent_id=b)
        cv.add_message(s, talk, "agent", "joined", agent_id=b)
    assert count(engine, Message) == 3


def test_database_enforces_sender_and_participant_checks(engine, agents):
    with session_scope(engine, write=True) as s:
        conversation_id = cv.create_conversation(s).id
        user_id = us.create_user(s, email="x@example.org").id
    bad_rows = [
        Message(conversation_id=conversation_id, sender_type="agent", content="x"),
        Message(conversation_id=conversation_id, sender_type="agent", sender_user_id=user_id,
                content="x"),
        Message(conversation_id=conversation_id, sender_type="system",
                sender_agent_id=agents["alpha"], content="x"),
        Message(conversation_id=conversation_id, sender_type="robot", content="x"),
        ConversationParticipant(conversation_id=conversation_id),
        ConversationParticipant(
            conversation_id=conversation_id, agent_id=agents["alpha"], user_id=user_id
        ),
        Conversation(type="telepathy"),
    ]  # fmt: skip
    for row in bad_rows:
        with pytest.raises(IntegrityError), session_scope(engine, write=True) as s:
            s.add(row)


def test_cascades_on_user_conversation_game_and_agent_deletion(engine, agents):
    a, b, c = agents["alpha"], agents["beta"], agents["gamma"]
    with session_scope(engine, write=True) as s:
        ada = us.create_user(s, email="ada@example.org").id
        bob = us.create_user(s, email="bob@example.org").id
        owned = cv.create_conversation(s, user_id=ada, participants=[a]).id
        cv.add_message(s, owned, "agent", "hello", agent_id=a)
        cv.add_message(s, owned, "user", "hi", user_id=ada)
        other = cv.create_conversation(s, user_id=bob, user_participants=[ada, bob]).id
        cv.add_message(s, other, "user", "ada speaking", user_id=ada)
        cv.add_message(s, other, "user", "bob speaking", user_id=bob)
        log_id = write_system_log(s, "about ada's chat", conversation_id=owned).id
    with session_scope(engine, write=True) as s:
        us.delete_user(s, ada)
    # Ada's conversation and messages are gone; in Bob's, her message and participation too.
    assert count(engine, Conversation, Conversation.id == owned) == 0
    assert count(engine, Message, Message.conversation_id == owned) == 0
    assert count(engine, Message, Message.conversation_id == other) == 1
    assert count(engine, ConversationParticipant, ConversationParticipant.user_id == ada) == 0
    with session_scope(engine) as s:
        assert s.get(SystemLog, log_id).conversation_id is None

    with session_scope(engine, write=True) as s:
        cv.delete_conversation(s, other)
    assert count(engine, Message) == 0 and count(engine, ConversationParticipant) == 0

    with session_scope(engine, write=True) as s:
        game_id = make_game(s)
        in_game = cv.create_conversation(s, game_id=game_id, participants=[b, c]).id
        cv.add_message(s, in_game, "agent", "I am a villager", agent_id=b)
        write_system_log(s, "game log", game_id=game_id, agent_id=c)
        graph = kn.create_knowledge_graph(s, name="notes", owner_agent_id=c).id
        coalition = co.create_coalition(s, name="pact", members=[b, c]).id
    # An agent that spoke cannot be deleted: the transcript is history.
    with pytest.raises(IntegrityError), session_scope(engine, write=True) as s:
        s.execute(sa.delete(Agent).where(Agent.id == b))
    # One that only listened can: its participations, memberships and graphs go; logs stay.
    with session_scope(engine, write=True) as s:
        s.execute(sa.delete(Agent).where(Agent.id == c))
    assert count(engine, ConversationParticipant, ConversationParticipant.agent_id == c) == 0
    assert count(engine, CoalitionMember, CoalitionMember.coalition_id == coalition) == 1
    assert count(engine, KnowledgeGraph, KnowledgeGraph.id == graph) == 0
    assert count(engine, SystemLog, SystemLog.message == "game log", SystemLog.agent_id.is_(None))
    # Deleting the game deletes its conversations (part of its record); its logs stay.
    with session_scope(engine, write=True) as s:
        s.execute(sa.delete(Game).where(Game.id == game_id))
    assert count(engine, Conversation, Conversation.id == in_game) == 0
    assert count(engine, SystemLog, SystemLog.game_id.is_(None)) == 2


# --- knowledge chunks ------------------------------------------------------------------------


def _count_upserts(engine):
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO KNOWLEDGE_CHUNKS"):
            # One statement per batch: the driver gets it once, with every row's parameters.
            flat = parameters if isinstance(parameters, list | tuple) else [parameters]
            rows = statement.upper().count("), (") + 1
            seen.append((rows, len(flat) if not isinstance(flat[0], dict) else sum(map(len, flat))))

    event.listen(engine, "before_cursor_execute", before)
    return seen


def test_bulk_upsert_is_one_statement_per_batch_and_idempotent(engine):
    statements = _count_upserts(engine)
    chunks = [
        {"source": "docs", "external_id": f"doc-{i}", "title": f"T{i}", "content": f"body {i}"}
        for i in range(1200)
    ]
    with session_scope(engine, write=True) as s:
        result = kn.bulk_upsert_knowledge_chunks(s, chunks, batch_size=500)
    assert (result.received, result.distinct, result.written, result.batches) == (
        1200, 1200, 1200, 3,
    )  # fmt: skip
    # 7 bound values per row: source, external_id, title, content, meta, created/updated_at.
    assert statements == [(500, 3500), (500, 3500), (200, 1400)]
    with session_scope(engine) as s:
        before = s.scalars(
            sa.select(KnowledgeChunk.updated_at).where(KnowledgeChunk.external_id == "doc-50")
        ).one()

    statements.clear()
    with session_scope(engine, write=True) as s:
        again = kn.bulk_upsert_knowledge_chunks(s, chunks, batch_size=500)
    assert again.written == 0 and [rows for rows, _ in statements] == [500, 500, 200]
    assert count(engine, KnowledgeChunk) == 1200

    changed = [dict(c, content=c["content"] + " (v2)") for c in chunks[:10]]
    changed.append({"source": "docs", "external_id": "doc-0", "content": "last one wins"})
    changed.append({"source": "docs", "content": "no id of its own"})
    with session_scope(engine, write=True) as s:
        third = kn.bulk_upsert_knowledge_chunks(s, changed)
    assert (third.received, third.distinct, third.written, third.batches) == (12, 11, 11, 1)
    with session_scope(engine) as s:
        assert kn.get_knowledge_chunk_by_external_id(s, "doc-0").content == "last one wins"
        assert kn.get_knowledge_chunk_by_external_id(s, "doc-1", source="docs").content == (
            "body 1 (v2)"
        )
        doc50 = kn.get_knowledge_chunk_by_external_id(s, "doc-50")
        assert doc50.updated_at == before  # not rewritten
        hashed = kn.get_knowledge_chunk_by_external_id(
            s, kn.content_external_id("no id of its own")
        )
        assert hashed is not None and hashed.external_id.startswith("sha256:")
    assert count(engine, KnowledgeChunk) == 1201


def test_single_upsert_search_and_delete(engine):
    with session_scope(engine, write=True) as s:
        first = kn.upsert_knowledge_chunk(s, "rules", "Night: mafia pick", external_id="night")
        second = kn.upsert_knowledge_chunk(
            s, "rules", "Night: mafia kill", external_id="night", title="Night", meta={"v": 2}
        )
        assert second.id == first.id and (second.content, second.meta) == (
            "Night: mafia kill", {"v": 2},
        )  # fmt: skip
        kn.upsert_knowledge_chunk(s, "rules", "Day: 100% discussion", external_id="day")
        kn.upsert_knowledge_chunk(s, "faq", "Why is the night short?", external_id="night")
        assert [c.external_id for c in kn.search_knowledge_chunks_by_source(s, "rules")] == [
            "day", "night",
        ]  # fmt: skip
        assert [c.source for c in kn.list_knowledge_chunks(s, text="NIGHT")] == ["faq", "rules"]
        assert [c.external_id for c in kn.list_knowledge_chunks(s, text="100%")] == ["day"]
        assert kn.count_knowledge_chunks(s, source="rules") == 2
        kn.delete_knowledge_chunk(s, first.id)
        with pytest.raises(NotFoundError):
            kn.get_knowledge_chunk(s, first.id)
        assert kn.delete_knowledge_source(s, "faq") == 1
        with pytest.raises(InvalidDataError, match="unknown knowledge chunk field"):
            kn.bulk_upsert_knowledge_chunks(s, [{"source": "x", "content": "y", "body": "z"}])
    with pytest.raises(IntegrityError), session_scope(engine, write=True) as s:
        s.add(KnowledgeChunk(source="raw", external_id=None, content="NULL ids are refused"))


# --- knowledge graphs ------------------------------------------------------------------------


def test_knowledge_graph_access(engine, agents):
    a, b, c, d = (agents[x] for x in ("alpha", "beta", "gamma", "delta"))
    with session_scope(engine, write=True) as s:
        personal = kn.create_knowledge_graph(s, name="mine", owner_agent_id=a)
        shared = kn.create_knowledge_graph(
            s, name="ours", owner_agent_id=a, type="shared", access_list=[b, b]
        )
        public = kn.create_knowledge_graph(s, name="open", owner_agent_id=c, is_public=True)
        world = kn.create_knowledge_graph(s, name="world", type="global", nodes=[{"id": "x"}])
        assert shared.access_list == [b]
        assert [kn.can_access(personal, x) for x in (a, b, c)] == [True, False, False]
        assert [kn.can_access(shared, x) for x in (a, b, c)] == [True, True, False]
        assert kn.can_access(public, d) and kn.can_access(world, d)
        assert kn.can_edit(shared, b) and not kn.can_edit(public, d) and not kn.can_edit(world, d)
        accessible = {g.name for g in kn.list_knowledge_graphs(s, accessible_to=b)}
        assert accessible == {"ours", "open", "world"}
        kn.grant_access(s, personal.id, c)
        assert {g.name for g in kn.list_knowledge_graphs(s, accessible_to=c)} == {
            "mine", "open", "world",
        }  # fmt: skip
        kn.revoke_access(s, personal.id, c)
        assert not kn.can_access(kn.get_knowledge_graph(s, personal.id), c)
        assert [g.name for g in kn.list_knowledge_graphs(s, owner_agent_id=a)] == ["mine", "ours"]
        kn.update_knowledge_graph(s, world.id, edges=[{"source": "x", "target": "x"}])
        assert kn.get_knowledge_graph(s, world.id).edges == [{"source": "x", "target": "x"}]
        with pytest.raises(InvalidDataError, match="needs an owner"):
            kn.create_knowledge_graph(s, name="orphan", type="personal")
        with pytest.raises(ConflictError, match="already exists"):
            kn.create_knowledge_graph(s, name="world", type="global")
        with pytest.raises(NotFoundError, match="agent 9999"):
            kn.create_knowledge_graph(s, name="x", owner_agent_id=a, access_list=[9999])
    with pytest.raises(IntegrityError), session_scope(engine, write=True) as s:
        s.add(KnowledgeGraph(name="orphan", type="shared"))
    with pytest.raises(IntegrityError), session_scope(engine, write=True) as s:
        s.add(KnowledgeGraph(name="world", type="global"))  # ownerless names are unique too


# --- coalitions and logs ---------------------------------------------------------------------


def test_coalitions_members_pool_and_status(engine, agents):
    a, b, c = agents["alpha"], agents["beta"], agents["gamma"]
    with session_scope(engine, write=True) as s:
        pact = co.create_coalition(
            s, name="pact", goal="win", rules={"vote": "majority"}, leader_agent_id=a, members=[b]
        )
        co.add_member(s, pact.id, c, role="scout", contribution=10.0)
        assert co.get_coalition(s, pact.id).value_pool == 10.0
        assert co.contribute(s, pact.id, b, 5.5).value_pool == 15.5
        members = co.list_members(s, pact.id)
        assert [(m.alias, m.role, m.contribution) for m in members] == [
            ("alpha", "leader", 0.0), ("beta", "member", 5.5), ("gamma", "scout", 10.0),
        ]  # fmt: skip
        with pytest.raises(ConflictError, match="already in"):
            co.add_member(s, pact.id, b)
        co.remove_member(s, pact.id, c)
        assert co.get_coalition(s, pact.id).value_pool == 15.5  # contributions stay pooled
        with pytest.raises(NotFoundError):
            co.contribute(s, pact.id, c, 1.0)
        with pytest.raises(InvalidDataError):
            co.contribute(s, pact.id, b, -1.0)
        co.set_coalition_status(s, pact.id, "active")
        other = co.create_coalition(s, name="other", members=[c])
        assert [x.name for x in co.list_coalitions(s, status="active")] == ["pact"]
        assert [x.name for x in co.list_coalitions(s, agent_id=c)] == ["other"]
        with pytest.raises(ConflictError, match="already exists"):
            co.create_coalition(s, name="pact")
        dissolved = co.dissolve_coalition(s, pact.id)
        assert dissolved.status == "dissolved" and dissolved.dissolved_at is not None
        with pytest.raises(ConflictError, match="cannot become active"):
            co.set_coalition_status(s, pact.id, "active")
        with pytest.raises(ConflictError, match="dissolved"):
            co.add_member(s, pact.id, c)
        co.delete_coalition(s, other.id)
    assert count(engine, CoalitionMember) == 2


def test_system_logs(engine, agents):
    with session_scope(engine, write=True) as s:
        game_id = make_game(s)
        for level in ("debug", "info", "warning", "error", "critical"):
            write_system_log(s, f"a {level}", level=level, component="runner", game_id=game_id)
        write_system_log(s, "agent note", agent_id=agents["alpha"], context={"k": 1})
        assert [x.level for x in list_system_logs(s, min_level="error")] == ["critical", "error"]
        assert [x.message for x in list_system_logs(s, agent_id=agents["alpha"])] == ["agent note"]
        assert len(list_system_logs(s, game_id=game_id, component="runner", limit=2)) == 2
        assert list_system_logs(s, level="warning")[0].message == "a warning"
        with pytest.raises(InvalidDataError, match="log level"):
            write_system_log(s, "x", level="loud")


def test_get_or_create_user_survives_a_race(engine, backend):
    if backend == "sqlite":
        pytest.skip("SQLite writers are serialised by BEGIN IMMEDIATE: there is no race")
    import threading

    from arenadb.db.engine import session_factory

    first = session_factory(engine, write=True)()
    winner, created = us.get_or_create_user_by_external_id(first, "auth|race")
    assert created
    outcome: dict[str, object] = {}

    def loser() -> None:
        # Its INSERT waits for the first transaction, then hits the unique constraint.
        with session_scope(engine, write=True) as s:
            user, was_created = us.get_or_create_user_by_external_id(s, "auth|race")
            outcome["result"] = (user.id, was_created)

    thread = threading.Thread(target=loser)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive()  # blocked on the uncommitted row
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert outcome["result"] == (winner.id, False)
