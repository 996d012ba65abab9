"""Scenario templates and runs, and execution logs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from arenadb.errors import ConflictError, InvalidArgumentError, NotFoundError
from arenadb.events.base import Bind, as_uuid, writing_connection
from arenadb.models.base import utcnow
from arenadb.models.events import (
    LOG_LEVELS,
    SCENARIO_RUN_STATUSES,
    ExecutionLog,
    ScenarioRun,
    ScenarioTemplate,
)

# --------------------------------------------------------------------------------------------
# scenarios and execution logs


def create_scenario_template(
    session: Session,
    name: str,
    *,
    description: str | None = None,
    config: dict[str, Any] | None = None,
    agent_roles: list[Any] | None = None,
    event_flow: list[Any] | None = None,
) -> ScenarioTemplate:
    """A new scenario template; ConflictError if the name is taken."""
    if session.scalar(sa.select(ScenarioTemplate.id).where(ScenarioTemplate.name == name)):
        raise ConflictError(f"scenario template {name!r} already exists")
    template = ScenarioTemplate(
        name=name,
        description=description,
        config=config,
        agent_roles=agent_roles,
        event_flow=event_flow,
    )
    session.add(template)
    session.flush()
    return template


def start_scenario_run(
    session: Session,
    template: str | int | None = None,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ScenarioRun:
    """A running scenario, from a template (by name or id) or ad hoc (template None)."""
    template_id = None
    if template is not None:
        column = ScenarioTemplate.id if isinstance(template, int) else ScenarioTemplate.name
        template_id = session.scalar(sa.select(ScenarioTemplate.id).where(column == template))
        if template_id is None:
            raise NotFoundError(f"scenario template {template!r} not found")
    run = ScenarioRun(
        template_id=template_id,
        name=name,
        config=config,
        status="running",
        started_at=now or utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def finish_scenario_run(
    session: Session,
    run_id: int,
    *,
    status: str = "completed",
    results: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> ScenarioRun:
    """Mark a scenario run completed, failed or aborted, with its results."""
    if status not in SCENARIO_RUN_STATUSES[2:]:
        raise InvalidArgumentError(
            f"a run finishes as one of {', '.join(SCENARIO_RUN_STATUSES[2:])}"
        )
    run = session.get(ScenarioRun, run_id, with_for_update=True)
    if run is None:
        raise NotFoundError(f"scenario run {run_id} not found")
    if run.status in SCENARIO_RUN_STATUSES[2:]:
        raise ConflictError(f"scenario run {run_id} is already {run.status}")
    run.status, run.results, run.completed_at = status, results, now or utcnow()
    session.flush()
    return run


def log_execution(
    bind: Bind,
    message: str,
    *,
    level: str = "info",
    scenario_run_id: int | None = None,
    game_id: int | None = None,
    engine_id: uuid.UUID | str | None = None,
    event_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append an execution log line; returns its id."""
    if level not in LOG_LEVELS:
        raise InvalidArgumentError(
            f"log level must be one of {', '.join(LOG_LEVELS)}, not {level!r}"
        )
    table: sa.Table = ExecutionLog.__table__  # type: ignore[assignment]
    with writing_connection(bind) as conn:
        return conn.execute(
            table.insert()
            .values(
                message=message,
                level=level,
                scenario_run_id=scenario_run_id,
                game_id=game_id,
                engine_id=as_uuid(engine_id) if engine_id is not None else None,
                event_id=event_id,
                data=data,
                created_at=utcnow(),
            )
            .returning(table.c.id)
        ).scalar_one()
