"""Every revision error is one clear line naming what the database has and what the code knows;
`migrate down -1`, `migrate sql --down` and ranges in either direction work or are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import create_engine
from arenadb.schema import migrations
from arenadb.schema.migrations import downgrade, migration_status, script_directory

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def cli(settings, *args: str):
    return runner.invoke(app, ["--database-url", settings.database_url, *args])


def one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    return line


def set_version(settings, version: str) -> None:
    engine = create_engine(settings, pooled=False)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"update alembic_version set version_num = '{version}'")
    engine.dispose()


@pytest.mark.parametrize("command", [["migrate", "status"], ["migrate", "up"]])
def test_a_database_at_an_unknown_revision(db_settings, command):
    set_version(db_settings, "zzzz")
    line = one_line_error(cli(db_settings, *command), 1)
    assert "is at revision zzzz" in line and "does not know" in line
    assert "0001..0006, head 0006" in line


def test_migrate_check_reports_an_unknown_target_revision(db_settings):
    set_version(db_settings, "zzzz")
    result = cli(db_settings, "migrate", "check", "--json")
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["target_revision"] == ["zzzz"]
    assert any("zzzz" in p for p in report["problems"])


def test_down_to_a_revision_above_the_database(db_settings):
    downgrade(db_settings, "0002")
    line = one_line_error(cli(db_settings, "migrate", "down", "0004", "--yes"), 1)
    assert "is at 0002" in line and "0004 is not below it" in line and "upgrade instead" in line
    assert migration_status(db_settings).current == ["0002"]


def test_up_to_a_revision_below_the_database(db_settings):
    line = one_line_error(cli(db_settings, "migrate", "up", "0002"), 1)
    assert "is at 0006" in line and "0002 is below it" in line


def test_down_minus_one_as_the_readme_writes_it(db_settings):
    result = cli(db_settings, "migrate", "down", "-1", "--yes")
    assert result.exit_code == 0, result.output
    assert "reverted 0006" in result.stderr
    assert migration_status(db_settings).current == ["0005"]
    result = cli(db_settings, "migrate", "down", "-3", "--yes")
    assert result.exit_code == 0, result.output
    assert migration_status(db_settings).current == ["0002"]
    line = one_line_error(cli(db_settings, "migrate", "down", "-3", "--yes"), 1)
    assert "is at 0002, 2 revisions above base" in line and "cannot go down 3" in line


def test_up_prints_each_revision_with_its_time(fresh_settings):
    assert cli(fresh_settings, "db", "create").exit_code == 0
    result = cli(fresh_settings, "migrate", "up", "+2")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("  applied")]
    assert [line.split()[1] for line in lines] == ["0001", "0002"]
    assert all(line.endswith(" s)") for line in lines), lines
    result = cli(fresh_settings, "migrate", "up")
    assert [line.split()[1] for line in result.stderr.splitlines() if "  applied" in line] == [
        "0003",
        "0004",
        "0005",
        "0006",
    ]


def two_heads(tmp_path, monkeypatch) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(REPO / "migrations", copy)
    head = script_directory().get_heads()[0]
    for rev in ("9998", "9999"):
        (copy / "versions" / f"{rev}_branch.py").write_text(
            f'revision = "{rev}"\ndown_revision = "{head}"\nbranch_labels = None\n'
            "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
        )
    monkeypatch.setattr(migrations, "migrations_dir", lambda: copy)


def test_up_with_two_heads(tmp_path, monkeypatch, db_settings):
    two_heads(tmp_path, monkeypatch)
    line = one_line_error(cli(db_settings, "migrate", "up"), 1)
    assert "2 heads (9998, 9999)" in line or "2 heads (9999, 9998)" in line
    assert "merge" in line


def test_sql_with_an_unknown_revision(fresh_settings):
    line = one_line_error(cli(fresh_settings, "migrate", "sql", "zz:0003"), 2)
    assert "unknown revision 'zz'" in line and "0001..0006" in line


def test_sql_ranges_in_both_directions(backend, fresh_settings):
    up = cli(fresh_settings, "migrate", "sql", "0001:0003")
    assert up.exit_code == 0, up.output
    assert "CREATE TABLE" in up.stdout and "Running upgrade 0001 -> 0002" in up.stdout
    assert "Running upgrade  -> 0001" not in up.stdout
    down = cli(fresh_settings, "migrate", "sql", "0005:0001")
    assert down.exit_code == 0, down.output
    assert "DROP TRIGGER prompts_immutable" in down.stdout
    assert "Running downgrade 0002 -> 0001" in down.stdout
    default_down = cli(fresh_settings, "migrate", "sql", "--down")
    assert default_down.exit_code == 0, default_down.output
    assert "DROP TABLE games" in default_down.stdout
    line = one_line_error(cli(fresh_settings, "migrate", "sql", "--down", "base:head"), 2)
    assert "goes up" in line
    line = one_line_error(cli(fresh_settings, "migrate", "sql", "0003:0003"), 2)
    assert "empty" in line
