"""Another application's database: no command changes it unless told so.

Reading one must leave its bytes and its folder as they were (opening a SQLite file used to
switch it to WAL: a header byte changed and -wal/-shm files appeared), and the commands that add
arenadb's tables (init, migrate up, copy --to) refuse it, as db drop / db reset do, with one rule
(`arenadb.db.admin.is_arenadb_database`) and one flag, `--any-database`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import arenadb
from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_database, create_engine, database_exists
from arenadb.errors import RefusedError
from arenadb.schema.lifecycle import init_database
from arenadb.schema.migrations import upgrade
from tests.conftest import settings_for
from tests.support.cli_tree import leaves
from tests.support.databases import table_names

runner = CliRunner()
# `serve` serves until stopped (tests/web has its own checks).
LONG_RUNNING = {"serve"}
SECRET = "Foreign-S3cret"


def _foreign_sqlite(path: Path) -> None:
    """A SQLite database of another application, in the default rollback-journal mode."""
    connection = sqlite3.connect(path)
    connection.execute("create table invoices (id integer primary key, total real)")
    connection.execute("insert into invoices (total) values (12.5)")
    connection.commit()
    connection.close()


def _state(folder: Path) -> tuple[list[str], str]:
    files = sorted(p.name for p in folder.iterdir())
    data = b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())
    return files, hashlib.sha256(data).hexdigest()


def _journal_mode_byte(path: Path) -> int:
    return path.read_bytes()[18]  # 1: rollback journal, 2: WAL


def _args(leaf) -> list[str]:
    args = leaf.args_with(None, None)
    names = {opt for p in leaf.params for opt in getattr(p, "opts", [])}
    return [
        *args[: len(leaf.path)],
        *(["--yes"] if "--yes" in names else []),
        *args[len(leaf.path) :],
    ]


@pytest.mark.parametrize(
    "leaf", [pytest.param(leaf, id=leaf.name) for leaf in leaves() if leaf.name not in LONG_RUNNING]
)
def test_no_command_changes_another_applications_sqlite_file(leaf, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "books.db"
    _foreign_sqlite(path)
    before = _state(data)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    result = runner.invoke(app, _args(leaf), env={"ARENADB_DATABASE_URL": f"sqlite:///{path}"})
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    assert _state(data) == before, (leaf.name, result.output)
    assert _journal_mode_byte(path) == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_library_opens_another_applications_file_without_changing_it(fresh_settings):
    path = fresh_settings.url.sqlite_path
    assert path is not None
    _foreign_sqlite(path)
    before = _state(path.parent)
    arena = arenadb.connect(settings=fresh_settings)
    try:
        with pytest.raises(Exception, match="llm_models"):
            arena.register_model("x")
    finally:
        arena.close()
    engine = create_engine(fresh_settings)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select count(*) from invoices").scalar() == 1
    finally:
        engine.dispose()
    assert _state(path.parent) == before


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_wal_is_set_by_the_commands_that_create_or_migrate(db_settings, tmp_path):
    path = db_settings.url.sqlite_path
    assert path is not None
    assert _journal_mode_byte(path) == 2  # created and migrated: WAL
    # A database that lost WAL (copied by a tool that resets it) stays as it is when read...
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    env = {"ARENADB_DATABASE_URL": db_settings.database_url}
    assert runner.invoke(app, ["games", "list"], env=env).exit_code == 0
    assert _journal_mode_byte(path) == 1
    # ... and `migrate up` (what init runs) puts it back.
    assert runner.invoke(app, ["migrate", "up"], env=env).exit_code == 0
    assert _journal_mode_byte(path) == 2
    fresh = tmp_path / "new.db"
    assert runner.invoke(app, ["--database-url", f"sqlite:///{fresh}", "init"]).exit_code == 0
    assert _journal_mode_byte(fresh) == 2


def _make_foreign(settings: Settings) -> None:
    create_database(settings, if_not_exists=True)
    engine = create_engine(settings, pooled=False)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table invoices (id integer primary key, total real)"))
            conn.execute(sa.text("insert into invoices (id, total) values (1, 12.5)"))
    finally:
        engine.dispose()


def test_init_migrate_and_copy_refuse_another_applications_database(
    backend, fresh_settings: Settings, tmp_path
):
    _make_foreign(fresh_settings)
    url = fresh_settings.database_url
    if backend == "postgresql":  # the test server trusts: any password is taken, none shown
        url = dataclasses.replace(fresh_settings.url, password=SECRET).render()
    env = {"ARENADB_DATABASE_URL": url}
    source = tmp_path / "source.db"
    assert runner.invoke(app, ["--database-url", f"sqlite:///{source}", "init"]).exit_code == 0
    for args in (
        ["init"],
        ["init", "--seed", "test"],
        ["migrate", "up"],
        ["migrate", "up", "0001"],
        ["--database-url", f"sqlite:///{source}", "copy", "--to", url],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        assert SECRET not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "not an arenadb database" in lines[0], lines
        assert "invoices" in lines[0] and "--any-database" in lines[0], lines
        assert table_names(fresh_settings) == {"invoices"}, args
    for call in (lambda: upgrade(fresh_settings), lambda: init_database(fresh_settings)):
        with pytest.raises(RefusedError, match="invoices"):
            call()
    assert table_names(fresh_settings) == {"invoices"}
    # Told so, arenadb's tables go beside the others, which keep their rows.
    result = runner.invoke(app, ["init", "--any-database"], env=env)
    assert result.exit_code == 0, result.output
    tables = table_names(fresh_settings)
    assert {"invoices", "games", "alembic_version"} <= tables
    engine = create_engine(fresh_settings, pooled=False)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select total from invoices").scalar() == 12.5
    finally:
        engine.dispose()


def test_an_empty_database_is_fine_to_init(backend, fresh_settings: Settings):
    create_database(fresh_settings)
    result = runner.invoke(app, ["init"], env={"ARENADB_DATABASE_URL": fresh_settings.database_url})
    assert result.exit_code == 0, result.output
    assert "games" in table_names(fresh_settings)


def test_copy_takes_any_database_too(backend, fresh_settings: Settings, tmp_path):
    _make_foreign(fresh_settings)
    source = settings_for(f"sqlite:///{tmp_path / 'source.db'}")
    init_database(source, seed="test")
    to = ["copy", "--to", fresh_settings.database_url, "--any-database"]
    result = runner.invoke(app, ["--database-url", source.database_url, *to])
    assert result.exit_code == 0, result.output
    assert {"invoices", "games"} <= table_names(fresh_settings)


def _not_databases(folder: Path) -> dict[str, Path]:
    import os

    places = {"text": folder / "notes.txt", "folder": folder / "folder"}
    places["text"].write_text("my thesis, no backup\n")
    places["folder"].mkdir()
    os.mkfifo(folder / "pipe")
    places["pipe"] = folder / "pipe"
    (folder / "dangling").symlink_to(folder / "nowhere")
    places["dangling"] = folder / "dangling"
    return places


@pytest.mark.parametrize("place", ["text", "folder", "pipe", "dangling"])
def test_a_path_that_is_no_database_is_named_and_left_alone(tmp_path, place):
    """`init` on a pipe, a folder or a dangling link used to go to SQLite (`init` on /dev/null
    left /dev/null-journal behind), and `copy --to notes.txt` blamed the source database:
    "database error on sqlite:///source.db: file is not a database"."""
    data = tmp_path / "data"
    data.mkdir()
    target = _not_databases(data)[place]
    source = tmp_path / "source.db"
    assert runner.invoke(app, ["--database-url", f"sqlite:///{source}", "init"]).exit_code == 0
    before = _state(data), sorted(p.name for p in tmp_path.iterdir())
    url = f"sqlite:///{target}"
    for args in (
        ["--database-url", url, "init"],
        ["--database-url", url, "db", "create"],
        ["--database-url", url, "games", "list"],
        ["--database-url", f"sqlite:///{source}", "copy", "--to", url],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        (line,) = result.stderr.strip().splitlines()
        assert str(source) not in line, line  # the target is named, never the source
        assert target.name in line, line
    assert (_state(data), sorted(p.name for p in tmp_path.iterdir())) == before


def test_an_env_file_that_is_a_pipe_or_a_folder_is_named_as_such(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "folder").mkdir()
    for name in ("pipe", "folder"):
        result = runner.invoke(app, ["--env-file", str(tmp_path / name), "config", "show"])
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert "is not a regular file" in line, line


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_import_of_a_pipe_says_what_it_is(db_settings, tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe")
    env = {"ARENADB_DATABASE_URL": db_settings.database_url}
    for name, said in (("pipe", "is not a regular file"), ("missing.jsonl", "does not exist")):
        result = runner.invoke(app, ["import", str(tmp_path / name)], env=env)
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert said in line, line  # was "no such file: .../pipe"


def test_a_database_shared_on_purpose_checks_clean_and_is_not_dropped_by_accident(
    backend, fresh_settings: Settings
):
    """After `init --any-database`, `db check` checks arenadb's tables and lists the other
    application's (it failed for ever on them as drift), and `db drop` / `db reset` refuse to
    take the other application's tables with them unless told `--any-database`."""
    _make_foreign(fresh_settings)
    env = {"ARENADB_DATABASE_URL": fresh_settings.database_url}
    assert runner.invoke(app, ["init", "--any-database"], env=env).exit_code == 0
    result = runner.invoke(app, ["db", "check", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["differences"] == [] and report["other_tables"] == ["invoices"]
    for args in (["db", "drop", "--yes"], ["db", "reset", "--yes"]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1, (args, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "invoices" in lines[0] and "--any-database" in lines[0], lines
        assert {"invoices", "games"} <= table_names(fresh_settings), args
    result = runner.invoke(app, ["db", "drop", "--yes", "--any-database"], env=env)
    assert result.exit_code == 0, result.output
    assert not database_exists(fresh_settings)
