"""A worker loop: claim, run a handler, complete or fail, heartbeat."""

from __future__ import annotations

import contextlib
import random
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.db.engine import SQLITE_BEGIN
from arenadb.events.base import DEFAULT_LOCK_SECONDS, DEFAULT_RETRY_DELAYS, as_uuid
from arenadb.events.claim import ClaimedEvent, claim_next_event
from arenadb.events.engines import heartbeat
from arenadb.events.queue import complete_event, fail_event, reclaim_expired

# --------------------------------------------------------------------------------------------
# a worker loop


def _sqlite_busy(exc: sa.exc.OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


@dataclass
class WorkerReport:
    engine_id: uuid.UUID
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


Handler = Callable[[ClaimedEvent], "dict[str, Any] | None"]


def run_worker(
    engine: Engine,
    engine_id: uuid.UUID | str,
    handler: Handler,
    *,
    max_events: int | None = None,
    idle_timeout: float = 0.0,
    poll_interval: float = 0.2,
    heartbeat_every: float = 30.0,
    lock_seconds: float = DEFAULT_LOCK_SECONDS,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    engine_type: str | None = None,
    event_types: Sequence[str] | None = None,
) -> WorkerReport:
    """Claim, handle, complete (or fail with the handler's exception) until no event has been
    ready for `idle_timeout` seconds or `max_events` were handled; heartbeats as it goes.

    Example: `run_worker(engine, me, lambda ev: {"echo": ev.payload}, idle_timeout=60)`
    """
    report = WorkerReport(as_uuid(engine_id))
    me = report.engine_id
    # One connection for the whole loop, one short transaction per step: no pool checkout and
    # pre-ping per event. The handler runs outside any transaction (it may take minutes).
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(engine.connect())
        fast = conn
        if engine.dialect.name == "sqlite":
            conn = fast = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        else:
            # On PostgreSQL claim and complete are one statement each, atomic by themselves:
            # in autocommit they cost one round trip instead of three (BEGIN, it, COMMIT).
            fast = stack.enter_context(engine.connect())
            fast = fast.execution_options(isolation_level="AUTOCOMMIT")

        def step(operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            on = fast if operation in (claim_next_event, complete_event) else conn
            deadline = time.monotonic() + lock_seconds / 2
            while True:
                try:
                    with on.begin():
                        return operation(on, *args, **kwargs)
                except sa.exc.OperationalError as exc:
                    # SQLite's busy handler is not fair: under heavy contention a writer can
                    # wait out its busy timeout while others keep taking the lock. That is
                    # congestion, not failure: try again while our lock is safe.
                    if not _sqlite_busy(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(random.uniform(0.001, 0.02))

        last_beat = idle_since = time.monotonic()
        while max_events is None or len(report.completed) + len(report.failed) < max_events:
            if time.monotonic() - last_beat >= heartbeat_every:
                step(heartbeat, me)
                # Claims take over expired locks with retries left; this fails the rest.
                step(reclaim_expired, retry_delays=retry_delays)
                last_beat = time.monotonic()
            event = step(
                claim_next_event,
                me,
                lock_seconds=lock_seconds,
                engine_type=engine_type,
                event_types=event_types,
                retry_delays=retry_delays,
            )
            if event is None:
                if time.monotonic() - idle_since >= idle_timeout:
                    break
                time.sleep(poll_interval)
                continue
            idle_since = time.monotonic()
            try:
                result = handler(event)
            except Exception as exc:
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                step(fail_event, event.id, me, error, retry_delays=retry_delays)
                report.failed.append(event.id)
                continue
            step(complete_event, event.id, me, result)
            report.completed.append(event.id)
    return report
