"""Issue 15: get-or-create from 4 processes at once converges on one row each, never an error."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from arenadb.config import Settings
from arenadb.db import create_engine
from tests.support.contention import worker_environ

WORKER = Path(__file__).parents[1] / "support" / "registration_worker.py"
pytestmark = pytest.mark.slow
ROWS = 40


def test_four_processes_get_or_create_the_same_users_and_agents(
    db_settings: Settings, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_settings.database_url, str(go), str(ROWS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=worker_environ(),
        )
        for _ in range(4)
    ]
    time.sleep(2)  # every worker connected and waiting: then all start at once
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        outputs.append(out.split("\n"))
    # Every worker got the same row for each external id and each (kind, model, prompt).
    assert all(output == outputs[0] for output in outputs)
    engine = create_engine(db_settings)
    try:
        with engine.connect() as conn:
            for table in ("users", "agents", "llm_models", "agent_kinds", "prompts"):
                count = conn.execute(sa.text(f"select count(*) from {table}")).scalar_one()
                assert count == ROWS, table
    finally:
        engine.dispose()
