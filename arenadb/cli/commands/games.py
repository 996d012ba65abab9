"""`arenadb games list` and `arenadb game info|replay`: the record of played games."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.commands.game_filter import (
    AgentOption,
    ModelOption,
    SinceOption,
    StatusOption,
    TypeOption,
    UntilOption,
    game_filter,
)
from arenadb.cli.common import app_context
from arenadb.cli.options import COUNT_MAX, CsvOption, JsonOption, LimitOption, OffsetOption
from arenadb.cli.render.output import (
    output_format,
    render_object,
    render_rows,
    to_plain,
)
from arenadb.limits import DEFAULT_LIMIT

games_app = typer.Typer(help="List games, newest first.", no_args_is_help=True)
game_app = typer.Typer(help="Look at one game: its record, or a replay.", no_args_is_help=True)

GameRef = Annotated[
    str,
    typer.Argument(help="Integer id, UUID, or a unique prefix of the UUID.", show_default=False),
]
GAME_COLUMNS = [
    "id",
    "type",
    "status",
    "started",
    "duration",
    "seats",
    "turns",
    "result",
    "winner",
    "crashed",
]


@games_app.command("list")
def list_games(
    ctx: typer.Context,
    status: StatusOption = None,
    game_type: TypeOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Games newest first: type, status, start, duration, seats, turns, result, winner, crash.

    The winner is the winning side of a team game, else the agent ranked first."""
    from arenadb.cli.render.games import game_summary_rows
    from arenadb.db import engine_scope
    from arenadb.inspection.games import GameSummary
    from arenadb.inspection.games import list_games as list_games_op

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        filters = game_filter(
            status=status, game_type=game_type, agent=agent, model=model, since=since, until=until
        )
        games = list_games_op(engine, filters, limit=limit, offset=offset)
    if fmt == "table":
        render_rows(
            game_summary_rows(games),
            GAME_COLUMNS,
            fmt,
            title="games",
            headers={"started": "started (UTC)"},
        )
    else:
        render_rows(to_plain(games), ["id", "uuid", "type", "status"], fmt, csv_fields=GameSummary)


@game_app.command("info")
def info(
    ctx: typer.Context,
    ref: GameRef,
    turns: Annotated[bool, typer.Option("--turns", help="Also list the turns.")] = False,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Metadata, seats, turn count, tokens and cost, LLM latency, snapshots and crash data."""
    from arenadb.cli.render.games import game_detail_object, print_game_detail
    from arenadb.db import engine_scope
    from arenadb.inspection.games import game_info

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        detail = game_info(engine, ref, with_turns=turns)
    if fmt == "table":
        print_game_detail(detail)
    else:
        render_object(game_detail_object(detail), fmt)


@game_app.command("replay")
def replay(
    ctx: typer.Context,
    ref: GameRef,
    observations: Annotated[
        bool, typer.Option("--observations", help="Also show what each player was shown.")
    ] = False,
    pager: Annotated[
        bool, typer.Option("--pager/--no-pager", help="Page a long replay (on a terminal only).")
    ] = True,
    as_seat: Annotated[
        int | None,
        typer.Option(
            "--as-seat",
            min=0,
            max=COUNT_MAX,
            help="Only what this seat saw: public turns, its own, and private ones sent to it.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """The game turn by turn: phases, who acted, what they said or did; invalid moves marked."""
    from arenadb.cli.render.games import REPLAY_CSV, print_replay, replay_turn_rows
    from arenadb.db import engine_scope
    from arenadb.inspection.replay import game_replay

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        # Loaded always: an environment's turns are what it said.
        game = game_replay(engine, ref, observations=True, as_seat=as_seat)
    if fmt == "json":
        render_object(to_plain(game), fmt)
    elif fmt == "csv":
        render_rows(replay_turn_rows(game), REPLAY_CSV[:4], fmt, csv_fields=REPLAY_CSV)
    else:
        print_replay(game, observations=observations, pager=pager)
