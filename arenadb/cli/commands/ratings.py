"""`arenadb ratings ...`: rebuild ratings from the recorded history."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.common import YesOption, app_context, confirm_destructive
from arenadb.cli.render.output import JsonOption, output_format, print_json

app = typer.Typer(help="Rebuild agent ratings from game history.", no_args_is_help=True)

SystemsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--system",
        "-s",
        help="Rating system to rebuild: trueskill or openskill (repeatable; default both).",
        show_default=False,
    ),
]
GameTypeOption = Annotated[
    str | None,
    typer.Option(
        "--game-type",
        "-g",
        help="Only this game type's ratings (id, env id or name); overall ratings are kept.",
        show_default=False,
    ),
]


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    system: SystemsOption = None,
    game_type: GameTypeOption = None,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Replay every rated game in rated order and recompute ratings and rating events."""
    from arenadb.cli.render.progress import progress_bar
    from arenadb.db import engine_scope
    from arenadb.ratings.book import rebuild_ratings
    from arenadb.ratings.systems import SYSTEMS, check_systems

    settings = app_context(ctx).settings()
    systems = check_systems(system or SYSTEMS)
    scope = f"game type {game_type}" if game_type else "all game types"
    confirm_destructive(
        f"replace the {' and '.join(systems)} ratings ({scope}) of {settings.masked_url}",
        yes=yes,
    )
    with engine_scope(settings, pooled=False) as engine, progress_bar() as bar:

        def advance(done: int, total: int) -> None:
            if bar is not None:
                bar("rating games", done, total)

        result = rebuild_ratings(engine, systems=systems, game_type=game_type, progress=advance)
    if output_format(ctx, json_output) == "json":
        print_json(result)
        return
    typer.echo(
        f"rebuilt {', '.join(result.systems)} ({scope}): {result.games} games, "
        f"{result.ratings} ratings, {result.events} rating events in {result.seconds:.2f}s",
        err=True,
    )
