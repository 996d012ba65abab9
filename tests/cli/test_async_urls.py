"""`postgresql+asyncpg://` and `postgresql+psycopg_async://` URLs: accepted, used with psycopg,
said once (a library warning; one `note:` line on the CLI's stderr), the password masked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import load_settings, parse_url

SCHEMES = ["postgresql+asyncpg", "postgresql+psycopg_async"]
NOWHERE = Path("/nonexistent-arenadb-cwd")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("variable", ["ARENADB_DATABASE_URL", "DATABASE_URL", None])
def test_async_schemes_map_to_psycopg_with_one_masked_warning(scheme, variable, caplog):
    url = f"{scheme}://fastapi:s3cr%40t@db.example:6543/fourx?sslmode=require"
    caplog.set_level(logging.WARNING, logger="arenadb.urls")
    if variable is None:
        settings = load_settings(url, environ={}, cwd=NOWHERE)
    else:
        settings = load_settings(environ={variable: url}, cwd=NOWHERE)
    parsed = settings.url
    assert parsed.drivername == "postgresql+psycopg" and parsed.password == "s3cr@t"
    assert (parsed.host, parsed.port, parsed.database) == ("db.example", 6543, "fourx")
    assert parsed.query == (("sslmode", "require"),)
    (record,) = [r for r in caplog.records if r.name == "arenadb.urls"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert scheme in message and "psycopg" in message and "***" in message
    assert "s3cr" not in message


def test_plain_schemes_say_nothing(caplog):
    caplog.set_level(logging.WARNING, logger="arenadb.urls")
    parse_url("postgresql://u:pw@h/db")
    parse_url("postgresql+psycopg://u:pw@h/db")
    assert caplog.records == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_cli_says_it_once_on_stderr(scheme):
    url = f"{scheme}://fastapi:s3cret@db.example/fourx"
    for env, args in (
        ({"DATABASE_URL": url}, ["config", "show", "--json"]),
        ({"ARENADB_DATABASE_URL": url}, ["config", "show", "--json"]),
        ({}, ["--database-url", url, "config", "show", "--json"]),
    ):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        notes = [line for line in result.stderr.splitlines() if line]
        assert len(notes) == 1 and notes[0].startswith(f"note: {scheme}://"), result.stderr
        assert "postgresql+psycopg://fastapi:***@db.example/fourx" in result.stdout
        assert "s3cret" not in result.output


def test_an_asyncpg_url_reaches_the_real_server(backend, db_settings):
    if backend != "postgresql":
        pytest.skip("an asyncpg URL names a PostgreSQL server")
    url = db_settings.url.render().replace("postgresql+psycopg://", "postgresql+asyncpg://", 1)
    result = CliRunner().invoke(app, ["db", "check", "--json"], env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert '"status": "ok"' in result.stdout
    assert [line for line in result.stderr.splitlines() if line.startswith("note:")] == [
        line for line in result.stderr.splitlines() if line
    ]
    assert len(result.stderr.strip().splitlines()) == 1
