"""Issue 15: `copy --to` knows a database by what it is, not by how its URL is spelled.

The same PostgreSQL database as `localhost` instead of `127.0.0.1`, or with an extra
`?application_name=`, deadlocked the copy on itself; the same SQLite file under another path
was not recognised either. Each is refused with one line before anything is written, in time.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db import create_engine
from arenadb.db.identity import same_database
from tests.conftest import settings_for
from tests.support.synthetic import build_arena


def _copy_cli(source: str, target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # A process with a timeout: a copy that deadlocks on itself fails the test, never hangs it.
    command = [sys.executable, "-m", "arenadb", "--database-url", source, "copy", "--to", target]
    return subprocess.run(
        [*command, "--force", "--yes"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ARENADB_", "DB_"))},
    )


def _games(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("select count(*) from games")).scalar_one()
    finally:
        engine.dispose()


def _refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode in (1, 2), result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "same database" in lines[0], result.stderr


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_same_sqlite_file_under_another_name_is_refused(
    db_settings: Settings, tmp_path, monkeypatch
):
    path = db_settings.url.sqlite_path
    assert path is not None
    monkeypatch.chdir(path.parent)  # where ./arena.db is the database
    engine = create_engine(db_settings)
    build_arena(engine, games=2)
    engine.dispose()
    (tmp_path / "link.db").symlink_to(path)
    os.link(path, tmp_path / "hard.db")
    reader = sqlite3.connect(path)  # keeps the -wal and -shm files in place
    reader.execute("select count(*) from games").fetchall()
    try:
        spellings = [
            f"sqlite:///./{path.name}",
            f"sqlite:///{tmp_path / 'link.db'}",
            f"sqlite:///{tmp_path / 'hard.db'}",
            f"sqlite:///{path}-wal",
        ]
        for target in spellings:
            assert same_database(db_settings, settings_for(target)), target
            _refused(_copy_cli(f"sqlite:///{path}", target, cwd=path.parent))
    finally:
        reader.close()
    assert _games(db_settings) == 2
    assert (tmp_path / "link.db").is_symlink()
    other = settings_for(f"sqlite:///{tmp_path / 'other.db'}")
    assert not same_database(db_settings, other)
    assert not (tmp_path / "other.db").exists()  # asking created nothing


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_same_postgresql_database_spelled_differently_is_refused(
    db_settings: Settings, tmp_path
):
    engine = create_engine(db_settings)
    build_arena(engine, games=2)
    engine.dispose()
    url = db_settings.url
    assert url.host in ("127.0.0.1", "localhost")
    other_host = "localhost" if url.host == "127.0.0.1" else "127.0.0.1"
    source = db_settings.database_url
    spellings = [
        source.replace(f"@{url.host}", f"@{other_host}"),
        source + ("&" if "?" in source else "?") + "application_name=spelled-otherwise",
    ]
    for target in spellings:
        assert same_database(db_settings, settings_for(target)), target
        _refused(_copy_cli(source, target, cwd=tmp_path))
    assert _games(db_settings) == 2
    assert not same_database(db_settings, settings_for(source.rsplit("/", 1)[0] + "/postgres"))
