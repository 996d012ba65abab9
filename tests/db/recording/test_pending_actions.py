"""Pending actions (simultaneous moves): durable when submitted, returned by resume, recorded by
the resolved turn and then gone; a runner SIGKILLed between two submissions resumes with both
its snapshot and the first submission. Both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import arenadb
from arenadb.errors import ConflictError, InvalidDataError

WORKER = Path(__file__).parents[2] / "support" / "pending_worker.py"


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def start(arena):
    arena.register_model("pm")
    agents = [arena.register_agent(model="pm", kind="k", prompt=(f"p{s}", "x")).id for s in (0, 1)]
    return arena.start_game("ColonelBlotto-v0", [arenadb.Seat(a) for a in agents])


def test_submit_is_durable_at_once_and_resolve_records_and_clears(db_settings, engine):
    with arenadb.connect(settings=db_settings) as arena:
        recorder = start(arena)
        recorder.record_turn(turn_number=0, observation="buffered before the submission")
        recorder.submit_action(0, "[A20 B0 C0]", payload={"A": 20})
        # Committed: another connection sees it, and the turn buffered before it.
        assert rows(engine, "select turn_number, seat, action from pending_actions") == [
            (1, 0, "[A20 B0 C0]")
        ]
        assert rows(engine, "select seq from game_turns") == [(0,)]
        recorder.submit_action(0, "[A10 B10 C0]")  # changed its mind: replaced
        recorder.submit_action(1, "[A0 B0 C20]", payload={"C": 20})
        assert [(s.seat, s.action) for s in recorder.pending_actions(1)] == [
            (0, "[A10 B10 C0]"),
            (1, "[A0 B0 C20]"),
        ]
        seq = recorder.resolve_turn(observation="both moved", action="red wins A")
        assert rows(engine, "select count(*) from pending_actions") == [(0,)]
        assert rows(
            engine, "select seq, turn_number, action from game_turns where seq = :s", s=seq
        ) == [(1, 1, "red wins A")]
        actions = rows(
            engine,
            "select seat, action_type, payload from player_actions"
            " where turn_seq = :s order by idx",
            s=seq,
        )
        assert [(seat, kind) for seat, kind, _ in actions] == [(0, "submitted"), (1, "submitted")]
        assert recorder.pending_actions() == []
        with pytest.raises(InvalidDataError, match="no seat 7"):
            recorder.submit_action(7, "x")
        recorder.finish(outcome="draw")
        with pytest.raises(ConflictError):
            recorder.submit_action(0, "late")


def test_resume_returns_the_pending_actions_and_resolves_them(db_settings, engine):
    with arenadb.connect(settings=db_settings) as arena:
        recorder = start(arena)
        recorder.submit_action(1, "[A7 B7 C6]", turn_number=0)
        game_id = recorder.game_id
    with arenadb.connect(settings=db_settings) as arena:
        point = arena.resume(game_id)
        assert [(s.turn_number, s.seat, s.action) for s in point.pending_actions] == [
            (0, 1, "[A7 B7 C6]")
        ]
        assert point.recorder is not None
        point.recorder.submit_action(0, "[A6 B7 C7]", turn_number=0)
        point.recorder.resolve_turn(turn_number=0)
    assert rows(engine, "select count(*) from pending_actions") == [(0,)]
    assert rows(engine, "select seat from player_actions order by seat") == [(0,), (1,)]


@pytest.mark.slow
def test_a_runner_killed_between_two_submissions_resumes_with_both(db_settings, engine):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), db_settings.database_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("submitted"), proc.stderr.read() if proc.stderr else line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    game_id = int(line.split()[1])
    with arenadb.connect(settings=db_settings) as arena:
        point = arena.resume(game_id)
        assert point.state == {"round": 1, "fields": ["A", "B", "C"], "score": [0, 0]}
        assert point.snapshot_turn == 1
        (first,) = point.pending_actions
        assert (first.turn_number, first.seat, first.action) == (1, 0, "[A10 B5 C5]")
        assert first.payload == {"A": 10, "B": 5, "C": 5}
        assert point.recorder is not None
        point.recorder.submit_action(1, "[A5 B5 C10]")
        point.recorder.resolve_turn(observation="resolved after the restart")
        point.recorder.finish(outcome="draw")
    assert rows(engine, "select count(*) from pending_actions") == [(0,)]
    assert rows(
        engine,
        "select seat, action_type from player_actions where game_id = :g order by idx",
        g=game_id,
    ) == [(0, "submitted"), (1, "submitted")]
