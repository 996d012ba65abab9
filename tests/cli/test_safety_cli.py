"""Issue 15 at the command line: mistakes destroy nothing, create nothing, leak nothing.

Each test is one class of the audit's findings, driven through the CLI on both backends where
both apply: empty values, .env precedence, secrets in malformed URLs, read commands on a missing
database.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import create_database, database_exists
from tests.conftest import settings_for

runner = CliRunner()
SECRET = "Sup3r-S3cret"
# Variables that would otherwise leak in from the developer's shell.
CLEAN = dict.fromkeys(
    (
        "ARENADB_DATABASE_URL",
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "DB_PATH",
    )
)


def invoke(*args: str, env: dict[str, str | None] | None = None):
    return runner.invoke(app, list(args), env={**CLEAN, **(env or {})})


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert SECRET not in result.output
    return lines[0]


# --- 1. empty values -------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("db", "drop", "--yes"), ("db", "reset", "--yes"), ("init",)])
def test_empty_database_url_flag_is_a_usage_error(tmp_path, monkeypatch, command):
    # The audit: `arenadb --database-url "$UNSET" db drop --yes` dropped ./arenadb.db.
    monkeypatch.chdir(tmp_path)
    default = tmp_path / "arenadb.db"
    assert invoke("init").exit_code == 0
    before = default.read_bytes()
    target = tmp_path / "named.db"
    for empty in ("", " "):
        env = {"ARENADB_DATABASE_URL": f"sqlite:///{target}"}
        line = one_line_error(invoke("--database-url", empty, *command, env=env), code=2)
        assert "empty" in line
        line = one_line_error(invoke("--database-url", empty, *command), code=2)
    assert default.read_bytes() == before
    assert not target.exists()


# --- 2. .env never beats the real environment --------------------------------------------------


def test_dotenv_loses_to_any_real_database_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dev = tmp_path / "dev.db"
    real = tmp_path / "real.db"
    (tmp_path / ".env").write_text(f"ARENADB_DATABASE_URL=sqlite:///{dev}\n")
    for env in ({"DATABASE_URL": f"sqlite:///{real}"}, {"DB_PATH": str(real)}):
        result = invoke("config", "show", "--json", env=env)
        assert result.exit_code == 0, result.output
        assert str(real) in result.stdout and str(dev) not in result.stdout.split('"origins"')[0]
        assert "ignored .env ARENADB_DATABASE_URL" in result.stdout
        assert invoke("init", env=env).exit_code == 0
        assert real.exists() and not dev.exists()
        real.unlink()
    # Set but empty in the real environment: not filled from .env.
    result = invoke("db", "drop", "--yes", env={"ARENADB_DATABASE_URL": ""})
    assert not dev.exists()
    assert str(dev) not in result.output


# --- 3. secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql:/user:{SECRET}@host/db",
        f"postgresql//user:{SECRET}@h/db",
        f"user:{SECRET}@h/db",
        f"sqlite://u:{SECRET}'x@h/db",
    ],
)
def test_malformed_urls_never_show_their_password(tmp_path, url):
    for args in (
        ("--database-url", url, "db", "check"),
        ("--debug", "--database-url", url, "db", "check"),
        ("--database-url", f"sqlite:///{tmp_path}/a.db", "copy", "--to", url),
    ):
        result = invoke(*args)
        assert result.exit_code == 1, result.output
        assert SECRET not in result.output and "S3cret" not in result.output
    result = invoke("config", "show", env={"ARENADB_DATABASE_URL": url})
    assert SECRET not in result.output


def test_huge_argument_answers_with_one_line(tmp_path):
    # Masking this took over a minute before (quadratic); arguments over 4096 characters are now
    # refused before any work, and masking is linear anyway.
    url = f"sqlite:///{tmp_path}/a.db"
    assert invoke("--database-url", url, "init").exit_code == 0
    for args in (
        ("games", "list", "--agent", "A" * 100_000),
        ("game", "info", "1" * 100_000),
        ("db", "check"),
    ):
        env = {"ARENADB_DATABASE_URL": url if args[0] != "db" else "postgresql://" + "A" * 100_000}
        line = one_line_error(invoke(*args, env=env), code=2 if args[0] != "db" else 1)
        assert "too long" in line
        assert len(line) < 300
    # Not even the start of a refused argument is echoed: it may be a URL cut before its '@'.
    long_url = f"postgresql://u:{SECRET}{'x' * 5000}@h/db"
    line = one_line_error(invoke("--database-url", long_url, "db", "check"), code=2)
    assert "too long" in line


def test_nul_in_a_password_is_refused_before_connecting():
    line = one_line_error(
        invoke("--database-url", "postgresql://u:pw%00x@127.0.0.1/db", "db", "check")
    )
    assert "NUL" in line


# --- 6. read commands never create a database --------------------------------------------------

READ_COMMANDS = [
    ("games", "list"),
    ("models", "stats"),
    ("db", "stats"),
    ("db", "check"),
    ("export", "-o", "{tmp}/out.jsonl"),
    ("clean", "--before", "1d", "--dry-run"),
    ("knowledge", "list"),
    ("agents", "list"),
    ("events", "list"),
    ("conversations", "list"),
    ("migrate", "status"),
    ("game", "info", "1"),
    ("backup", "{tmp}/backup.db"),
    ("seed", "--env", "demo"),
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_read_commands_on_a_missing_database_create_nothing(
    backend, fresh_settings: Settings, tmp_path, command
):
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    before = sorted(tmp_path.iterdir())
    result = invoke(*args, env={"ARENADB_DATABASE_URL": fresh_settings.database_url})
    line = one_line_error(result)
    assert "does not exist" in line
    assert not database_exists(fresh_settings)
    assert sorted(tmp_path.iterdir()) == before


def test_a_zero_byte_file_is_not_turned_into_a_database(tmp_path):
    empty = tmp_path / "arena.db"
    empty.touch()
    line = one_line_error(invoke("--database-url", f"sqlite:///{empty}", "games", "list"))
    assert "does not exist" in line
    assert empty.stat().st_size == 0


def test_import_into_a_missing_database_writes_nothing(
    backend, db_settings, fresh_settings, tmp_path
):
    export = tmp_path / "games.jsonl"
    source = {"ARENADB_DATABASE_URL": db_settings.database_url}
    assert invoke("seed", "--env", "test", env=source).exit_code == 0
    assert invoke("export", "-o", str(export), env=source).exit_code == 0
    # On SQLite both fixtures name tmp_path/arena.db: use another file there.
    target = fresh_settings
    if backend == "sqlite":
        target = settings_for(f"sqlite:///{tmp_path / 'other.db'}")
    result = invoke("import", str(export), env={"ARENADB_DATABASE_URL": target.database_url})
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert not database_exists(target)


def test_init_and_db_create_still_create(backend, fresh_settings: Settings):
    env = {"ARENADB_DATABASE_URL": fresh_settings.database_url}
    assert invoke("db", "create", env=env).exit_code == 0
    assert database_exists(fresh_settings)
    assert create_database(fresh_settings, if_not_exists=True) is False
    assert invoke("init", env=env).exit_code == 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_read_url_that_is_not_the_primarys_database_is_said(db_settings: Settings, _templates):
    """A read URL naming another database (a restored copy, a typo, another cluster) used to
    serve its rows with no word: a hot standby shares its primary's system identifier and
    database name, and anything else is said on stderr."""
    from arenadb.db import drop_database

    stranger = _templates.postgresql()
    try:
        for read_url, warned in ((stranger.database_url, True), (db_settings.database_url, False)):
            args = ["--database-url", db_settings.database_url, "--read-url", read_url]
            result = runner.invoke(app, [*args, "games", "list"], env=CLEAN)
            assert result.exit_code == 0, result.output
            assert ("not a copy of the primary's database" in result.stderr) is warned, (
                result.stderr
            )
    finally:
        drop_database(stranger, missing_ok=True, any_database=True)


@pytest.mark.parametrize(
    "command",
    [c for c in READ_COMMANDS if c[0] not in ("db", "migrate", "backup", "seed", "import")]
    + [("events", "stats"), ("engines", "list"), ("search", "word")],
    ids=lambda c: " ".join(c[:2]),
)
def test_read_commands_on_a_database_never_initialised_say_what_to_run(
    backend, fresh_settings: Settings, tmp_path, command
):
    """A database that exists without arenadb's tables: the answer names the step not taken,
    not a driver's 'relation "games" does not exist LINE 6: FROM games JOIN ...'."""
    create_database(fresh_settings)
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    result = invoke(*args, env={"ARENADB_DATABASE_URL": fresh_settings.database_url})
    line = one_line_error(result)
    assert "arenadb init" in line, line
    assert "LINE" not in line and "relation" not in line and "FROM" not in line, line
