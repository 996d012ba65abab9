"""`db check` tells the truth: exit 0 only for an arenadb database at head whose live schema
matches the models; pending migrations, an unknown revision, a non-arenadb database, an empty
file and drift exit 3 with the differences listed, in text and in --json. Both backends."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import create_database, create_engine
from arenadb.errors import CheckFailedError
from arenadb.schema.lifecycle import check_database
from arenadb.schema.migrations import downgrade
from tests.support.revisions import head, revisions_after

runner = CliRunner()


def db_check(settings, *extra: str):
    return runner.invoke(app, ["--database-url", settings.database_url, *extra, "db", "check"])


def execute(settings, *statements: str) -> None:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def failed_report(settings) -> dict:
    result = db_check(settings, "--json")
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "failed" and report["problems"]
    return report


def test_a_database_at_head_matching_the_models_is_ok(db_settings):
    report = check_database(db_settings)
    assert report.ok and report.differences == [] and report.problems == []
    result = db_check(db_settings, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ok"


def test_pending_migrations_fail_the_check(db_settings):
    downgrade(db_settings, "0002")
    report = failed_report(db_settings)
    assert report["pending"] == revisions_after("0002")
    assert f"{len(revisions_after('0002'))} pending migrations" in report["problems"][0]
    text = db_check(db_settings)
    assert text.exit_code == 3 and "pending migrations" in text.stderr


def test_an_unknown_revision_fails_the_check_in_one_line(db_settings):
    execute(db_settings, "update alembic_version set version_num = 'zzzz'")
    report = failed_report(db_settings)
    assert "zzzz" in report["problems"][0] and f"0001..{head()}" in report["problems"][0]
    result = db_check(db_settings)
    assert result.exit_code == 3
    assert "ResolutionError" not in result.output and "internal error" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert "zzzz" in line and f"head {head()}" in line


def test_a_database_that_is_not_arenadbs_fails_the_check(fresh_settings):
    create_database(fresh_settings)
    execute(fresh_settings, "create table inventory (id integer primary key, name text)")
    report = failed_report(fresh_settings)
    assert "not an arenadb database" in report["problems"][0]


def test_an_empty_database_is_not_initialised(fresh_settings):
    create_database(fresh_settings)
    report = failed_report(fresh_settings)
    assert "not initialised" in report["problems"][0]


def test_an_empty_file_is_not_an_arenadb_database(backend, fresh_settings):
    if backend != "sqlite":
        pytest.skip("a 0-byte file is a SQLite case")
    path = fresh_settings.url.sqlite_path
    path.write_bytes(b"")
    report = failed_report(fresh_settings)
    assert "empty (0 bytes)" in report["problems"][0]
    path.write_bytes(b"not a database at all, just text" * 10)
    assert "not a SQLite database" in failed_report(fresh_settings)["problems"][0]


def test_a_missing_database_is_an_error_not_a_check(fresh_settings):
    result = db_check(fresh_settings)
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_a_dropped_table_and_column_are_drift(db_settings):
    execute(db_settings, "drop table system_logs", "alter table games drop column seed")
    report = failed_report(db_settings)
    assert any("remove_table" not in d and "system_logs" in d for d in report["differences"])
    assert any("games.seed" in d for d in report["differences"])
    with pytest.raises(CheckFailedError) as failed:
        check_database(db_settings)
    assert "differs from the models" in str(failed.value)
    text = db_check(db_settings)
    assert text.exit_code == 3 and "games.seed" in text.stderr


def test_a_dropped_trigger_is_drift(backend, db_settings):
    on_table = " ON prompts" if backend == "postgresql" else ""
    execute(db_settings, f"DROP TRIGGER prompts_immutable{on_table}")
    report = failed_report(db_settings)
    assert report["differences"] == ["missing trigger prompts.prompts_immutable"]


def test_an_extra_trigger_is_drift(backend, db_settings):
    if backend == "postgresql":
        execute(
            db_settings,
            "CREATE FUNCTION stray() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
            "CREATE TRIGGER stray BEFORE INSERT ON games FOR EACH ROW EXECUTE FUNCTION stray()",
        )
    else:
        execute(db_settings, "CREATE TRIGGER stray BEFORE INSERT ON games BEGIN SELECT 1; END")
    assert failed_report(db_settings)["differences"] == ["unexpected trigger games.stray"]


def test_a_trigger_of_the_right_name_that_does_nothing_is_drift(backend, db_settings):
    """Triggers are compared by definition too: a same-named trigger that never fires (or, on
    PostgreSQL, whose function's body was replaced) is as good as a missing one."""
    if backend == "postgresql":
        execute(
            db_settings,
            "CREATE OR REPLACE FUNCTION arenadb_prompts_immutable() RETURNS trigger "
            "LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
        )
    else:
        execute(
            db_settings,
            "DROP TRIGGER prompts_immutable",
            "CREATE TRIGGER prompts_immutable BEFORE UPDATE ON prompts FOR EACH ROW WHEN 0 "
            "BEGIN SELECT 1; END",
        )
    assert failed_report(db_settings)["differences"] == [
        "trigger prompts.prompts_immutable: its definition differs from the migrations'"
    ]


def test_the_trigger_digests_are_those_of_a_database_at_head(backend, db_settings):
    from arenadb.schema.compare import TRIGGER_DIGESTS, expected_triggers, live_triggers

    engine = create_engine(db_settings, pooled=False)
    try:
        with engine.connect() as conn:
            live, expected = live_triggers(conn), expected_triggers(conn)
    finally:
        engine.dispose()
    assert live.keys() == expected
    # A migration that changes a trigger: paste these into TRIGGER_DIGESTS.
    assert TRIGGER_DIGESTS[backend] == live, sorted(live.items())


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_missing_search_view_is_drift(db_settings):
    execute(db_settings, "DROP VIEW search_llm_calls_text")
    assert failed_report(db_settings)["differences"] == [
        "missing search view search_llm_calls_text"
    ]


def test_a_changed_check_constraint_is_drift(backend, db_settings):
    if backend == "postgresql":
        execute(
            db_settings,
            "alter table prompts drop constraint ck_prompts_version_positive",
            "alter table prompts add constraint ck_prompts_version_positive check (version >= 2)",
        )
    else:
        # SQLite cannot alter a constraint: rewrite the stored CREATE TABLE text, as a
        # hand-made table would have it.
        execute(
            db_settings,
            "PRAGMA writable_schema = ON",
            "update sqlite_master set sql = replace(sql, 'version >= 1', 'version >= 2') "
            "where name = 'prompts'",
            "PRAGMA writable_schema = OFF",
        )
    (difference,) = failed_report(db_settings)["differences"]
    assert difference.startswith("changed check constraint prompts.ck_prompts_version_positive")
    assert ">= 2" in difference and ">= 1" in difference


def test_a_dropped_check_constraint_is_drift(backend, db_settings):
    if backend != "postgresql":
        pytest.skip("SQLite cannot drop a constraint (the changed-text test covers SQLite)")
    execute(db_settings, "alter table games drop constraint ck_games_status")
    (difference,) = failed_report(db_settings)["differences"]
    assert difference.startswith("missing check constraint games.ck_games_status")


def test_the_check_leaves_nothing_behind(backend, db_settings):
    # Reading PostgreSQL's spelling of the models' CHECKs uses temporary tables: rolled back.
    check_database(db_settings)
    engine = create_engine(db_settings, pooled=False)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert not any(t.startswith("arenadb_probe") for t in tables)


def test_a_read_only_postgresql_database_is_still_checked(backend, db_settings):
    if backend != "postgresql":
        pytest.skip("read-only databases (hot standbys) are PostgreSQL's")
    name = db_settings.url.database
    from arenadb.db.admin import maintenance_connection

    with maintenance_connection(db_settings) as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    assert check_database(db_settings).ok  # no temporary table for CHECK texts: names only
    with maintenance_connection(db_settings) as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
    execute(db_settings, "alter table games drop constraint ck_games_status")
    with maintenance_connection(db_settings) as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    (difference,) = failed_report(db_settings)["differences"]
    assert difference == "missing check constraint games.ck_games_status"
