"""Migrations on both backends: every revision up and down, the lock, the CI check, offline SQL,
plain `alembic` from the repository root, and a non-editable wheel install."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.db import create_database, create_engine, partitions
from arenadb.models import metadata
from arenadb.schema import migrations
from arenadb.schema.check import check_migrations
from arenadb.schema.migrations import (
    downgrade,
    migration_status,
    script_directory,
    upgrade,
)

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def table_names(settings) -> set[str]:
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    # SQLite's full-text tables (FTS5 and its shadow tables) are the search index, not models;
    # PostgreSQL's partitions of the large tables (0013) are parts of a model's table.
    return {
        name
        for name in names
        if not name.startswith("search_") and not partitions.is_partition_name(name)
    }


def revisions_oldest_first() -> list[str]:
    return [r.revision for r in reversed(list(script_directory().walk_revisions()))]


def test_single_head_and_linear_history():
    script = script_directory()
    assert len(script.get_heads()) == 1
    revisions = revisions_oldest_first()
    assert revisions[0] == "0001"
    for older, newer in itertools.pairwise(revisions):
        assert script.get_revision(newer).down_revision == older


def test_every_revision_up_and_down(fresh_settings):
    create_database(fresh_settings)
    seen: list[set[str]] = [table_names(fresh_settings)]
    assert seen[0] == set()
    for revision in revisions_oldest_first():
        result = upgrade(fresh_settings, revision)
        assert result.after == [revision]
        tables = table_names(fresh_settings)
        assert tables >= seen[-1], f"{revision} dropped a table"
        seen.append(tables)
    assert seen[-1] == set(metadata.tables)
    for revision in reversed(revisions_oldest_first()):
        downgrade(fresh_settings, "-1")
        seen.pop()
        assert table_names(fresh_settings) == seen[-1], f"downgrade of {revision}"
    assert migration_status(fresh_settings).current == []


def column_compression(settings) -> dict[str, str]:
    """PostgreSQL: table.column -> compression method set on it, for the columns that have one."""
    engine = create_engine(settings, pooled=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "select attrelid::regclass::text || '.' || attname, attcompression "
                    "from pg_attribute where attcompression <> '' and attnum > 0 "
                    "and attrelid in (select oid from pg_class where relnamespace = "
                    "'public'::regnamespace)"
                )
            ).all()
    finally:
        engine.dispose()
    return {name: method for name, method in rows}


def test_large_columns_are_lz4_compressed_on_postgresql(backend, fresh_settings):
    import importlib.util

    path = REPO / "migrations" / "versions" / "0004_lz4_compression_for_large_columns.py"
    spec = importlib.util.spec_from_file_location("m0004", path)
    assert spec is not None and spec.loader is not None
    m0004 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m0004)
    expected = {
        f"{table}.{column}": "l"
        for table, columns in m0004.LARGE_COLUMNS.items()
        for column in columns
    }
    create_database(fresh_settings)
    upgrade(fresh_settings, "0004")
    if backend != "postgresql":
        return  # nothing to check on SQLite: the revision ran as a no-op
    assert column_compression(fresh_settings) == expected
    # Today's recorder writes the schema at head; the later revisions keep the compression.
    upgrade(fresh_settings)
    import arenadb

    upgrade(fresh_settings)  # the recorder writes the columns of the head revision
    with arenadb.connect(settings=fresh_settings) as arena:
        agent = arena.register_agent(model="m", kind="k", prompt=("p", "text"))
        recorder = arena.start_game("G", [agent])
        recorder.record_turn(seat=0, llm_calls=[{"request": {"messages": ["hello " * 2000]}}])
        recorder.flush()
        with arena.engine.connect() as conn:
            stored = conn.execute(
                sa.text("select pg_column_compression(request) from llm_calls")
            ).scalar_one()
    assert stored == "lz4"
    downgrade(fresh_settings, "0003")
    assert column_compression(fresh_settings) == {}


def test_downgrade_keeps_other_data(db_settings):
    # Going down one revision and back up must leave the core tables' rows alone.
    engine = create_engine(db_settings, pooled=False)
    with engine.begin() as conn:
        conn.execute(sa.text("insert into agent_kinds (name) values ('keeper')"))
    engine.dispose()
    if len(revisions_oldest_first()) > 1:
        downgrade(db_settings, "-1")
        upgrade(db_settings, "head")
    engine = create_engine(db_settings, pooled=False)
    with engine.connect() as conn:
        names = conn.execute(sa.text("select name from agent_kinds")).scalars().all()
    engine.dispose()
    assert names == ["keeper"]


def cli(settings, *args: str):
    return runner.invoke(app, ["--database-url", settings.database_url, *args])


def test_cli_migrate_up_status_history_down(fresh_settings):
    result = cli(fresh_settings, "migrate", "status")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert cli(fresh_settings, "db", "create").exit_code == 0
    result = cli(fresh_settings, "db", "create")
    assert result.exit_code == 1 and "already exists" in result.stderr
    assert cli(fresh_settings, "db", "create", "--if-not-exists").exit_code == 0

    status = json.loads(cli(fresh_settings, "migrate", "status", "--json").stdout)
    assert status["status"] == "pending" and status["current"] == []
    assert [p["revision"] for p in status["pending"]] == revisions_oldest_first()

    result = cli(fresh_settings, "migrate", "up")
    assert result.exit_code == 0, result.output
    assert "applied 0001" in result.stderr
    status = json.loads(cli(fresh_settings, "migrate", "status", "--json").stdout)
    assert status["status"] == "up_to_date" and status["pending"] == []

    history = json.loads(cli(fresh_settings, "migrate", "history", "--json").stdout)
    assert [h["revision"] for h in history] == revisions_oldest_first()
    assert all(h["applied"] for h in history)

    result = cli(fresh_settings, "migrate", "up", "nosuchrev")
    assert result.exit_code == 2 and "unknown revision" in result.stderr

    result = cli(fresh_settings, "migrate", "down", "base")
    assert result.exit_code == 1 and "pass --yes" in result.stderr
    assert table_names(fresh_settings) == set(metadata.tables)
    result = cli(fresh_settings, "migrate", "down", "base", "--yes")
    assert result.exit_code == 0, result.output
    assert table_names(fresh_settings) == set()


def test_migrate_down_requires_a_revision(db_settings):
    result = cli(db_settings, "migrate", "down")
    assert result.exit_code == 2
    assert table_names(db_settings) == set(metadata.tables)


def test_db_reset_and_drop(db_settings):
    engine = create_engine(db_settings, pooled=False)
    with engine.begin() as conn:
        conn.execute(sa.text("insert into agent_kinds (name) values ('gone')"))
    engine.dispose()
    result = cli(db_settings, "db", "reset", "--yes")
    assert result.exit_code == 0, result.output
    engine = create_engine(db_settings, pooled=False)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from agent_kinds")).scalar() == 0
    engine.dispose()
    assert cli(db_settings, "db", "drop", "--yes").exit_code == 0
    result = cli(db_settings, "db", "drop", "--yes")
    assert result.exit_code == 1 and "does not exist" in result.stderr


def test_two_concurrent_migrate_up_both_succeed_once(fresh_settings):
    create_database(fresh_settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENADB_", "DB_"))}
    env["DATABASE_URL"] = fresh_settings.database_url
    command = [sys.executable, "-m", "arenadb", "migrate", "up"]
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    messages = sorted(err for _, err in outputs)
    # Exactly one of them applied the migrations; the other found nothing to do.
    assert sum("applied" in m for m in messages) == 1, messages
    assert sum("nothing to do" in m for m in messages) == 1, messages
    engine = create_engine(fresh_settings, pooled=False)
    with engine.connect() as conn:
        versions = conn.execute(sa.text("select version_num from alembic_version")).all()
    engine.dispose()
    assert [v[0] for v in versions] == [script_directory().get_heads()[0]]


def test_migrate_check_passes_and_reports_target(db_settings):
    report = check_migrations(db_settings)
    assert report.ok and report.round_trip and report.differences == []
    assert report.target_checked and report.pending == []
    result = cli(db_settings, "migrate", "check", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_migrate_check_fails_on_pending(db_settings):
    downgrade(db_settings, "base")
    result = cli(db_settings, "migrate", "check")
    assert result.exit_code == 3
    assert "pending migrations" in result.stderr


def test_migrate_check_detects_model_drift(backend, fresh_settings):
    probe = sa.Table("drift_probe", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        result = cli(fresh_settings, "migrate", "check", "--json")
    finally:
        metadata.remove(probe)
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any("drift_probe" in d for d in report["differences"])
    assert "models and migrations differ" in result.stderr


def test_migrate_check_detects_two_heads(tmp_path, monkeypatch, fresh_settings):
    copy = tmp_path / "migrations"
    shutil.copytree(REPO / "migrations", copy)
    head = script_directory().get_heads()[0]
    for rev in ("9998", "9999"):  # two children of the head: two heads
        (copy / "versions" / f"{rev}_branch.py").write_text(
            f'revision = "{rev}"\ndown_revision = "{head}"\nbranch_labels = None\n'
            "depends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
        )
    monkeypatch.setattr(migrations, "migrations_dir", lambda: copy)
    result = cli(fresh_settings, "migrate", "check")
    assert result.exit_code == 3
    assert "2 heads" in result.stderr


def test_offline_sql(backend, fresh_settings):
    result = cli(fresh_settings, "migrate", "sql")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE games" in result.stdout
    assert "CREATE TABLE llm_calls" in result.stdout
    if backend == "postgresql":
        assert "JSONB" in result.stdout
    down = cli(fresh_settings, "migrate", "sql", "--down", "head:base")
    assert "DROP TABLE games" in down.stdout


def test_plain_alembic_from_repo_root(fresh_settings):
    create_database(fresh_settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENADB_", "DB_"))}
    env["ARENADB_DATABASE_URL"] = fresh_settings.database_url
    alembic = Path(sys.executable).with_name("alembic")
    proc = subprocess.run(
        [str(alembic), "upgrade", "head"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert migration_status(fresh_settings).up_to_date


@pytest.mark.slow
def test_wheel_install_finds_migrations(tmp_path):
    """`pip install .` (not editable), then `arenadb init` from an empty folder."""
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheel_dir.glob("arenadb-*.whl")
    # A fresh venv that sees this interpreter's dependencies but only the wheel's arenadb.
    target = tmp_path / "venv"
    venv.create(target, with_pip=False, system_site_packages=False)
    site = next((target / "lib").glob("python*/site-packages"))
    deps = Path(sa.__file__).resolve().parent.parent
    (site / "deps.pth").write_text(f"{deps}\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    python = target / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARENADB_", "DB_"))}
    env.pop("DATABASE_URL", None)
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [str(python), "-c", "import arenadb.resources as r; print(r.migrations_dir())"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    assert str(site) in where.stdout and "_migrations" in where.stdout
    init = subprocess.run(
        [str(python), "-m", "arenadb", "init"], cwd=empty, env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    assert (empty / "arenadb.db").exists()
    check = subprocess.run(
        [str(python), "-m", "arenadb", "--json", "db", "check"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
    )
    assert json.loads(check.stdout)["migration_state"] == "up to date"


def test_migrate_status_says_pending_unmistakably_and_exits_0(fresh_settings):
    """`migrate status` reports (exit 0 in every state, as docs/operations/migrations.md's
    table says); the state is its first line and its JSON `status`, never left to be inferred
    from a revision list. `db check` is the gate: exit 3 while anything is pending."""
    assert cli(fresh_settings, "db", "create").exit_code == 0
    upgrade(fresh_settings, "0002")
    result = cli(fresh_settings, "migrate", "status")
    assert result.exit_code == 0, result.output
    pending = len(revisions_oldest_first()) - 2
    first = result.stdout.splitlines()[0]
    assert first == f"state:    {pending} migrations pending: run `arenadb migrate up`", first
    status = json.loads(cli(fresh_settings, "migrate", "status", "--json").stdout)
    assert status["status"] == "pending" and "pending" in status["summary"]
    assert cli(fresh_settings, "db", "check").exit_code == 3
    upgrade(fresh_settings, "head")
    result = cli(fresh_settings, "migrate", "status")
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == "state:    up to date"
    assert cli(fresh_settings, "db", "check").exit_code == 0


def test_migrate_status_names_another_applications_database(fresh_settings):
    create_database(fresh_settings)
    engine = create_engine(fresh_settings, pooled=False)
    with engine.begin() as conn:
        conn.execute(sa.text("create table invoices (id integer primary key)"))
    engine.dispose()
    result = cli(fresh_settings, "migrate", "status", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["status"] == "not_arenadb" and status["foreign_tables"] == ["invoices"]
    text = cli(fresh_settings, "migrate", "status").stdout.splitlines()[0]
    assert "not an arenadb database" in text and "invoices" in text
