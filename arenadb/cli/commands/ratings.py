"""`arenadb ratings ...`: rebuild the online ratings; store the bt boards; compare two agents;
the pairwise matrix."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.common import app_context, confirm_destructive
from arenadb.cli.options import (
    BOOTSTRAP_ROUNDS_MAX,
    CsvOption,
    JsonOption,
    YesOption,
    count_option,
    game_type_option,
    seed_option,
)
from arenadb.cli.render.output import output_format, print_json

app = typer.Typer(
    help="Ratings: rebuild them, store the bt boards, compare two agents, the pairwise matrix.",
    no_args_is_help=True,
)

SystemsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--system",
        "-s",
        help="Rating system to rebuild: trueskill or openskill (repeatable; default both).",
        show_default=False,
    ),
]
# The bootstrap of the Bradley-Terry board (`boards` and `compare`; `agents top --method bt`
# takes the same), 1000 rounds and seed 17 by default, as arenadb.ratings.bradley_terry's.
RoundsOption = Annotated[
    int, count_option("--rounds", least=1, most=BOOTSTRAP_ROUNDS_MAX, help="Bootstrap rounds.")
]
SeedOption = Annotated[int, seed_option("--seed", help="Bootstrap seed (reproducible).")]
GameTypeOption = Annotated[
    str | None,
    game_type_option("Only this game type's ratings (overall ratings are kept)"),
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
        result = rebuild_ratings(engine, systems=systems, game_type=game_type, progress=bar)
    if output_format(ctx, json_output) == "json":
        print_json(result)
        return
    typer.echo(
        f"rebuilt {', '.join(result.systems)} ({scope}): {result.games} games, "
        f"{result.ratings} ratings, {result.events} rating events in {result.seconds:.2f}s",
        err=True,
    )


@app.command("boards")
def boards(
    ctx: typer.Context,
    game_type: Annotated[
        str | None,
        game_type_option("Only this game type's board (default: every type's, and the unified)"),
    ] = None,
    rounds: RoundsOption = 1000,
    seed: SeedOption = 17,
    json_output: JsonOption = False,
) -> None:
    """Compute the Bradley-Terry boards and store them: `agents top --method bt` with the same
    rounds and seed reads them back until a game changes."""
    from arenadb.db import engine_scope
    from arenadb.ratings.store import store_boards

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        report = store_boards(engine, game_type=game_type, rounds=rounds, seed=seed)
    if output_format(ctx, json_output) == "json":
        print_json(report)
        return
    for board in report.boards:
        typer.echo(
            f"stored {board.game_type}: {board.games} games, {board.agents} agents, "
            f"{board.rounds} rounds, seed {board.seed}, in {board.seconds:.2f}s"
        )
    if report.unified_skipped:
        typer.echo(f"unified board not stored: {report.unified_skipped}")
    typer.echo(f"{len(report.boards)} boards stored in {report.seconds:.2f}s", err=True)


@app.command("compare")
def compare(
    ctx: typer.Context,
    agent_a: Annotated[str, typer.Argument(metavar="A", help="Agent id or alias (A).")],
    agent_b: Annotated[str, typer.Argument(metavar="B", help="Agent id or alias (B).")],
    game_type: Annotated[
        str | None,
        game_type_option("Game type (default: the one both agents played)"),
    ] = None,
    rounds: RoundsOption = 1000,
    seed: SeedOption = 17,
    json_output: JsonOption = False,
) -> None:
    """Head-to-head record of A and B, the fitted P(A beats B) with its 95% interval, and
    whether the difference is significant (Bradley-Terry)."""
    from arenadb.cli.render.output import render_object
    from arenadb.db import engine_scope
    from arenadb.ratings.head_to_head import compare_agents

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        result = compare_agents(
            engine, agent_a, agent_b, game_type=game_type, rounds=rounds, seed=seed
        )
    if output_format(ctx, json_output) == "json":
        print_json(result)
        return
    render_object(
        {
            "game type": result.game_type,
            "head to head": f"{result.games} games: A {result.a_wins} wins, "
            f"{result.draws} draws, B {result.b_wins} wins",
            "ratings": f"A {result.rating_a:.0f}, B {result.rating_b:.0f}",
            "P(A beats B)": f"{result.probability:.2f} (95% CI "
            + (
                "unknown: too few games"
                if result.ci_low is None or result.ci_high is None
                else f"{result.ci_low:.2f} to {result.ci_high:.2f}"
            )
            + ")",
            "significant": result.significant,
            "bootstrap": f"{result.rounds} rounds, seed {result.seed}",
        },
        "table",
        title=f"agent {result.agent_a_id} (A) vs agent {result.agent_b_id} (B)",
    )


@app.command("matrix")
def matrix(
    ctx: typer.Context,
    game_type: Annotated[
        str | None,
        game_type_option("One game type (default: every game type)"),
    ] = None,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Pairwise records: for every ordered pair of opponents, games, wins, draws, losses and
    A's win rate (draws count half), per game type."""
    from arenadb.cli.render.output import render_rows
    from arenadb.db import engine_scope
    from arenadb.ratings.head_to_head import pairwise_matrix

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        cells = pairwise_matrix(engine, game_type=game_type)
    render_rows(
        cells,
        ["game_type", "agent_a_id", "agent_b_id", "games", "wins", "draws", "losses", "win_rate"],
        output_format(ctx, json_output, csv_output),
        title="pairwise records (row agent A against agent B)",
    )
