"""`db check` says ok only over a search index in step with what it indexes; `db reindex`
rebuilds it. It used to pass an emptied FTS5 table (`DELETE FROM search_turns`)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_engine
from arenadb.db.search_index import PROBES, search_index_problems
from arenadb.inspection.search import search
from arenadb.seeding.seeder import seed_database

runner = CliRunner()


def _run(engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


def _check(settings: Settings):
    result = runner.invoke(app, ["--database-url", settings.database_url, "db", "check", "--json"])
    return result.exit_code, json.loads(result.stdout)


def _damage(backend: str, engine, how: str) -> None:
    if backend == "sqlite":
        where = {
            "emptied": "",
            "newest": "WHERE rowid = (SELECT max(rowid) FROM game_turns)",
            "middle": "WHERE rowid = (SELECT rowid FROM game_turns ORDER BY 1 LIMIT 1 OFFSET 9)",
        }[how]
        # An external-content FTS5 table: a DELETE removes index entries, the turns stay.
        _run(engine, f"DELETE FROM search_turns {where}")
    else:
        # What an interrupted CREATE INDEX CONCURRENTLY leaves: an index the planner ignores.
        # On a plain table (messages), and on one partition of a partitioned one (turns: the
        # index of game_turns_p0 that belongs to ix_game_turns_search).
        _run(
            engine,
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid IN ("
            "'ix_messages_search'::regclass, (SELECT inhrelid FROM pg_inherits "
            "JOIN pg_class ON pg_class.oid = inhrelid WHERE inhparent = "
            "'ix_game_turns_search'::regclass AND starts_with(relname::text, 'game_turns_p0_')))",
        )
        from arenadb.db.search_index import _invalid_postgresql_indexes

        with engine.connect() as conn:
            tables = sorted(table for _index, table in _invalid_postgresql_indexes(conn))
        assert tables == ["game_turns_p0", "messages"]


@pytest.mark.parametrize("how", ["emptied", "newest", "middle"])
def test_db_check_finds_a_search_index_out_of_step_and_reindex_mends_it(
    backend, db_settings: Settings, how
):
    if backend == "postgresql" and how != "emptied":
        pytest.skip("PostgreSQL's GIN index has no rows of its own to lose: validity is checked")
    seed_database(db_settings, "test")
    engine = create_engine(db_settings)
    try:
        assert _check(db_settings)[0] == 0
        found = search(engine, "the", within=["turns"])
        assert found
        _damage(backend, engine, how)
        with engine.connect() as conn:
            assert search_index_problems(conn)
        code, report = _check(db_settings)
        assert code == 3, report
        assert report["derived_problems"] and report["differences"] == []
        assert "db reindex" in report["problems"][0], report["problems"]
        result = runner.invoke(app, ["--database-url", db_settings.database_url, "db", "reindex"])
        assert result.exit_code == 0, result.output
        assert "rebuilt the search index" in result.stderr
        code, report = _check(db_settings)
        assert code == 0 and report["derived_problems"] == [], report
        again = search(engine, "the", within=["turns"])
        assert [h.id for h in again] == [h.id for h in found]
    finally:
        engine.dispose()


def test_an_empty_database_is_in_step(backend, engine):
    with engine.connect() as conn:
        assert search_index_problems(conn) == []


def test_the_probes_are_few_whatever_the_size():
    """The check reads a bounded number of rows per table (fast at paper scale)."""
    assert PROBES <= 64


def test_reindex_refuses_another_applications_database(backend, fresh_settings: Settings):
    from arenadb.db import create_database

    create_database(fresh_settings)
    engine = create_engine(fresh_settings, pooled=False)
    try:
        _run(engine, "CREATE TABLE invoices (id integer primary key)")
    finally:
        engine.dispose()
    result = runner.invoke(app, ["--database-url", fresh_settings.database_url, "db", "reindex"])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "not an arenadb database" in line and "invoices" in line, line
    assert "--any-database" not in line  # reindex takes no such option


@pytest.mark.parametrize("table", ["llm_usage_daily", "llm_usage_monthly", "llm_usage_seats"])
def test_db_check_finds_a_usage_rollup_behind_the_calls(backend, db_settings: Settings, table):
    """The other derived data of the same class: `DELETE FROM llm_usage_daily` passed too; so
    did emptying either level added since."""
    seed_database(db_settings, "test")
    engine = create_engine(db_settings)
    try:
        _run(engine, f"DELETE FROM {table}")
    finally:
        engine.dispose()
    code, report = _check(db_settings)
    assert code == 3, report
    (problem,) = (p for p in report["problems"] if "models rollup rebuild" in p)
    assert f"({table})" in problem, problem
    result = runner.invoke(
        app, ["--database-url", db_settings.database_url, "models", "rollup", "rebuild"]
    )
    assert result.exit_code == 0, result.output
    code, report = _check(db_settings)
    assert code == 0 and report["derived_problems"] == [], report
