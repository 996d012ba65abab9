"""`arenadb logs system` and `arenadb logs execution`: read the logs, newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer

from arenadb.cli.commands.game_filter import SinceOption, UntilOption
from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption, LimitOption, OffsetOption
from arenadb.cli.render.output import output_format, render_rows
from arenadb.limits import DEFAULT_LIMIT

app = typer.Typer(
    help="Read the system logs and the execution logs, newest first.", no_args_is_help=True
)

LevelOption = Annotated[
    str | None,
    typer.Option(
        "--level",
        help="At least this level: debug, info, warning, error or critical.",
        show_default=False,
    ),
]
GameOption = Annotated[
    str | None,
    typer.Option(help="Logs about this game (id, UUID or unique UUID prefix).", show_default=False),
]

SYSTEM_COLUMNS = ["id", "created_at", "level", "component", "message", "game_id", "agent_id"]
EXECUTION_COLUMNS = ["id", "created_at", "level", "message", "game_id", "engine_id", "event_id"]


def _print_logs(
    ctx: typer.Context,
    read: Callable[..., Sequence[Any]],
    row_type: type,
    columns: list[str],
    title: str,
    *,
    since: str | None,
    until: str | None,
    json_output: bool,
    csv_output: bool,
    **filters: Any,
) -> None:
    """Read one page with `read` (an `arenadb.inspection.logs` reader) and print it."""
    from arenadb.db import engine_scope
    from arenadb.inspection.filters import parse_when

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        rows = read(
            engine,
            since=parse_when(since) if since else None,
            until=parse_when(until) if until else None,
            **filters,
        )
    render_rows(rows, columns, fmt, title=title, csv_fields=row_type)


@app.command("system")
def system(
    ctx: typer.Context,
    level: LevelOption = None,
    component: Annotated[
        str | None,
        typer.Option(
            help="Written by this component (runner, matchmaker, ...).", show_default=False
        ),
    ] = None,
    game: GameOption = None,
    agent: Annotated[
        str | None, typer.Option(help="Logs about this agent (id or alias).", show_default=False)
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """System logs, newest first (JSON and CSV carry the context and every link too)."""
    from arenadb.inspection.logs import SystemLogRow, read_system_logs

    _print_logs(
        ctx,
        read_system_logs,
        SystemLogRow,
        SYSTEM_COLUMNS,
        "system logs",
        since=since,
        until=until,
        json_output=json_output,
        csv_output=csv_output,
        min_level=level,
        component=component,
        game=game,
        agent=agent,
        limit=limit,
        offset=offset,
    )


@app.command("execution")
def execution(
    ctx: typer.Context,
    level: LevelOption = None,
    game: GameOption = None,
    engine_id: Annotated[
        str | None,
        typer.Option("--engine", help="Logs of this engine (its UUID).", show_default=False),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Execution logs of scenario runs, newest first (JSON and CSV carry the data too)."""
    from arenadb.inspection.logs import ExecutionLogRow, read_execution_logs

    _print_logs(
        ctx,
        read_execution_logs,
        ExecutionLogRow,
        EXECUTION_COLUMNS,
        "execution logs",
        since=since,
        until=until,
        json_output=json_output,
        csv_output=csv_output,
        min_level=level,
        game=game,
        engine_id=engine_id,
        limit=limit,
        offset=offset,
    )
