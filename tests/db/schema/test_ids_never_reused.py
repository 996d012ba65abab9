"""Issue 15: ids are never given twice, and a deleted agent leaves every access list.

On SQLite a table without AUTOINCREMENT gives a new row max(id) + 1, so the agent registered
after the newest one was deleted got its id and its place on knowledge-graph access lists.
"""

from __future__ import annotations

import sqlalchemy as sa

import arenadb
from arenadb.config import Settings
from arenadb.db import create_database, create_engine, session_scope
from arenadb.models import KnowledgeGraph, metadata
from arenadb.schema.compare import schema_differences
from arenadb.schema.migrations import downgrade, script_directory, upgrade
from arenadb.social.knowledge import can_access, create_knowledge_graph
from arenadb.social.users import create_user

# "Ids are never reused", and the revision before it.
NEVER_REUSED_REVISION = "0007"
BEFORE = "0006"
# Indexes that revisions after NEVER_REUSED_REVISION add to the tables that existed before it
# (0011: the stored boards' watermark index on games).
INDEXES_ADDED_LATER = ["ix_games_board_watermark"]


def _register(arena: arenadb.Arena, n: int) -> int:
    return arena.register_agent(model="m", kind="k", prompt=(f"p{n}", f"text {n}")).id


def _delete_agent(engine: sa.Engine, agent_id: int) -> None:
    with engine.begin() as conn:  # what any tool would do: plain SQL
        conn.execute(sa.text("delete from agents where id = :id"), {"id": agent_id})


def test_every_referenced_table_never_reuses_ids():
    # Derived from the models, so that a new table cannot be left out: every table with an
    # integer id that a foreign key points at (plus the ids commands show, marked by hand).
    integer_ids = {
        name
        for name, table in metadata.tables.items()
        if table.autoincrement_column is not None
        and isinstance(table.autoincrement_column.type, sa.Integer)
    }
    referenced = {
        fk.column.table.name
        for table in metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.name == "id" and isinstance(fk.column.type, sa.Integer)
    }
    marked = {
        name
        for name, table in metadata.tables.items()
        if table.dialect_options["sqlite"].get("autoincrement")
    }
    assert referenced <= marked <= integer_ids
    # What revision 0007 made AUTOINCREMENT stays marked (its own list, frozen in the revision).
    rebuilt = script_directory().get_revision(NEVER_REUSED_REVISION).module.TABLES
    assert set(rebuilt) <= marked


def test_a_deleted_agents_id_is_never_given_again(backend, db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        first, newest = _register(arena, 1), _register(arena, 2)
        _delete_agent(arena.engine, newest)
        assert _register(arena, 3) > newest
        with session_scope(arena.engine, write=True) as session:
            ada = create_user(session, email="ada@example.org").id
        with arena.engine.begin() as conn:
            conn.execute(sa.text("delete from users where id = :id"), {"id": ada})
        with session_scope(arena.engine, write=True) as session:
            assert create_user(session, email="bob@example.org").id > ada
        assert first < newest


def test_a_deleted_agent_leaves_every_access_list(backend, db_settings: Settings):
    with arenadb.connect(settings=db_settings) as arena:
        owner, reader, other = (_register(arena, n) for n in range(3))
        with session_scope(arena.engine, write=True) as session:
            graph = create_knowledge_graph(
                session, name="plans", owner_agent_id=owner, access_list=[reader, other]
            )
            shared = create_knowledge_graph(
                session, name="s", owner_agent_id=other, type="shared", access_list=[reader]
            )
            graph_id, shared_id = graph.id, shared.id
        _delete_agent(arena.engine, reader)
        newcomer = _register(arena, 9)
        with session_scope(arena.engine) as session:
            graph = session.get(KnowledgeGraph, graph_id)
            shared = session.get(KnowledgeGraph, shared_id)
            assert graph is not None and shared is not None
            assert graph.access_list == [other]
            assert shared.access_list == []
            assert not can_access(graph, newcomer) and not can_access(graph, reader)


def test_a_database_migrated_from_0005_keeps_its_data_and_reuses_no_id(
    backend, fresh_settings: Settings
):
    create_database(fresh_settings)
    # Data written by today's code, then the schema taken back to before this revision (the
    # recorder writes today's columns, so it cannot write at an old revision itself).
    upgrade(fresh_settings, "head")
    with arenadb.connect(settings=fresh_settings) as arena:
        agents = [_register(arena, n) for n in range(3)]
        recorder = arena.start_game("G", agents[:2])
        recorder.record_turn(seat=0, action="go")
        recorder.finish(outcome="draw")
        with session_scope(arena.engine, write=True) as session:
            create_knowledge_graph(
                session, name="g", owner_agent_id=agents[0], access_list=[agents[2]]
            )
    downgrade(fresh_settings, BEFORE)
    engine = create_engine(fresh_settings)
    try:
        with engine.connect() as conn:
            tables = sorted(set(sa.inspect(conn).get_table_names()) & set(metadata.tables))
            before = {
                t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in tables
            }
            if backend == "sqlite":
                indexes = (
                    conn.exec_driver_sql(
                        "select name from sqlite_master where type = 'index' and tbl_name in "
                        f"({', '.join(repr(t) for t in tables)}) order by name"
                    )
                    .scalars()
                    .all()
                )
                differences = schema_differences(conn)
                assert "table agents: AUTOINCREMENT missing" in differences
        upgrade(fresh_settings, "head")
        with engine.connect() as conn:
            after = {
                t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in tables
            }
            assert after == before
            assert schema_differences(conn) == []
            if backend == "sqlite":
                assert conn.exec_driver_sql(
                    "select name from sqlite_master where type = 'index' and tbl_name in "
                    f"({', '.join(repr(t) for t in tables)}) order by name"
                ).scalars().all() == sorted([*indexes, *INDEXES_ADDED_LATER])
                sequence = dict(conn.exec_driver_sql("select name, seq from sqlite_sequence").all())
                assert sequence["agents"] == max(agents)
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        # The prompt trigger survived the rebuild of its table.
        with engine.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(sa.text("update prompts set content = 'changed'"))
                raise AssertionError("a prompt was changed")
            except sa.exc.DBAPIError as exc:
                assert "immutable" in str(exc)
        _delete_agent(engine, agents[2])
        with arenadb.connect(settings=fresh_settings) as arena:
            assert _register(arena, 7) > max(agents)
        with engine.connect() as conn:
            access = conn.execute(sa.text("select access_list from knowledge_graphs")).scalar_one()
            assert access in ([], "[]")
        downgrade(fresh_settings, "0005")
        with engine.connect() as conn:
            assert "table agents: AUTOINCREMENT missing" in schema_differences(conn) or (
                backend == "postgresql"
            )
        upgrade(fresh_settings, "head")
        with engine.connect() as conn:
            assert schema_differences(conn) == []
    finally:
        engine.dispose()
