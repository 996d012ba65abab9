"""Search across the record (`arenadb.inspection.search`, `arenadb search`), on both backends."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import arenadb
from arenadb.cli import app
from arenadb.db import session_scope, write_transaction
from arenadb.errors import InvalidArgumentError, NotFoundError
from arenadb.inspection.filters import GameFilter
from arenadb.inspection.search import search
from arenadb.models import Game
from arenadb.schema.compare import schema_differences
from arenadb.schema.migrations import downgrade, upgrade
from arenadb.social import conversations, knowledge


def record_game(settings, *, env_id="SecretMafia-v0", prompt="p", turns=()):
    """One finished two-seat game recorded through the public API; its id."""
    with arenadb.connect(settings=settings) as arena:
        model = arena.register_model("search-model", provider="test")
        game_type = arena.register_game_type(env_id, min_seats=2, max_seats=2)
        agents = [
            arena.register_agent(model=model, kind="plain", prompt=(f"{prompt}{s}", f"You {s}."))
            for s in range(2)
        ]
        recorder = arena.start_game(game_type.id, [arenadb.Seat(a.id) for a in agents])
        for number, (observation, action, response) in enumerate(turns, start=1):
            recorder.record_turn(
                seat=number % 2,
                turn_number=number,
                observation=observation,
                action=action,
                llm_calls=(
                    {
                        "model": model.id,
                        "response": {"choices": [{"message": {"content": response}}]},
                        "reasoning": None,
                    },
                )
                if response
                else (),
            )
        recorder.finish(outcome="draw")
        return recorder.game_id


@pytest.fixture
def arena(db_settings, engine):
    """Two games, a conversation of the first, and knowledge chunks."""
    first = record_game(
        db_settings,
        turns=[
            ("Night falls. Who do you suspect?", "I accuse Player 1", "I think zanzibar lied."),
            ("Day 2: the zanzibar zanzibar zanzibar vote", "[vote] 1", None),
        ],
    )
    second = record_game(
        db_settings,
        env_id="ColonelBlotto-v0",
        prompt="q",
        turns=[("Allocate troops", "[A5 B5 C10]", "Zanzibar gets ten troops\nand more")],
    )
    with session_scope(engine) as session:
        conv = conversations.create_conversation(session, title="table talk", game_id=first)
        conversations.add_message(session, conv.id, "system", "The zanzibar rule applies.")
        knowledge.upsert_knowledge_chunk(
            session,
            "rules",
            "Blotto: troops on three fields.",
            external_id="blotto",
            title="Zanzibar rules",
        )
        knowledge.upsert_knowledge_chunk(session, "rules", "Mafia at night.", external_id="mafia")
    return first, second


def kinds(hits):
    return sorted((h.kind, h.game_id) for h in hits)


def test_finds_turns_messages_llm_responses_and_knowledge(engine, arena):
    first, second = arena
    hits = search(engine, "zanzibar")
    assert kinds(hits) == sorted(
        [
            ("turn", first),
            ("llm", first),
            ("llm", second),
            ("message", first),
            ("knowledge", None),
        ]
    )
    turn = next(h for h in hits if h.kind == "turn")
    assert (turn.turn, turn.seat, turn.seq) == (2, 0, 1)
    assert "**zanzibar**" in turn.snippet
    llm = next(h for h in hits if h.kind == "llm" and h.game_id == second)
    # The response's string values are indexed, not its JSON (keys, escapes): "\nand" is "and".
    assert llm.turn == 1 and "**Zanzibar**" in llm.snippet and "choices" not in llm.snippet
    assert [h.kind for h in search(engine, "and more", within=["llm"])] == ["llm"]
    # Ranked: the turn that says it three times comes before the message that says it once.
    ranked = [h.kind for h in search(engine, "zanzibar", within=["turns", "messages"])]
    assert ranked == ["turn", "message"]


def test_every_word_must_occur_and_words_are_never_syntax(engine, arena):
    assert [h.kind for h in search(engine, "zanzibar lied")] == ["llm"]
    assert search(engine, "zanzibar OR troops", within=["turns"]) == []
    for text in ['"', "*", "-", "( )"]:
        with pytest.raises(InvalidArgumentError, match="nothing to search for"):
            search(engine, text)
    for text in ['zanzibar"', "zanz*", "NEAR(zanzibar lied)", "-zanzibar", "zanzibar\x00", "'"]:
        assert search(engine, text + " x") == []  # parsed as words, "x" occurs nowhere
    assert len(search(engine, '"zanzibar"', within=["turns"])) == 1
    assert search(engine, "zanzibar " * 1_000) and search(engine, "q" * 10_000) == []
    assert search(engine, "NEAR OR AND NOT") == []


def test_filters_paging_and_one_game(engine, arena):
    first, second = arena
    in_blotto = search(engine, "zanzibar", filters=GameFilter(game_type="ColonelBlotto-v0"))
    assert kinds(in_blotto) == [("llm", second)]  # knowledge belongs to no game
    assert {h.game_id for h in search(engine, "zanzibar", game=first)} == {first}
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert search(engine, "zanzibar", filters=GameFilter(since=future)) == []
    with engine.connect() as conn:
        agent = conn.execute(sa.text("select alias from agents where alias is not null")).first()
    if agent is not None:
        assert search(engine, "zanzibar", filters=GameFilter(agent=agent[0])) is not None
    everything = search(engine, "zanzibar", limit=100)
    pages = [search(engine, "zanzibar", limit=2, offset=o) for o in (0, 2, 4)]
    assert [h for page in pages for h in page] == everything
    with pytest.raises(InvalidArgumentError, match="belong to no game"):
        search(engine, "zanzibar", within=["knowledge"], game=first)
    with pytest.raises(InvalidArgumentError, match="cannot search 'games'"):
        search(engine, "zanzibar", within=["games"])
    with pytest.raises(NotFoundError):
        search(engine, "zanzibar", filters=GameFilter(agent="nobody"))


def test_the_writes_keep_the_index(engine, arena, db_settings):
    first, second = arena
    with write_transaction(engine) as conn:
        conn.execute(
            sa.text("update game_turns set action = 'quokka' where game_id = :g"), {"g": second}
        )
        conn.execute(
            sa.text("update llm_calls set response = null where game_id = :g"), {"g": second}
        )
    assert kinds(search(engine, "quokka")) == [("turn", second)]
    assert kinds(search(engine, "zanzibar", within=["llm"])) == [("llm", first)]
    with session_scope(engine) as session:
        session.delete(session.get(Game, first))  # cascades to turns, calls, the conversation
        knowledge.delete_knowledge_source(session, "rules")
    assert search(engine, "zanzibar") == []
    assert schema_differences_of(engine) == []


def schema_differences_of(engine):
    with engine.connect() as conn:
        return schema_differences(conn)


def test_knowledge_list_search_uses_the_index(engine, arena):
    with session_scope(engine) as session:
        found = knowledge.list_knowledge_chunks(session, text="ZANZIBAR rules")
        assert [c.external_id for c in found] == ["blotto"]
        assert knowledge.list_knowledge_chunks(session, text="zanz") == []  # words, not LIKE


def test_the_migration_indexes_what_is_already_there(db_settings, engine):
    downgrade(db_settings, "0005")
    with write_transaction(engine) as conn:
        conn.execute(
            sa.text(
                "insert into knowledge_chunks (source, external_id, content, created_at, "
                "updated_at) values ('s', 'e', 'an old wombat', :t, :t)"
            ),
            {"t": datetime.now(timezone.utc)},
        )
    upgrade(db_settings, "head")
    assert [h.kind for h in search(engine, "wombat")] == ["knowledge"]


def test_postgresql_search_uses_the_gin_indexes(backend, engine, arena):
    if backend != "postgresql":
        pytest.skip("GIN expression indexes are PostgreSQL's; FTS5 MATCH always uses its index")
    from arenadb.db.fulltext import SOURCES
    from arenadb.inspection.search import _statement

    with engine.connect() as conn:
        conn.exec_driver_sql("set enable_seqscan = off")
        # A few rows a partition: a plain index scan with a filter could look as cheap.
        conn.exec_driver_sql("set enable_indexscan = off")
        for source in SOURCES.values():
            statement = _statement(conn, source, "zanzibar", None, 10)
            sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("explain " + sql))
            # The index itself, or on a partitioned table (0013) its partitions' indexes.
            names = {source.pg_index} | set(
                conn.execute(
                    sa.text(
                        "SELECT i.inhrelid::regclass::text FROM pg_inherits i "
                        "WHERE i.inhparent = cast(:index AS regclass)"
                    ),
                    {"index": source.pg_index},
                ).scalars()
            )
            assert any(name in plan for name in names), plan


def test_postgresql_looks_up_the_game_of_each_match_by_its_key(backend, engine, arena):
    """Narrowed by a game filter, a search costs its matches, not the games of the filter: each
    match's game is found through the games key, never by scanning the filter's games to join
    them (the planner's choice at 30,000 games: a hash join over every Secret Mafia game)."""
    if backend != "postgresql":
        pytest.skip("a plan of PostgreSQL's; SQLite probes the games key for each match")
    from arenadb.db.fulltext import SOURCES
    from arenadb.inspection.search import _game_conditions, _statement

    filters = GameFilter(game_type="SecretMafia-v0", status="completed")
    with engine.connect() as conn:
        # No join may be a nested loop: what is left is what the query itself asks for.
        conn.exec_driver_sql("set enable_nestloop = off")
        conn.exec_driver_sql("set enable_seqscan = off")
        conditions = _game_conditions(conn, filters, None)
        # A partitioned table (turns, LLM calls) is named per partition in the plan:
        # game_turns_1.game_id for the first one.
        for name, table in (
            ("turns", "game_turns"),
            ("llm", "llm_calls"),
            ("messages", "conversations"),
        ):
            statement = _statement(conn, SOURCES[name], "zanzibar", conditions, 10)
            sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("explain " + sql))
            probes = [line for line in plan.splitlines() if "Index Cond:" in line]
            key = re.compile(rf"id = {table}(_\d+)?\.game_id\)")
            assert any(key.search(line) for line in probes), plan
    first, _second = arena
    assert {h.game_id for h in search(engine, "zanzibar", filters=filters)} == {first}


def cli(db_settings, *args):
    return CliRunner().invoke(
        app, list(args), env={"ARENADB_DATABASE_URL": db_settings.database_url}
    )


def test_cli_search(db_settings, arena):
    first, _second = arena
    result = cli(db_settings, "search", "zanzibar", "--in", "turns", "--in", "llm", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["kind"] for r in rows} == {"turn", "llm"} and all(r["snippet"] for r in rows)
    result = cli(db_settings, "search", "zanzibar", "--game-type", "ColonelBlotto-v0", "--csv")
    assert result.exit_code == 0, result.output
    header, *lines = list(csv.reader(io.StringIO(result.stdout)))
    assert header[:7] == ["kind", "game_id", "turn", "seat", "id", "score", "snippet"]
    assert len(lines) == 1 and lines[0][6] == "**Zanzibar** gets ten troops and more"
    result = cli(db_settings, "search", "zanzibar", "--game", str(first), "-n", "1")
    assert result.exit_code == 0 and "zanzibar" in result.stdout
    for args, code in (((" * ",), 2), (("x", "--in", "nope"), 2), (("x", "--agent", "no1"), 1)):
        result = cli(db_settings, "search", *args)
        assert result.exit_code == code, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_missing_part_of_the_index_is_drift(backend, engine):
    assert schema_differences_of(engine) == []  # FTS5 shadow tables are no unknown tables
    with write_transaction(engine) as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("drop index ix_messages_search")
        else:
            conn.exec_driver_sql("drop trigger search_turns_insert")
            conn.exec_driver_sql("drop table search_knowledge")
    expected = (
        ["missing search index messages.ix_messages_search"]
        if backend == "postgresql"
        else [
            "missing trigger game_turns.search_turns_insert",
            "missing search table search_knowledge (of knowledge_chunks)",
        ]
    )
    assert schema_differences_of(engine) == expected
