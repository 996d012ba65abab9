"""init / db create / drop / reset and migrations up and down, on both backends."""

from __future__ import annotations

from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import database_exists
from arenadb.schema.lifecycle import check_database, init_database
from arenadb.schema.migrations import script_directory
from tests.support.databases import table_names

runner = CliRunner()


def run(settings, *args):
    return runner.invoke(app, ["--database-url", settings.database_url, *args])


def test_init_creates_and_migrates_then_is_idempotent(fresh_settings):
    assert not database_exists(fresh_settings)
    first = init_database(fresh_settings)
    assert first.created
    every = [r.revision for r in reversed(list(script_directory().walk_revisions()))]
    assert first.migration.applied == every and first.migration.after == [every[-1]]
    assert {"games", "llm_calls", "ratings", "alembic_version"} <= table_names(fresh_settings)
    second = init_database(fresh_settings)
    assert not second.created and second.migration.applied == []
    report = check_database(fresh_settings)
    assert report.migration_state == "up to date"


def test_cli_init_and_check(fresh_settings):
    result = run(fresh_settings, "init")
    assert result.exit_code == 0, result.output
    result = run(fresh_settings, "--json", "db", "check")
    assert result.exit_code == 0, result.output
    assert '"migration_state": "up to date"' in result.stdout
