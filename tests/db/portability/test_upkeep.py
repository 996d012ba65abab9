"""`arenadb clean` (retention) and `arenadb backup` on both backends."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from arenadb.cli import app
from arenadb.config import Settings
from arenadb.db import write_transaction
from arenadb.errors import InvalidArgumentError, RefusedError
from arenadb.models import ExecutionLog, Game, GameSnapshot, LLMCall, SystemLog
from arenadb.portability.upkeep import (
    backup_database,
    check_categories,
    clean_database,
    pg_dump_command,
)
from tests.conftest import settings_for
from tests.support.synthetic import START, build_arena

runner = CliRunner()
CUTOFF = START + timedelta(minutes=3 * 10)  # synthetic game n starts at START + 3n minutes
OLD, NEW = START - timedelta(days=1), CUTOFF + timedelta(days=365)


def _count(engine: Engine, table: sa.Table, *where: object) -> int:
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        return int(conn.execute(query.where(*where) if where else query).scalar_one())


def _prepare(engine: Engine) -> dict[str, int]:
    """A small arena with payloads, logs and extra snapshots on both sides of CUTOFF."""
    build_arena(engine, games=20)
    games, calls = Game.__table__, LLMCall.__table__
    with write_transaction(engine) as conn:
        conn.execute(
            sa.update(calls).values(
                request={"messages": [{"role": "user", "content": "hi"}]},
                response={"content": "ok"},
                reasoning="because",
            )
        )
        conn.execute(
            sa.insert(SystemLog.__table__),
            [{"message": "old", "created_at": OLD}, {"message": "new", "created_at": NEW}],
        )
        conn.execute(
            sa.insert(ExecutionLog.__table__),
            [{"message": "old", "created_at": OLD}, {"message": "new", "created_at": NEW}],
        )
        first_game = conn.execute(sa.select(sa.func.min(games.c.id))).scalar_one()
        conn.execute(
            sa.update(games).where(games.c.id == first_game).values(finished_at=OLD, started_at=OLD)
        )
        snapshot = {"state": {"t": 1}, "sha256": "0" * 64, "size_bytes": 9, "kind": "periodic"}
        conn.execute(
            sa.insert(GameSnapshot.__table__),
            [{**snapshot, "game_id": first_game, "turn": turn} for turn in (1, 2, 3)],
        )
        old_calls = conn.execute(
            sa.select(sa.func.count())
            .select_from(calls)
            .where(calls.c.game_id.in_(sa.select(games.c.id).where(games.c.finished_at < CUTOFF)))
        ).scalar_one()
    return {"old_calls": int(old_calls), "first_game": int(first_game)}


def test_clean_dry_run_counts_then_clean_removes_exactly_that(engine: Engine) -> None:
    facts = _prepare(engine)
    calls = LLMCall.__table__
    what = ["llm-payloads,logs", "snapshots"]

    dry = clean_database(engine, before=CUTOFF, what=what, dry_run=True)
    assert _count(engine, calls, calls.c.request.is_(None)) == 0  # nothing changed
    done = clean_database(engine, before=CUTOFF, what=what)

    counted = {(i.category, i.table): i.rows for i in dry.items}
    assert counted == {(i.category, i.table): i.rows for i in done.items}
    assert counted == {
        ("llm-payloads", "llm_calls"): facts["old_calls"],
        ("logs", "system_logs"): 1,
        ("logs", "execution_logs"): 1,
        ("snapshots", "game_snapshots"): 2,  # turns 1 and 2; the last periodic one stays
    }
    assert facts["old_calls"] > 0
    # SQL NULL, not JSON null; the other calls keep their payloads, tokens stay.
    assert (
        _count(engine, calls, calls.c.request.is_(None), calls.c.response.is_(None))
        == (facts["old_calls"])
    )
    assert _count(engine, calls, calls.c.request.is_not(None)) > 0
    assert _count(engine, calls, calls.c.input_tokens.is_not(None)) > facts["old_calls"]
    assert _count(engine, SystemLog.__table__) == 1
    snapshots = GameSnapshot.__table__
    assert _count(engine, snapshots, snapshots.c.game_id == facts["first_game"]) == 1
    again = clean_database(engine, before=CUTOFF, what=what)
    assert again.rows == 0


def test_clean_categories() -> None:
    assert check_categories(None) == ["llm-payloads", "logs"]
    assert check_categories(["all"]) == ["llm-payloads", "logs", "events", "snapshots"]
    with pytest.raises(InvalidArgumentError, match="unknown retention category 'payloads'") as info:
        check_categories(["payloads"])
    assert "--" not in str(info.value) and info.value.parameter == "what"


def test_clean_cli_confirms_and_reports(db_settings: Settings, engine: Engine) -> None:
    _prepare(engine)
    args = ["--database-url", db_settings.database_url, "clean", "--before", "2026-01-01T00:30"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    dry = runner.invoke(app, [*args, "--dry-run", "--what", "logs"])
    assert dry.exit_code == 0, dry.output
    assert "would delete" in dry.stdout and "would affect 2 rows" in dry.stderr
    done = runner.invoke(app, [*args, "--yes", "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert not report["dry_run"] and {i["category"] for i in report["items"]} == {
        "llm-payloads",
        "logs",
    }


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_backup_is_a_consistent_copy(
    db_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    build_arena(engine, games=10)
    target = tmp_path / "backup.db"
    result = runner.invoke(app, ["--database-url", db_settings.database_url, "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "sqlite online backup" in result.stderr
    copy = sqlite3.connect(target)
    try:
        counts = {
            t: copy.execute(f"select count(*) from {t}").fetchone()[0]
            for t in ("games", "llm_calls")
        }
        assert copy.execute("pragma integrity_check").fetchone()[0] == "ok"
    finally:
        copy.close()
    assert counts == {
        "games": _count(engine, Game.__table__),
        "llm_calls": _count(engine, LLMCall.__table__),
    }
    with pytest.raises(RefusedError, match="already exists"):
        backup_database(db_settings, target)
    assert backup_database(db_settings, target, force=True).bytes > 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("name", ["backup.dump", "backup.sql"])
def test_postgresql_backup_with_pg_dump(
    db_settings: Settings, engine: Engine, tmp_path: Path, name: str
) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    build_arena(engine, games=3)
    target = tmp_path / name
    result = backup_database(db_settings, target)
    if name.endswith(".sql"):
        assert "CREATE TABLE public.games" in target.read_text()
        assert result.method == "pg_dump (plain SQL)"
    else:
        listing = subprocess.run(
            ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True
        ).stdout
        assert "TABLE public games" in listing and "TABLE DATA public llm_calls" in listing


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_backup_without_pg_dump_is_a_clear_error(db_settings: Settings, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["--database-url", db_settings.database_url, "backup", str(tmp_path / "x.dump")],
        env={"PATH": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert "pg_dump not found on PATH" in result.stderr
    assert not (tmp_path / "x.dump").exists()


def test_pg_dump_gets_the_password_from_the_environment_only(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    settings = settings_for("postgresql://arena:s3cr%40t@db.example:5433/arena?sslmode=require")
    args, env = pg_dump_command(settings, tmp_path / "x.dump", plain=False)
    assert not any("s3cr" in arg for arg in args)
    assert env["PGPASSWORD"] == "s3cr@t"
    assert "--dbname=postgresql://arena@db.example:5433/arena?sslmode=require" in args


def test_finished_before_uses_utc(engine: Engine) -> None:
    # A cutoff given in another zone means the same instant.
    facts = _prepare(engine)
    later = CUTOFF.astimezone(timezone(timedelta(hours=5)))
    report = clean_database(engine, before=later, what=["llm-payloads"], dry_run=True)
    assert report.items[0].rows == facts["old_calls"]
    assert isinstance(report.before, datetime)
