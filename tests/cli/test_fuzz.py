"""Every command, every argument and option, driven with bad values: each answer is exit 1 or 2,
one stderr line, no "internal error", no traceback, no password, nothing written, and it comes
within a few seconds.

The commands come from the command tree (tests/support/cli_tree.py), so a new command or
option is fuzzed without being listed here. In-process (CliRunner) for speed; a sample runs as
real processes, where the console script, the encoding of argv and exit codes are the real ones.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from arenadb.cli import app
from tests.support.cli_tree import Leaf, kind_of, leaves

runner = CliRunner()

PASSWORD = "Fuzz-Secret-Pw"
# Port 1 on the loopback refuses at once: a URL that is tried fails fast and goes nowhere else.
URL_WITH_PASSWORD = f"postgresql://fuzz:{PASSWORD}@127.0.0.1:1/fuzz"
CORPUS = [
    "9" * 30,  # past any id
    "9" * 5000,  # past any argument
    "-1",
    "0",
    "²",
    "١٢",
    "Ω名",
    "",
    "a\x00b",
    "A" * 4000,
    "nan",
    "99999999999999d",
    "0001-01-01T00:00:00+01:00",
    "'; DROP TABLE games; --",
    "$(touch pwned)",
    "`touch pwned`; rm -rf ./*",
    "../../../../etc/passwd",
    URL_WITH_PASSWORD,
    f"fuzz:{PASSWORD}@127.0.0.1:1/db",  # a URL without its scheme: still a password
]
# For parameters that name a file to write, the bad ones are places, not names (any name is a
# name a user may want): a folder, the kernel's files, a missing folder, a device, the database.
DATABASE = "<the database file>"
OUTPUT_CORPUS = [
    ".",
    "/proc/arenadb-fuzz",
    "/proc/self/status",
    "/nonexistent-arenadb/x",
    "/dev/null",
    DATABASE,
    "",
    "a\x00b",
    "A" * 5000,
    URL_WITH_PASSWORD,
]
# Filters on free text that names nothing: no match is an empty answer (exit 0), not an error.
# They still must write nothing, leak nothing and answer at once.
FREE_TEXT = {
    ("knowledge list", "search"),
    ("knowledge list", "source"),
    ("events list", "event_type"),
    ("events list", "engine_id"),
    ("engines list", "engine_type"),
    ("agents list", "kind"),
    ("logs system", "component"),
    ("search", "text"),  # any words are a search; no match is an empty answer
}
# Values that a long-running command takes as valid start it (any text is a valid token, and
# `serve --token X` then serves until stopped): tests/web checks these options.
STARTS_A_SERVER = {("serve", "token")}
# In the sample on PostgreSQL (each invocation connects to the server: slower).
PG_CORPUS = ["9" * 30, "-1", "١٢", "", "a\x00b", "'; DROP TABLE games; --", URL_WITH_PASSWORD]
# An answer within a few seconds of CPU each (a quadratic loop shows here, whatever the load of
# the machine), and within WALL_SECONDS_EACH of the clock (a wait on a lock, a connection that
# hangs): generous, as the suite may run on a loaded machine.
CPU_SECONDS_EACH = 3.0
WALL_SECONDS_EACH = 30


class Hung(BaseException):
    """Raised by the alarm: a BaseException, so that no `except Exception` swallows it."""


@pytest.fixture
def alarm() -> Iterator[None]:
    def ring(signum: int, frame: Any) -> None:
        raise Hung

    previous = signal.signal(signal.SIGALRM, ring)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _state(settings: Any, folder: Path) -> Any:
    """What a command could have written: the folder's files (with the SQLite database's bytes
    and times), or, on PostgreSQL, the row count of every table."""
    files = sorted(
        (str(p.relative_to(folder)), p.stat().st_mtime_ns, p.stat().st_size)
        for p in folder.rglob("*")
    )
    if settings.backend == "sqlite":
        data = Path(settings.url.database).read_bytes()
        return files, hashlib.sha256(data).hexdigest()
    from arenadb.db import create_engine

    engine = create_engine(settings)
    try:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
            counts = {
                t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in tables
            }
    finally:
        engine.dispose()
    return files, counts


def _values(leaf: Leaf, param: Any, corpus: list[str], database: str) -> list[str]:
    kind = kind_of(leaf, param)
    if kind == "output":
        # PostgreSQL has no database file to protect: that value is SQLite's only.
        return [
            database if v == DATABASE else v for v in OUTPUT_CORPUS if database or v != DATABASE
        ]
    if kind == "int":  # "0" is a fine offset: only what the parameter does not take
        return [
            v
            for v in corpus
            if not (
                v.lstrip("-").isascii()
                and v.lstrip("-").isdigit()
                and len(v) < 19
                and param.min <= int(v)
            )
        ]
    return corpus


def _cases(leaf: Leaf, corpus: list[str], database: str) -> Iterator[tuple[str, list[str]]]:
    for param in leaf.params:
        if kind_of(leaf, param) == "flag":
            continue
        for value in _values(leaf, param, corpus, database):
            yield param.name, leaf.args_with(param, value)
    # Every command, even one with flags only, refuses an argument it does not take.
    yield "", [*leaf.args_with(None, None), "--", "'; DROP TABLE games; --"]


def _check(result: Any, label: str, *, exit_zero_allowed: bool) -> None:
    output = result.stdout + result.stderr
    assert PASSWORD not in output, label
    assert "Traceback" not in output and "internal error" not in output, (label, output)
    if exit_zero_allowed and result.exit_code == 0:
        return
    assert result.exit_code in (1, 2), (label, result.exit_code, output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (label, result.stderr)


def _fuzz(leaf: Leaf, settings: Any, folder: Path, corpus: list[str], monkeypatch: Any) -> int:
    monkeypatch.chdir(folder)
    env = {"ARENADB_DATABASE_URL": settings.database_url}
    before = _state(settings, folder)
    database = str(settings.url.database) if settings.backend == "sqlite" else ""
    invocations = 0
    for name, args in _cases(leaf, corpus, database):
        if (leaf.name, name) in STARTS_A_SERVER:
            continue
        label = f"{args[:12]!r}"[:300]
        signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS_EACH)
        started = time.process_time()
        try:
            result = runner.invoke(app, args, env=env)
        except Hung:
            pytest.fail(f"no answer within {WALL_SECONDS_EACH} s: {label}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if isinstance(result.exception, Hung):
            pytest.fail(f"no answer within {WALL_SECONDS_EACH} s: {label}")
        cpu = time.process_time() - started
        assert cpu < CPU_SECONDS_EACH, f"{cpu:.1f} s of CPU for {label}"
        _check(result, label, exit_zero_allowed=(leaf.name, name) in FREE_TEXT)
        invocations += 1
    assert _state(settings, folder) == before, f"{leaf.name} wrote something"
    return invocations


LEAVES = [pytest.param(leaf, id=leaf.name) for leaf in leaves()]


@pytest.mark.parametrize("leaf", LEAVES)
def test_every_command_survives_bad_values_on_sqlite(
    leaf, tmp_path, _templates, alarm, monkeypatch
):
    folder = tmp_path / "cwd"
    folder.mkdir()
    settings = _templates.sqlite(folder / "arena.db")
    assert _fuzz(leaf, settings, folder, CORPUS, monkeypatch) > 0


@pytest.mark.postgresql
@pytest.mark.parametrize("leaf", LEAVES[::3])
def test_a_sample_of_commands_survives_bad_values_on_postgresql(
    leaf, tmp_path, _templates, alarm, monkeypatch
):
    from arenadb.db import drop_database
    from tests.conftest import pg_server_url

    if pg_server_url() is None:
        pytest.skip("ARENADB_TEST_POSTGRES_URL is not set")
    settings = _templates.postgresql()
    try:
        assert _fuzz(leaf, settings, tmp_path, PG_CORPUS, monkeypatch) > 0
    finally:
        drop_database(settings, missing_ok=True, any_database=True)


def _root_cases() -> list[Any]:
    from typer.main import get_command

    root = get_command(app)
    return [
        pytest.param(param, id=param.opts[0])
        for param in root.params
        if not getattr(param, "is_flag", False) and param.name != "help"
    ]


@pytest.mark.parametrize("param", _root_cases())
def test_every_root_option_survives_bad_values(param, tmp_path, _templates, alarm, monkeypatch):
    folder = tmp_path / "cwd"
    folder.mkdir()
    settings = _templates.sqlite(folder / "arena.db")
    monkeypatch.chdir(folder)
    before = _state(settings, folder)
    for value in [*CORPUS, "/proc/self/mem", "/etc/passwd", "."]:
        args = [param.opts[0], value, "games", "list"]
        signal.setitimer(signal.ITIMER_REAL, WALL_SECONDS_EACH)
        try:
            result = runner.invoke(app, args, env={"ARENADB_DATABASE_URL": settings.database_url})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        _check(result, f"{args[:2]!r}"[:200], exit_zero_allowed=False)
    assert _state(settings, folder) == before


SUBPROCESS_SAMPLE = [
    ["game", "info", "9" * 30],
    ["games", "list", "--since", "0001-01-01T00:00:00+01:00"],
    ["engines", "mark-stale", "--older-than", "nan"],
    ["events", "show", "١٢"],
    ["games", "list", "--agent", URL_WITH_PASSWORD],
    ["copy", "--to", URL_WITH_PASSWORD],
    ["export", "-o", "/proc/arenadb-fuzz"],
    ["import", "A" * 5000],
    ["--database-url", URL_WITH_PASSWORD, "games", "list"],
    ["clean", "--before", "99999999999999d"],
]


def test_a_sample_as_real_processes(tmp_path, _templates):
    settings = _templates.sqlite(tmp_path / "arena.db")
    env = {**os.environ, "ARENADB_DATABASE_URL": settings.database_url}
    before = _state(settings, tmp_path)
    for args in SUBPROCESS_SAMPLE:
        done = subprocess.run(
            [sys.executable, "-m", "arenadb", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=20,
        )
        label = f"{args[:3]!r}"[:200]
        output = done.stdout + done.stderr
        assert PASSWORD not in output, label
        assert "Traceback" not in output and "internal error" not in output, (label, output)
        assert done.returncode in (1, 2), (label, done.returncode, output)
        assert len(done.stderr.splitlines()) == 1, (label, done.stderr)
    assert _state(settings, tmp_path) == before
