"""Event queue throughput: the worker loop against one claim + one complete per pooled call.

Baseline (measured in the same run, on the same database): `claim_next_event(engine, ...)` then
`complete_event(engine, ...)`, each checking a connection out of the pool (with pre-ping) and
running its own transaction. Measured: `run_worker`, which keeps one connection and, on
PostgreSQL, runs the single-statement claim and complete in autocommit. Also: how the claim scales
with the size of the queue (the claim index should make it flat).

    python benchmarks/event_queue.py [--events 1000] [--postgres-url URL]

Last line per backend: `<backend> worker_vs_per_call=X claim_10x_queue_vs_1x=Y`
(X < 1 means the worker loop is faster; Y near 1 means the claim does not slow down as the queue
grows).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from arenadb.config import load_settings
from arenadb.db import create_database, create_engine, drop_database, session_scope
from arenadb.events import queue as ev
from arenadb.schema.migrations import upgrade


def _fill(engine, count: int) -> None:
    with session_scope(engine, write=True) as session:
        ev.enqueue_events(
            session, [ev.NewEvent("system.tick", {"tick": i}, priority=i % 3) for i in range(count)]
        )


def _per_call(engine, me: uuid.UUID, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        event = ev.claim_next_event(engine, me)
        assert event is not None
        ev.complete_event(engine, event.id, me)
    return (time.perf_counter() - start) / count


def _worker(engine, me: uuid.UUID, count: int) -> float:
    start = time.perf_counter()
    report = ev.run_worker(engine, me, lambda event: None, max_events=count)
    assert len(report.completed) == count
    return (time.perf_counter() - start) / count


def bench(url: str, events: int) -> None:
    settings = load_settings(url, environ={})
    drop_database(settings, missing_ok=True)
    create_database(settings)
    upgrade(settings)
    engine = create_engine(settings)
    try:
        with session_scope(engine, write=True) as session:
            ev.ensure_event_types(session, ev.read_event_types())
        me = ev.register_engine(engine, "bench").id
        _fill(engine, 2 * events)
        per_call = _per_call(engine, me, events)
        worker = _worker(engine, me, events)
        # The same claims on a queue of 2N events, then of 20N.
        _fill(engine, 2 * events)
        small = _per_call(engine, me, events // 2)
        _fill(engine, 18 * events)
        large = _per_call(engine, me, events // 2)
    finally:
        engine.dispose()
        drop_database(settings, missing_ok=True)
    print(
        f"{settings.backend}: per call {per_call * 1000:.2f} ms/event, "
        f"worker loop {worker * 1000:.2f} ms/event"
    )
    print(f"{settings.backend} worker_vs_per_call={worker / per_call:.2f} ", end="")
    print(f"claim_10x_queue_vs_1x={large / small:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--postgres-url", help="server URL; a scratch database is used")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench(f"sqlite:///{Path(folder) / 'bench.db'}", args.events)
    if args.postgres_url:
        server = load_settings(args.postgres_url, environ={}).url
        name = f"arenadb_bench_events_{uuid.uuid4().hex[:8]}"
        bench(server.with_database(name).render(), args.events)


if __name__ == "__main__":
    main()
