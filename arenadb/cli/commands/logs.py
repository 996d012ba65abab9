"""`arenadb logs system` and `arenadb logs execution`: read the logs, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from arenadb.cli.commands.game_filter import SinceOption, UntilOption
from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption, LimitOption, OffsetOption
from arenadb.cli.render.output import output_format, render_rows

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


def _when(text: str | None) -> datetime | None:
    from arenadb.inspection.filters import parse_when

    return parse_when(text) if text else None


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
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """System logs, newest first (JSON and CSV carry the context and every link too)."""
    from arenadb.db import engine_scope
    from arenadb.inspection.logs import SystemLogRow, read_system_logs

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        rows = read_system_logs(
            engine,
            min_level=level,
            component=component,
            game=game,
            agent=agent,
            limit=limit,
            offset=offset,
            since=_when(since),
            until=_when(until),
        )
    render_rows(rows, SYSTEM_COLUMNS, fmt, title="system logs", csv_fields=SystemLogRow)


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
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Execution logs of scenario runs, newest first (JSON and CSV carry the data too)."""
    from arenadb.db import engine_scope
    from arenadb.inspection.logs import ExecutionLogRow, read_execution_logs

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        rows = read_execution_logs(
            engine,
            min_level=level,
            game=game,
            engine_id=engine_id,
            limit=limit,
            offset=offset,
            since=_when(since),
            until=_when(until),
        )
    render_rows(rows, EXECUTION_COLUMNS, fmt, title="execution logs", csv_fields=ExecutionLogRow)
