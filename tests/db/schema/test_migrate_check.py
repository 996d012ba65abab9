"""`migrate check` compares CHECK constraints and triggers, reports every failure of the
migrations themselves as exit 3 with a JSON report, and never leaves a scratch database behind
(a killed run's leftover is removed by the next run, and nothing that is not ours is touched)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import create_database, database_exists, drop_database
from arenadb.db.admin import maintenance_connection
from arenadb.errors import MigrationFailedError
from arenadb.models import metadata
from arenadb.schema import compare, migrations, scratch
from arenadb.schema.migrations import script_directory

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def check(settings, *extra: str):
    return runner.invoke(
        app, ["--database-url", settings.database_url, "migrate", "check", "--json", *extra]
    )


def failed(result) -> dict:
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    return report


def scratch_names(settings) -> list[str]:
    """Scratch databases (or SQLite scratch folders) created by this process."""
    if settings.url.is_sqlite:
        prefix = f"{scratch.SQLITE_PREFIX}{os.getpid()}-"
        return [p.name for p in Path(tempfile.gettempdir()).glob(f"{prefix}*")]
    with maintenance_connection(settings) as conn:
        return list(
            conn.execute(
                sa.text("select datname from pg_database where starts_with(datname, :p)"),
                {"p": f"{scratch.PREFIX}{os.getpid()}_"},
            ).scalars()
        )


def test_a_changed_check_constraint_is_drift(monkeypatch, fresh_settings):
    (constraint,) = [
        c for c in metadata.tables["prompts"].constraints if c.name == "ck_prompts_version_positive"
    ]
    monkeypatch.setattr(constraint, "sqltext", sa.text("version >= 2"))
    report = failed(check(fresh_settings, "--no-target"))
    (difference,) = report["differences"]
    assert difference.startswith("changed check constraint prompts.ck_prompts_version_positive")
    assert scratch_names(fresh_settings) == []


def test_a_missing_trigger_is_drift(monkeypatch, fresh_settings):
    wanted = {*compare.EXPECTED_TRIGGERS, ("games", "games_audit")}
    monkeypatch.setattr(compare, "EXPECTED_TRIGGERS", frozenset(wanted))
    report = failed(check(fresh_settings, "--no-target"))
    assert report["differences"] == ["missing trigger games.games_audit"]


def with_revision(tmp_path, monkeypatch, upgrade: str, downgrade: str = "pass") -> None:
    """The shipped migrations plus a revision 9001 on top of the head."""
    copy = tmp_path / "migrations"
    shutil.copytree(REPO / "migrations", copy)
    head = script_directory().get_heads()[0]
    (copy / "versions" / "9001_extra.py").write_text(
        f'"""An extra revision."""\nfrom alembic import op\n\nrevision = "9001"\n'
        f'down_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        f"def upgrade():\n    {upgrade}\n\n\ndef downgrade():\n    {downgrade}\n"
    )
    monkeypatch.setattr(migrations, "migrations_dir", lambda: copy)


def test_a_failing_upgrade_is_a_failed_check_with_a_report(tmp_path, monkeypatch, db_settings):
    with_revision(tmp_path, monkeypatch, 'op.execute("select * from no_such_table")')
    result = check(db_settings)
    report = failed(result)
    assert report["failed_revision"] == "9001" and report["upgrade"] is False
    assert any("upgrade from empty to head failed" in p for p in report["problems"])
    assert "no_such_table" in result.stderr and "target" not in result.stderr.split(":")[0]
    assert scratch_names(db_settings) == []


def test_a_failing_downgrade_is_a_failed_check(tmp_path, monkeypatch, fresh_settings):
    with_revision(tmp_path, monkeypatch, "pass", 'raise RuntimeError("cannot go back")')
    report = failed(check(fresh_settings, "--no-target"))
    assert report["upgrade"] is True and report["round_trip"] is False
    assert report["failed_revision"] == "9001"
    assert any("cannot go back" in p for p in report["problems"])
    assert scratch_names(fresh_settings) == []


def test_two_heads_are_a_failed_check_with_a_report(tmp_path, monkeypatch, fresh_settings):
    with_revision(tmp_path, monkeypatch, "pass")
    second = tmp_path / "migrations" / "versions" / "9002_other.py"
    text = (tmp_path / "migrations" / "versions" / "9001_extra.py").read_text()
    second.write_text(text.replace('revision = "9001"', 'revision = "9002"'))
    report = failed(check(fresh_settings))
    assert sorted(report["heads"]) == ["9001", "9002"]
    assert any("2 heads" in p for p in report["problems"])


def test_an_unreachable_target_is_an_error(backend, fresh_settings):
    if backend != "postgresql":
        pytest.skip("a SQLite target is a file: there is no server to be unreachable")
    unreachable = fresh_settings.with_url(
        fresh_settings.url.render().replace("127.0.0.1:5432", "127.0.0.1:1")
    )
    result = check(unreachable)
    assert result.exit_code == 1, result.output


def wait_for(predicate, what: str, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def names_with_prefix(settings, prefix: str) -> list[str]:
    with maintenance_connection(settings) as conn:
        return list(
            conn.execute(
                sa.text("select datname from pg_database where starts_with(datname, :p)"),
                {"p": prefix},
            ).scalars()
        )


@pytest.mark.slow
def test_a_killed_check_leaves_a_scratch_database_the_next_run_removes(backend, fresh_settings):
    if backend != "postgresql":
        pytest.skip("SQLite scratch files are covered by the folder test")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENADB_", "DB_"))}
    env["DATABASE_URL"] = fresh_settings.database_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "arenadb", "migrate", "check", "--no-target"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    prefix = f"{scratch.PREFIX}{proc.pid}_"
    try:
        (leftover,) = wait_for(lambda: names_with_prefix(fresh_settings, prefix), "a scratch db")
        # Killed while it works on its scratch database: nothing can drop it now.
        wait_for(lambda: _comment(fresh_settings, leftover), "the scratch mark")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert names_with_prefix(fresh_settings, prefix) == [leftover]
    # Lookalikes that are not ours: no mark, and a mark whose creator still runs.
    unmarked = fresh_settings.with_url(fresh_settings.url.with_database(f"{prefix}unmarked"))
    create_database(unmarked)
    try:
        with scratch.scratch_database(fresh_settings) as live:
            removed = wait_for(lambda: scratch.remove_stale_scratch(fresh_settings), "removal")
            assert leftover in removed
            assert database_exists(live) and database_exists(unmarked)
        assert names_with_prefix(fresh_settings, prefix) == [f"{prefix}unmarked"]
    finally:
        drop_database(unmarked, missing_ok=True)


def _comment(settings, name: str) -> str | None:
    with maintenance_connection(settings) as conn:
        return conn.execute(
            sa.text(
                "select shobj_description(oid, 'pg_database') from pg_database where datname = :n"
            ),
            {"n": name},
        ).scalar()


def test_a_sqlite_scratch_folder_of_a_dead_process_is_removed(backend, fresh_settings):
    if backend != "sqlite":
        pytest.skip("PostgreSQL scratch databases are covered by the kill test")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    stale = Path(tempfile.mkdtemp(prefix=f"{scratch.SQLITE_PREFIX}{pid}-"))
    (stale / "scratch.db").write_bytes(b"")
    other = Path(tempfile.mkdtemp(prefix=f"{scratch.SQLITE_PREFIX}{pid}-"))
    (other / "notes.txt").write_text("not a scratch database")
    try:
        assert str(stale) in scratch.remove_stale_scratch(fresh_settings)
        assert not stale.exists() and other.exists()
    finally:
        shutil.rmtree(stale, ignore_errors=True)
        shutil.rmtree(other, ignore_errors=True)


def test_a_failing_revision_names_itself_and_where_the_database_was_left(
    backend, tmp_path, monkeypatch, fresh_settings
):
    with_revision(tmp_path, monkeypatch, 'op.execute("select * from no_such_table")')
    create_database(fresh_settings)
    with pytest.raises(MigrationFailedError) as failed:
        migrations.upgrade(fresh_settings)
    assert failed.value.revision == "9001"
    assert "upgrade of revision 9001" in str(failed.value)
    # SQLite runs the whole upgrade in one transaction; PostgreSQL commits each revision.
    left = [] if backend == "sqlite" else ["0006"]
    assert migrations.current_revisions(fresh_settings) == left
    assert f"database left at {left[0] if left else 'base'}" in str(failed.value)
