"""Read replicas: reads served by a real hot standby, writes only ever on the primary.

A PostgreSQL primary and hot standby are made for this module (tests/support/replication.py:
initdb + pg_basebackup in a temporary folder). Pausing the standby's replay makes "served by
the standby" visible: a game written on the primary afterwards is not there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import arenadb
from arenadb.config import load_settings
from arenadb.db import create_engine
from arenadb.db.replica import read_engine
from tests.support.replication import Cluster, pg_bindir, primary_and_standby
from tests.support.synthetic import build_arena

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if os.environ.get("ARENADB_TEST_POSTGRES_URL") is None:
        pytest.skip("ARENADB_TEST_POSTGRES_URL is not set: PostgreSQL tests need a server")
    if pg_bindir() is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_basebackup) on this machine")
    with primary_and_standby() as made:
        created = _cli(made, "--database-url", made.primary_url, "init")
        assert created.returncode == 0, created.stderr
        build_arena(create_engine(load_settings(made.primary_url)), games=12)
        _caught_up(made)
        yield made


def _cli(cluster: Cluster, *args: str, env: dict[str, str] | None = None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ARENADB_", "DB_"))}
    environ.pop("DATABASE_URL", None)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from arenadb.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def _standby(cluster: Cluster, sql: str):
    with create_engine(load_settings(cluster.standby_url), pooled=False).connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def _caught_up(cluster: Cluster) -> None:
    primary = create_engine(load_settings(cluster.primary_url), pooled=False)
    with primary.connect() as conn:
        target = conn.execute(sa.text("SELECT pg_current_wal_lsn()::text")).scalar()
    for _ in range(300):
        done = _standby(cluster, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
        if done:
            return
        time.sleep(0.1)
    raise AssertionError("the standby did not catch up")


def _games(cluster: Cluster, *extra: str, env: dict[str, str] | None = None) -> int:
    done = _cli(
        cluster,
        "--database-url",
        cluster.primary_url,
        *extra,
        "games",
        "list",
        "--limit",
        "500",
        "--json",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    import json

    return len(
        json.loads(done.stdout)["games"] if done.stdout.startswith("{") else json.loads(done.stdout)
    )


def test_reads_are_served_by_the_standby_and_writes_go_to_the_primary(cluster: Cluster) -> None:
    before = _games(cluster)
    assert _games(cluster, "--read-url", cluster.standby_url) == before
    _standby(cluster, "SELECT pg_wal_replay_pause()")
    try:
        # A write command with a read URL writes on the primary (the standby refuses writes).
        seeded = _cli(
            cluster,
            "--database-url",
            cluster.primary_url,
            "--read-url",
            cluster.standby_url,
            "seed",
            "--env",
            "test",
        )
        assert seeded.returncode == 0, seeded.stderr
        with arenadb.connect(cluster.primary_url) as arena:
            arena.start_game("ColonelBlotto-v0", arena.random_agents(2)).abort("a new game")
        assert _games(cluster) > before
        # The standby has not replayed that: a read-only command with --read-url reads it.
        lagging = _cli(
            cluster,
            "--database-url",
            cluster.primary_url,
            "--read-url",
            cluster.standby_url,
            "games",
            "list",
            "--limit",
            "500",
            "--json",
            env={"ARENADB_READ_MAX_LAG_S": "0"},
        )
        assert lagging.returncode == 0, lagging.stderr
        assert "behind the primary" in lagging.stderr and lagging.stderr.count("\n") == 1
        assert "postgres@" not in lagging.stderr or "***" not in lagging.stderr
        assert _games(cluster, "--read-url", cluster.standby_url) == before
        # The same through the environment variable, and the library's read side.
        env = {"ARENADB_READ_URL": cluster.standby_url}
        assert _games(cluster, env=env) == before
        with arenadb.connect(cluster.primary_url, read_url=cluster.standby_url) as arena:
            assert len(arena.games(limit=500)) == before
            with arena.session() as session:  # reading your own writes: the primary
                from arenadb.models import Game

                assert session.query(Game).count() > before
    finally:
        _standby(cluster, "SELECT pg_wal_replay_resume()")
    _caught_up(cluster)
    assert _games(cluster, "--read-url", cluster.standby_url) == _games(cluster)


def test_the_replica_engine_refuses_every_write(cluster: Cluster, tmp_path: Path) -> None:
    settings = load_settings(cluster.primary_url, read_url=cluster.primary_url)
    # Even pointed at the primary itself, the read engine cannot write.
    with (
        read_engine(settings).connect() as conn,
        pytest.raises(sa.exc.DBAPIError, match="read-only"),
    ):
        conn.execute(sa.text("UPDATE games SET seed = 1"))
    # SQLite: the read side of a copy of the file is opened mode=ro.
    arena_db = tmp_path / "arena.db"
    assert _cli(cluster, "--database-url", f"sqlite:///{arena_db}", "init").returncode == 0
    copy = tmp_path / "copy.db"
    shutil.copy(arena_db, copy)
    sqlite = load_settings(f"sqlite:///{arena_db}", read_url=f"sqlite:///{copy}")
    with (
        read_engine(sqlite).connect() as conn,
        pytest.raises(sa.exc.OperationalError, match=r"readonly"),
    ):
        conn.execute(sa.text("DELETE FROM agents"))


def test_a_replica_that_is_down_is_one_clear_line(cluster: Cluster) -> None:
    cluster.stop_standby()
    down = _cli(
        cluster,
        "--database-url",
        cluster.primary_url,
        "--read-url",
        cluster.standby_url,
        "games",
        "list",
    )
    assert down.returncode == 1
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and "read replica" in lines[0] and "ARENADB_READ_URL" in lines[0]
    assert "Traceback" not in down.stderr
    # Write commands do not need the replica.
    rebuilt = _cli(
        cluster,
        "--database-url",
        cluster.primary_url,
        "--read-url",
        cluster.standby_url,
        "ratings",
        "rebuild",
        "--yes",
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
