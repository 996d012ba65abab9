"""The queue under real concurrency: engine processes racing for events, and one killed mid-event.

Each worker is a separate Python process (tests/support/event_worker.py) with its own engine and
connections, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from arenadb.db import create_engine, session_scope
from arenadb.events import (
    NewEvent,
    enqueue_events,
    ensure_event_types,
    get_event,
    list_events,
    read_event_types,
)
from tests.support.contention import worker_environ

pytestmark = pytest.mark.slow

WORKER = str(Path(__file__).parents[1] / "support" / "event_worker.py")
WORKERS = 4
EVENTS = 2000


def start_worker(settings, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, settings.database_url, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=worker_environ(PYTHONUNBUFFERED="1"),
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def enqueue(settings, count: int) -> list[int]:
    engine = create_engine(settings)
    try:
        with session_scope(engine, write=True) as session:
            ensure_event_types(session, read_event_types())
            return enqueue_events(
                session,
                [NewEvent("system.tick", {"tick": i}, priority=i % 3) for i in range(count)],
            )
    finally:
        engine.dispose()


def test_four_workers_process_every_event_exactly_once(db_settings):
    ids = enqueue(db_settings, EVENTS)
    procs = [start_worker(db_settings, "drain") for _ in range(WORKERS)]
    try:
        engines = []
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            assert line and line[0] == "ready", proc.stderr.read() if proc.stderr else ""
            engines.append(line[1])
        # Everyone is registered and connected before anyone starts: they really race.
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [finish(p) for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    claims = [event_id for r in reports for event_id in r["claimed"]]
    assert len(claims) == len(set(claims)), "an event was handed to two workers"
    assert sorted(claims) == sorted(ids)
    assert sum(1 for r in reports if r["claimed"]) >= 2, "no contention: one worker did it all"
    owner = {event_id: r["engine"] for r in reports for event_id in r["claimed"]}

    engine = create_engine(db_settings)
    try:
        events = list_events(engine, limit=None)
    finally:
        engine.dispose()
    assert len(events) == EVENTS
    for event in events:
        assert event.status == "completed"
        assert event.retry_count == 0
        [attempt] = event.processing_history
        assert attempt["outcome"] == "completed"
        assert attempt["engine_id"] == owner[event.id] == event.result["handled_by"]


def test_killed_worker_event_is_reclaimed_after_lock_expiry(db_settings):
    [event_id] = enqueue(db_settings, 1)
    lock_seconds = 1.0
    hung = start_worker(db_settings, "hang", str(lock_seconds))
    try:
        assert hung.stdout is not None
        line = hung.stdout.readline().split()
        assert line == ["claimed", str(event_id)], hung.stderr.read() if hung.stderr else ""
        hung.send_signal(signal.SIGKILL)
        hung.wait(timeout=10)
    finally:
        if hung.poll() is None:
            hung.kill()
            hung.wait()
    assert hung.returncode == -signal.SIGKILL

    engine = create_engine(db_settings)
    try:
        held = get_event(engine, event_id)
        assert held.status == "processing"  # the dead engine still holds it, until the lock ends
        dead_engine = str(held.locked_by)

        rescuer = finish(start_worker(db_settings, "one"), timeout=60)
        done = get_event(engine, event_id)
    finally:
        engine.dispose()

    assert rescuer["claimed"] == [event_id] and rescuer["completed"] == [event_id]
    assert done.status == "completed"
    assert done.retry_count == 1  # the expired lock counts as a failed attempt
    first, second = done.processing_history
    assert first["outcome"] == "lock_expired" and first["engine_id"] == dead_engine
    assert second["outcome"] == "completed" and second["engine_id"] == rescuer["engine"]
    assert uuid.UUID(dead_engine) != uuid.UUID(rescuer["engine"])
    # The rescuer could only take it once the dead engine's lock had run out.
    started = datetime.fromisoformat(first["claimed_at"])
    taken = datetime.fromisoformat(second["claimed_at"])
    assert (taken - started).total_seconds() >= lock_seconds
