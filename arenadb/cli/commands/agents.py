"""`arenadb agents top` (the leaderboard) and `arenadb agent info ID`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

from arenadb.cli.common import app_context
from arenadb.cli.render.output import CsvOption, JsonOption, output_format

app = typer.Typer(help="Agents: list them, rank them.", no_args_is_help=True)
agent_app = typer.Typer(help="One agent: configuration, ratings, games.", no_args_is_help=True)

SystemOption = Annotated[
    str, typer.Option("--system", "-s", help="Rating system: trueskill or openskill.")
]

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """Unicode block sparkline of `values`, resampled to at most `width` points."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - low) / span * top)] for v in values)


def _preview(text: str, width: int = 70) -> str:
    """The start of a long text on one line."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@app.command("top")
def top(
    ctx: typer.Context,
    system: SystemOption = "trueskill",
    game_type: Annotated[
        str | None,
        typer.Option(
            "--game-type",
            "-g",
            help="Rank within one game type (id, env id or name).",
            show_default=False,
        ),
    ] = None,
    min_games: Annotated[
        int, typer.Option("--min-games", min=0, help="Only agents with at least N rated games.")
    ] = 1,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many agents.")] = 20,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Agents ranked by conservative score mu - 3 sigma, with games played and win rate."""
    from arenadb.cli.render.output import render_rows
    from arenadb.db import engine_scope
    from arenadb.ratings.leaderboard import top_agents

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        rows = top_agents(
            engine, system=system, game_type=game_type, min_games=min_games, limit=limit
        )
    title = f"top agents, {system}, {game_type or 'all game types'}"
    render_rows(
        rows,
        ["rank", "agent_id", "alias", "model", "score", "mu", "sigma", "games", "wins", "win_rate"],
        output_format(ctx, json_output, csv_output),
        title=title,
        headers={"agent_id": "agent", "score": "mu - 3σ"},
    )


@agent_app.command("info")
def info(
    ctx: typer.Context,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="Agent id or alias.")],
    system: SystemOption = "trueskill",
    recent: Annotated[int, typer.Option("--recent", min=0, help="How many recent games.")] = 10,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Configuration, ratings per system and game type, rating trajectory, recent games."""
    from arenadb.cli.render.output import print_json, render_object, render_rows
    from arenadb.db import engine_scope
    from arenadb.ratings.leaderboard import agent_profile

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        profile = agent_profile(engine, agent, system=system, recent=recent)
    fmt = output_format(ctx, json_output, csv_output)
    if fmt == "json":
        print_json(profile)
        return
    rating_columns = ["system", "game_type", "score", "mu", "sigma", "games", "wins", "win_rate"]
    if fmt == "csv":  # CSV is one table: the agent's ratings
        render_rows(profile.ratings, rating_columns, fmt)
        return
    render_object(
        {
            "agent": profile.agent_id,
            "alias": profile.alias,
            "kind": profile.kind,
            "model": profile.model,
            "provider": profile.model_provider,
            "prompt": f"{profile.prompt} v{profile.prompt_version} ({profile.prompt_sha256[:12]})",
            "prompt text": _preview(profile.prompt_content),
            "class": profile.agent_class,
            "config": profile.config,
            "active": profile.active,
        },
        fmt,
        title=f"agent {profile.agent_id}",
    )
    render_rows(profile.ratings, rating_columns, fmt, title="ratings")
    if profile.trajectory:
        typer.echo(
            f"{profile.trajectory_system} score (mu - 3σ) over {len(profile.trajectory)} games: "
            f"{profile.trajectory[0]:.2f} {sparkline(profile.trajectory)} "
            f"{profile.trajectory[-1]:.2f}"
        )
    render_rows(
        profile.recent_games,
        ["game_id", "game_type", "status", "outcome", "side", "rank", "reward", "delta_mu"],
        fmt,
        title="recent games",
        headers={"delta_mu": f"Δμ ({profile.trajectory_system})"},
    )
