"""Real processes: concurrent recorders on one database, and a recorder killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import arenadb
from arenadb.config import Settings
from arenadb.db import create_engine
from tests.support.contention import worker_environ

WORKER = Path(__file__).parents[1] / "support" / "recording_worker.py"
pytestmark = pytest.mark.slow


def _counts(engine: sa.Engine, sql: str, **params: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def test_four_processes_record_200_games_into_one_database(db_settings: Settings) -> None:
    from tests.support.recording_worker import SEATS, TURNS

    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_settings.database_url, "games", str(w), "50"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_environ(),
        )
        for w in range(4)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    engine = create_engine(db_settings)
    try:
        games = _counts(
            engine,
            "select status, outcome, winning_side, count(*) from games "
            "group by status, outcome, winning_side",
        )
        assert games == [("completed", "win", "a", 200)]
        # Every game has all of its rows: seats with results, turns, calls, actions, snapshots.
        per_game = _counts(
            engine,
            "select g.id, "
            "(select count(*) from game_players p where p.game_id = g.id and p.reward is not null),"
            " (select count(*) from game_turns t where t.game_id = g.id),"
            " (select count(*) from llm_calls c where c.game_id = g.id),"
            " (select count(*) from player_actions a where a.game_id = g.id),"
            " (select count(*) from game_snapshots s where s.game_id = g.id)"
            " from games g",
        )
        assert len(per_game) == 200
        assert {row[1:] for row in per_game} == {(SEATS, TURNS, TURNS, TURNS, TURNS // 2)}
        seeds = _counts(engine, "select count(distinct seed) from games")
        assert seeds == [(200,)]
        # The concurrent registrations converged on one row each.
        assert _counts(engine, "select count(*) from llm_models") == [(1,)]
        assert _counts(engine, "select count(*) from agents") == [(SEATS,)]
    finally:
        engine.dispose()
    # And every snapshot verifies.
    with arenadb.connect(settings=db_settings) as arena, arena.session() as session:
        from arenadb.db.json import state_hash
        from arenadb.models import GameSnapshot

        snaps = session.scalars(sa.select(GameSnapshot)).all()
        assert len(snaps) == 200 * (TURNS // 2)
        assert all(state_hash(s.state) == s.sha256 for s in snaps)


def test_killed_process_leaves_only_whole_batches(db_settings: Settings) -> None:
    batch = 4
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), db_settings.database_url, "endless", "0", str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            commits = sum(seen.startswith("committed") for seen in lines)
            if commits >= 23 and line.startswith("writing"):
                # Die while this batch is being written (or just after its commit).
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=10)
    lines += out.splitlines()
    assert sum(seen.startswith("committed") for seen in lines) >= 23, err
    # What the process said last: a batch it was writing, or one it had committed.
    last_word, last_game, last_turns = lines[-1].split()

    engine = create_engine(db_settings)
    try:
        rows = _counts(
            engine,
            "select g.id, g.status,"
            " (select count(*) from game_turns t where t.game_id = g.id),"
            " (select coalesce(max(seq), -1) from game_turns t where t.game_id = g.id),"
            " (select count(*) from llm_calls c where c.game_id = g.id),"
            " (select count(*) from player_actions a where a.game_id = g.id),"
            " (select count(*) from game_snapshots s where s.game_id = g.id),"
            " (select coalesce(max(turn), 0) from game_snapshots s where s.game_id = g.id)"
            " from games g order by g.id",
        )
        assert len(rows) >= 5  # 5 batches per game: at least 4 complete games and the killed one
        total_turns = 0
        for game_id, status, turns, max_seq, calls, actions, snaps, last_snap in rows:
            assert status == "running"
            assert turns % batch == 0, f"game {game_id} has a partial batch: {turns} turns"
            assert max_seq == turns - 1  # no gap
            assert calls == turns and actions == turns  # no turn without its children
            assert snaps == turns // 2 and last_snap <= turns
            total_turns += turns
        assert total_turns >= 23 * batch
        # The batch being written when the process died is either all there or not at all.
        found = {r[0]: r[2] for r in rows}[int(last_game)]
        if last_word == "writing":
            assert found in (int(last_turns) - batch, int(last_turns))
        else:
            assert found == int(last_turns)
        orphans = _counts(
            engine,
            "select count(*) from llm_calls c left join game_turns t "
            "on t.game_id = c.game_id and t.seq = c.turn_seq where t.seq is null",
        )
        assert orphans == [(0,)]
    finally:
        engine.dispose()

    # The last game with turns resumes from its last verified snapshot: with 4 turns per batch
    # and a snapshot every 2 turns, the snapshot after the last committed turn.
    game_id, turns = next((r[0], r[2]) for r in reversed(rows) if r[2])
    with arenadb.connect(settings=db_settings) as arena:
        point = arena.resume(game_id)
        assert point.warnings == []
        assert point.snapshot_turn == turns
        assert point.state is not None and point.state["turns"] == turns
        assert point.turns == [] and point.next_seq == turns
