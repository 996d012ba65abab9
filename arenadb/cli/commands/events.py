"""`arenadb events ...` and `arenadb engines ...`: inspect the event queue and its engines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import (
    CsvOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    id_argument,
    id_option,
    seconds_option,
)
from arenadb.cli.render.output import (
    Styled,
    info,
    output_format,
    print_json,
    render_object,
    render_rows,
    to_plain,
)
from arenadb.limits import DEFAULT_LIMIT

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="Inspect the event queue, retry failed events.", no_args_is_help=True)
engines_app = typer.Typer(help="Inspect the engines that process events.", no_args_is_help=True)

StaleAfterOption = Annotated[
    float,
    seconds_option(
        "--stale-after", help="Time without a heartbeat after which an engine is stale."
    ),
]


@contextmanager
def _engine(ctx: typer.Context) -> Iterator[Engine]:
    """An engine on the configured database, which must exist (never create it by reading)."""
    from arenadb.db import database_exists, engine_scope
    from arenadb.errors import DatabaseMissingError

    settings = app_context(ctx).settings()
    if not database_exists(settings):
        raise DatabaseMissingError(
            f"database {settings.masked_url} does not exist (create it with `arenadb init`)"
        )
    with engine_scope(settings, pooled=False) as engine:
        yield engine


EVENT_COLUMNS = [
    "id",
    "event_type",
    "status",
    "priority",
    "retry_count",
    "locked_by",
    "lock_until",
    "next_retry_at",
    "created_at",
    "last_error",
]
EVENT_HEADERS = {"retry_count": "retries", "event_type": "type"}


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option("--status", "-s", help="queued, processing, completed or failed."),
    ] = None,
    event_type: Annotated[str | None, typer.Option("--type", "-t", help="Event type name.")] = None,
    engine_id: Annotated[
        str | None, typer.Option("--engine", help="Events locked by this engine id.")
    ] = None,
    run: Annotated[int | None, id_option("--run", help="Scenario run id.")] = None,
    game: Annotated[
        str | None, typer.Option("--game", help="Game id, UUID or unique UUID prefix.")
    ] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Events, newest first (JSON and CSV carry payload, result and history too)."""
    from arenadb.events import EventInfo, list_events

    fmt = output_format(ctx, json_output, csv_output)
    with _engine(ctx) as engine:
        rows = list_events(
            engine,
            status=status,
            event_type=event_type,
            engine_id=engine_id,
            scenario_run_id=run,
            game_id=game,
            limit=limit,
            offset=offset,
        )
    plain = [asdict(r) for r in rows]
    if fmt == "table":
        for row in plain:
            # The first block of the engine id is enough to tell engines apart on screen.
            row["locked_by"] = str(row["locked_by"])[:8] if row["locked_by"] else None
    render_rows(
        plain, EVENT_COLUMNS, fmt, title="events", headers=EVENT_HEADERS, csv_fields=EventInfo
    )


@app.command("show")
def show(
    ctx: typer.Context,
    event_id: Annotated[int, id_argument(help="Event id.")],
    json_output: JsonOption = False,
) -> None:
    """One event with its payload, result and processing history."""
    from arenadb.events import get_event

    fmt = output_format(ctx, json_output)
    with _engine(ctx) as engine:
        event = get_event(engine, event_id)
    render_object(to_plain(event), fmt, title=f"event {event_id}")


@app.command("stats")
def stats(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Counts by status and type; how many are ready, waiting to retry, or under expired locks."""
    from arenadb.events import event_stats

    fmt = output_format(ctx, json_output)
    with _engine(ctx) as engine:
        result = event_stats(engine)
    if fmt == "json":
        print_json(result)
        return
    summary: dict[str, Any] = {"total": result.total, **result.by_status}
    summary.update(
        ready=result.ready,
        waiting_retry=result.waiting_retry,
        expired_locks=result.expired_locks,
        oldest_ready_at=result.oldest_ready_at,
    )
    render_object(summary, fmt, title="event queue")
    if fmt == "table" and result.by_type:
        render_rows(
            [asdict(t) for t in result.by_type],
            ["event_type", "queued", "processing", "completed", "failed"],
            fmt,
            title="by event type",
        )


@app.command("retry")
def retry(
    ctx: typer.Context,
    event_ids: Annotated[
        list[int] | None, id_argument(help="Failed events to queue again.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Retry every failed event.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Queue failed events again with a fresh retry budget (their history is kept)."""
    from arenadb.errors import UsageError
    from arenadb.events import retry_events

    if bool(event_ids) == failed:
        raise UsageError("give event ids or --failed (one of the two)")
    fmt = output_format(ctx, json_output)
    with _engine(ctx) as engine:
        outcomes = retry_events(engine, event_ids or (), all_failed=failed)
    if fmt == "json":
        print_json({"requeued": [o.id for o in outcomes]})
        return
    ids = ", ".join(str(o.id) for o in outcomes)
    info(f"queued again: {len(outcomes)} event(s){': ' + ids if ids else ''}")


@app.command("reclaim")
def reclaim(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Release events whose lock expired (their engine died): queued again, or failed."""
    from arenadb.events import reclaim_expired

    fmt = output_format(ctx, json_output)
    with _engine(ctx) as engine:
        outcomes = reclaim_expired(engine)
    if fmt == "json":
        print_json(outcomes)
        return
    info(f"released {len(outcomes)} event(s) with an expired lock")


ENGINE_COLUMNS = [
    "id",
    "engine_type",
    "name",
    "status",
    "last_heartbeat",
    "heartbeat_age_s",
    "processing",
    "current_workload",
]


@engines_app.command("list")
def engines_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="active, stale or stopped.")
    ] = None,
    engine_type: Annotated[str | None, typer.Option("--type", "-t", help="Engine type.")] = None,
    stale_after: StaleAfterOption = 90.0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Engines, latest heartbeat first; stale ones (marked, or silent too long) stand out."""
    from arenadb.events import EngineInfo, list_engines

    fmt = output_format(ctx, json_output, csv_output)
    with _engine(ctx) as engine:
        rows = [
            asdict(r)
            for r in list_engines(
                engine, status=status, engine_type=engine_type, stale_after=stale_after
            )
        ]
    if fmt == "table":
        for row in rows:
            if row["stale"]:
                # Marked stale, or an active engine that stopped heartbeating and is not marked
                # yet: either way its events will be taken over when their locks expire.
                label = "stale" if row["status"] == "stale" else "active (stale)"
                row["status"] = Styled(label, "bold red")
    render_rows(rows, ENGINE_COLUMNS, fmt, title="engines", csv_fields=EngineInfo)


@engines_app.command("mark-stale")
def engines_mark_stale(
    ctx: typer.Context,
    older_than: Annotated[
        float, seconds_option("--older-than", help="Time without a heartbeat.")
    ] = 90.0,
    json_output: JsonOption = False,
) -> None:
    """Mark active engines without a recent heartbeat as stale."""
    from arenadb.events import mark_stale_engines

    fmt = output_format(ctx, json_output)
    with _engine(ctx) as engine:
        marked = mark_stale_engines(engine, older_than=older_than)
    if fmt == "json":
        print_json({"marked_stale": marked})
        return
    info(f"marked {len(marked)} engine(s) stale")
