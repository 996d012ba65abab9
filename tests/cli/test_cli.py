"""The CLI's skeleton: help everywhere, config show, db check, and every error path."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.cli.app import COMMANDS, load_command
from tests.support.imports import imported_by

runner = CliRunner()
SECRET = "Sup3r-S3cret"


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def _all_commands(command, path=()):
    sub = getattr(command, "commands", None)
    if not sub:
        yield path, command
        return
    for name, child in sub.items():
        yield from _all_commands(child, (*path, name))


def test_every_command_has_help_text():
    paths = {}
    for name in COMMANDS:
        paths.update(dict(_all_commands(load_command(name), (name,))))
    assert ("db", "check") in paths and ("migrate", "check") in paths and ("init",) in paths
    assert ("config", "show") in paths and ("agents", "list") in paths
    for path, command in paths.items():
        assert command.help, f"arenadb {' '.join(path)} has no help text"
        result = invoke(*path, "--help")
        assert result.exit_code == 0, (path, result.output)


def test_root_help_lists_each_command_with_its_own_short_help():
    # `arenadb --help` lists commands without loading them, from COMMANDS: it must not drift.
    for name, (_module, _attribute, listed) in COMMANDS.items():
        assert load_command(name).get_short_help_str(limit=300) == listed, name
    result = invoke("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.stdout


def test_version_and_module_entry_point():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("arenadb ")
    proc = subprocess.run(
        [sys.executable, "-m", "arenadb", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and "migrate" in proc.stdout


def test_help_does_not_import_the_orm_or_alembic():
    code = (
        "import sys; from arenadb.cli import app\n"
        "try:\n    app(['--help'], prog_name='arenadb')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'arenadb.models', 'arenadb.cli.commands.db')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_config_show_does_not_import_sqlalchemy(tmp_path):
    code = (
        "import sys; from arenadb.cli import app\n"
        "try:\n    app(['config', 'show', '--json'], prog_name='arenadb')\n"
        "except SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('sqlalchemy', 'alembic') if m in sys.modules])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


# What a read command has no use for, on either backend: imports a cold start would pay for.
NOT_FOR_READING = ["alembic", "numpy", "scipy", "trueskill", "openskill", "pandas", "pyarrow"]


def test_read_commands_import_only_what_they_use(db_settings):
    url = db_settings.database_url
    driver = ["psycopg"] if db_settings.backend == "sqlite" else []  # no driver of the other one
    for argv in (["games", "list"], ["models", "stats"]):
        assert imported_by(url, argv, [*NOT_FOR_READING, *driver]) == [], argv
    # db stats reads through Core: no ORM, no models.
    heavy = [*NOT_FOR_READING, *driver, "sqlalchemy.orm", "arenadb.models"]
    assert imported_by(url, ["db", "stats"], heavy) == []


def test_config_show_json_masks_password(tmp_path):
    url = f"postgresql://arena:{SECRET}@db.example:5432/arena?sslpassword={SECRET}"
    result = invoke("--database-url", url, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"]["database_url"].startswith("postgresql+psycopg://arena:***@db.example")
    assert data["origins"]["database_url"] == "--database-url"
    assert data["settings"]["pool_size"] == 5
    assert SECRET not in result.output


def test_config_show_table_names_origins():
    result = invoke("config", "show", env={"DB_PATH": "x.db", "DB_ECHO": "1"})
    assert result.exit_code == 0, result.output
    assert "environment DB_PATH" in result.stdout and "environment DB_ECHO" in result.stdout


def test_config_show_bad_setting_is_one_line_exit_1():
    result = invoke("config", "show", env={"DB_POOL_SIZE": "lots"})
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: DB_POOL_SIZE must be an integer, got 'lots' (environment DB_POOL_SIZE)"
    ]


def test_missing_env_file_is_usage_error(tmp_path):
    result = invoke("--env-file", str(tmp_path / "nope.env"), "config", "show")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_unknown_command_is_usage_error():
    result = invoke("gmaes")
    assert result.exit_code == 2


def test_db_check_reports_backend_and_migrations(backend, db_settings):
    result = invoke("--database-url", db_settings.database_url, "db", "check", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["backend"] == backend
    assert data["server_version"]
    assert data["migration_state"] == "up to date"
    assert data["current_revision"] == data["head_revision"]
    assert data["status"] == "ok"


def _assert_one_line_error(result, *fragments: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("url", "fragments"),
    [
        (f"postgresql://arena:{SECRET}@127.0.0.1:1/arena", ["arena:***@127.0.0.1:1", "refused"]),
        (f"mysql://arena:{SECRET}@127.0.0.1/arena", ["unsupported database URL scheme 'mysql'"]),
        (f"postgresql://arena:{SECRET}@127.0.0.1:port/x", ["port 'port' is invalid"]),
        ("no-scheme-at-all", ["malformed database URL"]),
    ],
)
def test_db_check_error_paths(url, fragments):
    _assert_one_line_error(invoke("--database-url", url, "db", "check"), *fragments)


def test_db_check_missing_sqlite_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/folder/arena.db"
    _assert_one_line_error(
        invoke("--database-url", url, "db", "check"), "does not exist", "arena.db"
    )
    _assert_one_line_error(
        invoke("--database-url", url, "init"), f"folder {tmp_path}/no/such/folder does not exist"
    )


def test_db_check_missing_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path}/arena.db"
    _assert_one_line_error(invoke("--database-url", url, "db", "check"), "arenadb init")
    assert not (tmp_path / "arena.db").exists()


@pytest.mark.postgresql
def test_db_check_unknown_role_and_database(pg_server):
    server = pg_server.url
    role = server.render().replace(f"{server.username}@", f"nosuchrole:{SECRET}@", 1)
    if server.username is None:
        role = role.replace("://", f"://nosuchrole:{SECRET}@", 1)
    _assert_one_line_error(invoke("--database-url", role, "db", "check"), "nosuchrole")
    missing = server.with_database("arenadb_no_such_database_here").render()
    _assert_one_line_error(
        invoke("--database-url", missing, "db", "check"), "arenadb_no_such_database_here"
    )


def test_debug_shows_traceback_but_masks_password():
    url = f"postgresql://arena:{SECRET}@127.0.0.1:1/arena"
    result = invoke("--debug", "--database-url", url, "db", "check")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert SECRET not in result.output
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot use database")


def test_connect_timeout_on_a_server_that_never_answers():
    # A listening socket that never accepts: TCP connects, the server never speaks. Without a
    # connect timeout the driver would wait forever; with DB_CONNECT_TIMEOUT=1 it gives up.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        env = {**os.environ, "DB_CONNECT_TIMEOUT": "1"}
        env.pop("ARENADB_DATABASE_URL", None)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "arenadb",
                "--database-url",
                f"postgresql://arena:{SECRET}@127.0.0.1:{port}/arena",
                "db",
                "check",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
    assert proc.returncode == 1
    assert "timeout" in proc.stderr.lower()
    assert SECRET not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_no_terminal_and_no_yes_refuses(tmp_path):
    url = f"sqlite:///{tmp_path}/arena.db"
    assert invoke("--database-url", url, "init").exit_code == 0
    for args in (["db", "drop"], ["db", "reset"], ["migrate", "down", "base"]):
        _assert_one_line_error(invoke("--database-url", url, *args), "pass --yes")
    check = invoke("--database-url", url, "--json", "db", "check")
    assert json.loads(check.stdout)["migration_state"] == "up to date"


def test_env_file_option_feeds_settings(tmp_path):
    env_file = tmp_path / "arena.env"
    db = tmp_path / "from-env-file.db"
    env_file.write_text(f"DB_PATH={db}\n")
    result = invoke("--env-file", str(env_file), "init")
    assert result.exit_code == 0, result.output
    assert Path(db).exists()


def test_db_echo_logs_sql_to_stderr_and_keeps_stdout_json(db_settings):
    result = invoke(
        "--database-url", db_settings.database_url, "--json", "db", "check", env={"DB_ECHO": "1"}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ok"
    assert "sql: " in result.stderr


@pytest.mark.parametrize(("answer", "dropped"), [("n", False), ("y", True)])
def test_destructive_command_asks_on_a_terminal(tmp_path, answer, dropped):
    """On a real terminal `db drop` asks, showing the target with its password hidden."""
    import pty

    db = tmp_path / "arena.db"
    assert invoke("--database-url", f"sqlite:///{db}", "init").exit_code == 0
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arenadb", "--database-url", f"sqlite:///{db}", "db", "drop"],
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(primary, f"{answer}\n".encode())
        _out, err = proc.communicate(timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    assert f"Drop database sqlite:///{db} and all its data?" in err
    assert db.exists() is not dropped
    assert proc.returncode == (0 if dropped else 1)
    if not dropped:
        assert "not confirmed; nothing was changed" in err
