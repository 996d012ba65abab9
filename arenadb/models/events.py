"""Scenarios, the event queue and the engines that drain it (PyScrAI's event-driven runtime).

A scenario template describes a kind of scenario (config, agent roles, event flow); a scenario run
is one execution of it. Events belong to a scenario run, to a game, or (system events) to neither,
never to both. Engines register, heartbeat, and claim events one at a time under a lock with an
expiry, so a crashed engine's event is taken over once its lock runs out (`arenadb.events.queue`).

Source and target of an event: `source_agent_id` / `target_agent_id` point at the arena's `agents`
when an agent is involved (a real foreign key, so "every event for agent 7" is an indexed query
and a typo is an error); `source` / `target` are free-form references for everything else that
can send or receive an event in a running scenario (a seat "seat:3", an engine "engine:narrator",
the environment, a user, "broadcast"). Either, both or neither may be set.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import (
    Base,
    UTCDateTime,
    check_in,
    created_at_column,
    never_reused_ids,
    utcnow,
)
from arenadb.models.system_log import LOG_LEVELS

SCENARIO_RUN_STATUSES = ("pending", "running", "completed", "failed", "aborted")
EVENT_STATUSES = ("queued", "processing", "completed", "failed")
# Events an engine may still claim: the claim index covers exactly these.
LIVE_EVENT_STATUSES = ("queued", "processing")
ENGINE_STATUSES = ("active", "stale", "stopped")

# The claim index's WHERE clause. Both backends use a partial index only when the query's WHERE
# contains this very term, so the queue query (arenadb.events.queue) repeats it word for word.
LIVE_EVENTS_WHERE = check_in("status", LIVE_EVENT_STATUSES)


class ScenarioTemplate(Base):
    """A kind of scenario: its configuration, the roles agents play, and the flow of events."""

    __tablename__ = "scenario_templates"

    __table_args__ = never_reused_ids()

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    config: Mapped[dict[str, Any] | None]
    agent_roles: Mapped[list[Any] | None]
    event_flow: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScenarioRun(Base):
    """One execution of a scenario template (or an ad-hoc scenario without one)."""

    __tablename__ = "scenario_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SET NULL: a run's record (events, logs, results) outlives the template it came from.
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scenario_templates.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending", server_default="pending")
    config: Mapped[dict[str, Any] | None]
    results: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    template: Mapped[ScenarioTemplate | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(check_in("status", SCENARIO_RUN_STATUSES), name="status"),
        sa.Index("ix_scenario_runs_status_id", "status", "id"),
        never_reused_ids(),
    )


class EventType(Base):
    """A kind of event: its category, the type of engine that handles it, its payload schema."""

    __tablename__ = "event_types"

    __table_args__ = never_reused_ids()

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    category: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    engine_type: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    # A small JSON-Schema subset (type, required, properties.*.type), checked on enqueue.
    payload_schema: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()


class Engine(Base):
    """A worker process that claims and handles events; alive while it heartbeats."""

    __tablename__ = "engines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    engine_type: Mapped[str] = mapped_column(sa.String(50), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="active", server_default="active")
    registered_at: Mapped[datetime] = created_at_column()
    last_heartbeat: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_workload: Mapped[int] = mapped_column(default=0, server_default="0")
    static_config: Mapped[dict[str, Any] | None]
    dynamic_state: Mapped[dict[str, Any] | None]

    __table_args__ = (
        sa.CheckConstraint(check_in("status", ENGINE_STATUSES), name="status"),
        sa.CheckConstraint("current_workload >= 0", name="workload_nonnegative"),
        # mark_stale: active engines whose last heartbeat is older than a cutoff.
        sa.Index("ix_engines_status_last_heartbeat", "status", "last_heartbeat"),
    )


class Event(Base):
    """An event in the queue: who sent it to whom, its payload, and where it is in processing.

    Life cycle: queued -> processing (claimed by an engine, locked until `lock_until`) ->
    completed, or back to queued with `next_retry_at` after a failure, or failed for good.
    `processing_history` holds one entry per finished attempt (engine, claimed_at, finished_at,
    outcome, result or error) and one per manual retry.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("event_types.id", ondelete="RESTRICT"), index=True
    )
    scenario_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scenario_runs.id", ondelete="CASCADE"), index=True
    )
    game_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("games.id", ondelete="CASCADE"), index=True
    )
    source_agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    target_agent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str | None] = mapped_column(sa.String(200))
    target: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any] | None]
    priority: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(sa.String(20), default="queued", server_default="queued")
    locked_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("engines.id", ondelete="SET NULL"), index=True
    )
    lock_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None]
    processing_history: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event_type: Mapped[EventType] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(check_in("status", EVENT_STATUSES), name="status"),
        sa.CheckConstraint("retry_count >= 0", name="retry_count_nonnegative"),
        sa.CheckConstraint(
            "scenario_run_id IS NULL OR game_id IS NULL", name="run_or_game_not_both"
        ),
        # A processing event is always locked by someone until some time.
        sa.CheckConstraint(
            "status <> 'processing' OR (lock_until IS NOT NULL AND claimed_at IS NOT NULL)",
            name="processing_is_locked",
        ),
        # `events list --status`, stats, reclaim (status = 'processing'), retry --failed.
        sa.Index("ix_events_status_id", "status", "id"),
        # PostgreSQL storage parameters (autovacuum after 1% of rows changed) are set by
        # migration 0002 with ALTER TABLE: SQLAlchemy 2.0 has no Table option for them.
        never_reused_ids(),
    )


# The claim query: live events, highest priority first, then oldest. Partial, so it only holds the
# few live rows however many completed events pile up behind them. Declared on the columns (not as
# text) so that autogenerate can compare it on both backends.
sa.Index(
    "ix_events_claim",
    Event.priority.desc(),
    Event.id,
    sqlite_where=sa.text(LIVE_EVENTS_WHERE),
    postgresql_where=sa.text(LIVE_EVENTS_WHERE),
)


class ExecutionLog(Base):
    """A log line from scenario execution, tied to what it is about (run, game, engine, event)."""

    __tablename__ = "execution_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scenario_runs.id", ondelete="CASCADE"), index=True
    )
    game_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("games.id", ondelete="CASCADE"), index=True
    )
    # SET NULL: a log line stays useful after its engine or event has been purged.
    engine_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("engines.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    level: Mapped[str] = mapped_column(sa.String(10), default="info", server_default="info")
    message: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at_column()

    __table_args__ = (sa.CheckConstraint(check_in("level", LOG_LEVELS), name="level"),)
