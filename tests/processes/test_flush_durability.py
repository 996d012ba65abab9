"""A runner killed (SIGKILL) in the middle of a slow LLM call keeps the turns it recorded before:
they are committed within flush_seconds without a next call (the Arena's flusher thread)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db import create_engine
from tests.support.contention import worker_environ

WORKER = Path(__file__).parents[1] / "support" / "slow_call_worker.py"
FLUSH_SECONDS = 0.3
pytestmark = pytest.mark.slow


def test_turns_before_a_slow_call_survive_sigkill(db_settings: Settings) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), db_settings.database_url, str(FLUSH_SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_environ(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("calling "), proc.stderr.read() if proc.stderr else line
        game_id = int(line.split()[1])
        # Past the bound (and a margin for a loaded machine), still inside the slow call.
        time.sleep(FLUSH_SECONDS + 1.5)
        assert proc.poll() is None
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    engine = create_engine(db_settings)
    try:
        with engine.connect() as conn:
            turns = conn.execute(
                sa.text("select seq, action from game_turns where game_id = :g order by seq"),
                {"g": game_id},
            ).all()
            calls = conn.execute(
                sa.text("select turn_seq, cost from llm_calls where game_id = :g order by id"),
                {"g": game_id},
            ).all()
            status = conn.execute(
                sa.text("select status from games where id = :g"), {"g": game_id}
            ).scalar_one()
    finally:
        engine.dispose()
    assert [tuple(t) for t in turns] == [(0, "bet"), (1, "call")]
    assert [c.turn_seq for c in calls] == [0, 1]
    assert calls[1].cost == pytest.approx((10 * 1.0 + 2 * 2.0) / 1e6)
    assert status == "running"  # killed, not finished: resumable from its last batch
