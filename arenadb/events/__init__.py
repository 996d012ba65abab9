"""The event queue: scenarios, events, claims, engines and execution logs.

Every public name of the submodules is importable from here
(`from arenadb import events as ev; ev.claim_next_event(...)`).
"""

from arenadb.events.base import (
    DEFAULT_LOCK_SECONDS,
    DEFAULT_RETRY_DELAYS,
    DEFAULT_STALE_AFTER,
    Bind,
    database_now,
)
from arenadb.events.claim import ClaimedEvent, EventOutcome, claim_next_event
from arenadb.events.engines import (
    EngineInfo,
    heartbeat,
    list_engines,
    mark_stale_engines,
    register_engine,
    stop_engine,
)
from arenadb.events.event_types import (
    EVENT_TYPE_FIELDS,
    EventTypeSeedResult,
    ensure_event_types,
    read_event_types,
    validate_payload,
)
from arenadb.events.queue import (
    NewEvent,
    complete_event,
    enqueue_event,
    enqueue_events,
    extend_lock,
    fail_event,
    reclaim_expired,
    retry_events,
)
from arenadb.events.reading import (
    EventInfo,
    EventStats,
    EventTypeStats,
    event_stats,
    get_event,
    list_events,
)
from arenadb.events.scenarios import (
    create_scenario_template,
    finish_scenario_run,
    log_execution,
    start_scenario_run,
)
from arenadb.events.worker import Handler, WorkerReport, run_worker

__all__ = [
    "DEFAULT_LOCK_SECONDS",
    "DEFAULT_RETRY_DELAYS",
    "DEFAULT_STALE_AFTER",
    "EVENT_TYPE_FIELDS",
    "Bind",
    "ClaimedEvent",
    "EngineInfo",
    "EventInfo",
    "EventOutcome",
    "EventStats",
    "EventTypeSeedResult",
    "EventTypeStats",
    "Handler",
    "NewEvent",
    "WorkerReport",
    "claim_next_event",
    "complete_event",
    "create_scenario_template",
    "database_now",
    "enqueue_event",
    "enqueue_events",
    "ensure_event_types",
    "event_stats",
    "extend_lock",
    "fail_event",
    "finish_scenario_run",
    "get_event",
    "heartbeat",
    "list_engines",
    "list_events",
    "log_execution",
    "mark_stale_engines",
    "read_event_types",
    "reclaim_expired",
    "register_engine",
    "retry_events",
    "run_worker",
    "start_scenario_run",
    "stop_engine",
    "validate_payload",
]
