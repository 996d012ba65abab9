"""Issue 15, safe writes: every command that writes a file goes through portability/outputs.py.

An output is a new regular file unless --force; never the database being read (or its -wal/-shm,
also under another name); never a device, directory or symbolic link; a stranger's X.partial
next to the target is left alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings

runner = CliRunner()
WRITERS = [("export", "-o"), ("backup",)]


def write(settings: Settings, writer: tuple[str, ...], target: Path, *extra: str):
    if writer[0] == "backup" and settings.backend == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    return runner.invoke(
        app, ["--database-url", settings.database_url, *writer, str(target), *extra]
    )


def refused(result, *fragments: str) -> None:
    assert result.exit_code in (1, 2), result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w[0])
def test_an_existing_file_is_replaced_only_with_force(backend, db_settings, tmp_path, writer):
    target = tmp_path / "out.dump"
    target.write_text("precious\n")
    refused(write(db_settings, writer, target), "already exists")
    assert target.read_text() == "precious\n"
    result = write(db_settings, writer, target, "--force")
    assert result.exit_code == 0, result.output
    assert target.read_bytes() != b"precious\n"


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w[0])
def test_links_devices_and_directories_are_never_replaced(backend, db_settings, tmp_path, writer):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "link.out"
    link.symlink_to(victim)
    dangling = tmp_path / "dangling.out"
    dangling.symlink_to(tmp_path / "nowhere")
    for target, fragment in (
        (link, "symbolic link"),
        (dangling, "symbolic link"),
        (Path(os.devnull), "not a regular file"),
        (tmp_path, "directory"),
    ):
        refused(write(db_settings, writer, target, "--force"), fragment)
    assert link.is_symlink() and victim.read_text() == "keep me\n"
    assert dangling.is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w[0])
def test_a_strangers_partial_file_is_left_alone(backend, db_settings, tmp_path, writer):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "out.dump"
    stranger = folder / "out.dump.partial"
    stranger.write_text("not yours\n")
    assert write(db_settings, writer, target).exit_code == 0
    assert stranger.read_text() == "not yours\n"
    # A refused write leaves it too, and leaves no temporary of its own behind.
    refused(write(db_settings, writer, target), "already exists")
    assert stranger.read_text() == "not yours\n"
    assert sorted(p.name for p in folder.iterdir()) == ["out.dump", "out.dump.partial"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w[0])
def test_the_database_being_read_is_never_an_output(db_settings, tmp_path, writer):
    database = Path(db_settings.url.database or "")
    before = database.read_bytes()
    hard_link = tmp_path / "same-inode.db"
    os.link(database, hard_link)
    wal = Path(f"{database}-wal")
    for target in (database, wal, hard_link, tmp_path / "." / database.name):
        refused(write(db_settings, writer, target, "--force"), "database being read")
    assert database.read_bytes() == before
    result = runner.invoke(app, ["--database-url", db_settings.database_url, "db", "check"])
    assert result.exit_code == 0, result.output
