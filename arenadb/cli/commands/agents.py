"""`arenadb agents top` (the leaderboard) and `arenadb agent info ID`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import (
    BOOTSTRAP_ROUNDS_MAX,
    COUNT_MAX,
    CsvOption,
    JsonOption,
    LimitOption,
    count_option,
    game_type_option,
    seed_option,
)
from arenadb.cli.render.output import field_names, output_format

app = typer.Typer(help="Agents: list them, rank them.", no_args_is_help=True)
agent_app = typer.Typer(help="One agent: configuration, ratings, games.", no_args_is_help=True)

SystemOption = Annotated[
    str, typer.Option("--system", "-s", help="Rating system: trueskill or openskill.")
]


MethodOption = Annotated[
    str,
    typer.Option(
        "--method",
        "--system",
        "-s",
        help="bt: the Bradley-Terry board (batch fit, 95% bootstrap intervals, tier ranks); "
        "trueskill or openskill: the online ratings that finishing a game updates.",
    ),
]
METHODS = ("bt", "trueskill", "openskill")


@app.command("top")
def top(
    ctx: typer.Context,
    method: MethodOption = "bt",
    game_type: Annotated[
        str | None,
        game_type_option("One game type (default: one board per game type)"),
    ] = None,
    min_games: Annotated[
        int, count_option("--min-games", help="Only agents with at least N rated games.")
    ] = 1,
    limit: LimitOption = 20,
    rounds: Annotated[
        int,
        count_option(
            "--rounds",
            least=1,
            most=BOOTSTRAP_ROUNDS_MAX,
            help="Bootstrap rounds of the bt intervals.",
        ),
    ] = 1000,
    seed: Annotated[int, seed_option("--seed", help="Bootstrap seed (reproducible).")] = 17,
    provisional_games: Annotated[
        int | None,
        typer.Option(
            "--provisional-games",
            min=0,
            max=COUNT_MAX,
            help="Mark agents with fewer games provisional (default: the game type's "
            "provisional_games setting, else 20).",
            show_default=False,
        ),
    ] = None,
    interval_games: Annotated[
        int | None,
        typer.Option(
            "--interval-games",
            min=1,
            max=COUNT_MAX,
            help="Below N games an agent's interval is unknown and it has no tier (default: "
            "the game type's interval_games setting, else 5).",
            show_default=False,
        ),
    ] = None,
    unified: Annotated[
        bool,
        typer.Option(
            "--unified",
            help="One cross-game bt board, Kaggle Game Arena style: every game type weighted "
            "equally (its games weighted 1 / its game count).",
        ),
    ] = False,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """The leaderboard: Bradley-Terry per game type by default (rating, 95% interval, tier
    rank, games, win rate, cost), or the online conservative score mu - 3 sigma."""
    from arenadb.db import engine_scope
    from arenadb.errors import UsageError

    if method not in METHODS:
        raise UsageError(f"unknown rating system {method!r}: use one of {', '.join(METHODS)}")
    if unified and (method != "bt" or game_type is not None):
        raise UsageError(
            "--unified is a bt board over every game type: no --method, no --game-type"
        )
    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        if method != "bt":
            _online_top(engine, method, game_type, min_games, limit, fmt)
            return
        from arenadb.ratings.board import bradley_terry_boards
        from arenadb.ratings.unified import unified_board

        options: dict[str, Any] = dict(
            rounds=rounds,
            seed=seed,
            provisional_games=provisional_games,
            interval_games=interval_games,
            min_games=min_games,
            limit=limit,
        )
        if unified:
            boards = [unified_board(engine, **options)]
        else:
            boards = bradley_terry_boards(engine, game_type=game_type, **options)
    _render_boards(boards, fmt, one=game_type is not None or unified)


def _online_top(
    engine: Any, system: str, game_type: str | None, min_games: int, limit: int, fmt: str
) -> None:
    from arenadb.cli.render.output import render_rows, warn
    from arenadb.ratings.leaderboard import OnlineRating, online_board

    board = online_board(
        engine, system=system, game_type=game_type, min_games=min_games, limit=limit
    )
    if board.deleted_game_results:
        scope = f" --game-type {game_type}" if game_type is not None else ""
        warn(
            f"these {system} ratings still count {board.deleted_game_results} seat "
            f"results of deleted games: run `arenadb ratings rebuild{scope}`"
        )
    render_rows(
        board.rows,
        ["rank", "agent_id", "alias", "model", "score", "mu", "sigma", "games", "wins", "win_rate"],
        fmt,
        title=f"top agents, {system}, {board.game_type or 'all game types'}",
        headers={"agent_id": "agent", "score": "mu - 3σ"},
        csv_fields=OnlineRating,
    )


def _money(value: float | None, complete: bool) -> str:
    from arenadb.cli.render.tables import money

    return money(value, complete)


def _render_boards(boards: Sequence[Any], fmt: str, *, one: bool) -> None:
    from arenadb.cli.render.output import print_json, render_rows, to_plain
    from arenadb.cli.render.tables import percent

    if fmt == "json":
        print_json(boards[0] if one and boards else boards)
        return
    if fmt == "csv":
        rows = [
            {"game_type": b.game_type, "board": b.label or "per game type", **to_plain(r)}
            for b in boards
            for r in b.rows
        ]
        from arenadb.ratings.board import BoardRow

        columns = ["game_type", "board", "rank", "agent_id", "alias", "rating"]
        render_rows(rows, columns, fmt, csv_fields=["game_type", "board", *field_names(BoardRow)])
        return
    for board in boards:
        cells = [
            {
                "rank": "?" if r.rank is None else r.rank,
                "agent": r.agent_id,
                "alias": r.alias,
                "model": r.model,
                "rating": f"{r.rating:.0f}",
                "95% CI": _interval(r.ci_low, r.ci_high, "{:.0f}"),
                "games": r.games,
                "win rate": percent(r.win_rate),
                "": "provisional" if r.provisional else "",
                "cost/game": _money(r.cost_per_game, r.cost_complete),
                "cost/win": _money(r.cost_per_win, r.cost_complete)
                if r.cost is None or r.wins
                else "no wins",
            }
            for r in board.rows
        ]
        title = f"{board.game_type}: Bradley-Terry, {board.games} games"
        if board.unified:
            title = f"{board.label}, {board.games} games"
        render_rows(
            cells, list(cells[0]) if cells else ["rank", "agent", "rating"], fmt, title=title
        )
        for weight in board.game_types:
            typer.echo(
                f"{weight.game_type}: {weight.games} games, weight {weight.weight:.3g} a game"
            )
        for term in board.sides.terms:
            typer.echo(
                f"side term: {term.side} {term.rating:+.0f} Elo "
                f"(95% CI {_interval(term.ci_low, term.ci_high, '{:+.0f}')}) over "
                f"{term.reference}, P(win | equal agents) {term.win_probability:.2f}"
            )
        typer.echo(
            f"tier rank: 1 + agents whose interval lies above; {board.rounds} bootstrap rounds "
            f"({board.bootstrap}), seed {board.seed}; provisional: < {board.provisional_games} "
            f"games; ? = interval unknown (< {board.interval_games} games or a degenerate "
            "bootstrap): no tier, listed after the ranked agents"
        )
        if board.stored_at is not None:
            typer.echo(
                f"stored board of {board.stored_at:%Y-%m-%d %H:%M:%S} UTC (its games are "
                "unchanged since); stored again by `arenadb ratings boards`"
            )


def _interval(low: float | None, high: float | None, number: str) -> str:
    if low is None or high is None:
        return "unknown"
    return f"{number.format(low)} to {number.format(high)}"


@agent_app.command("info")
def info(
    ctx: typer.Context,
    agent: Annotated[str, typer.Argument(metavar="AGENT", help="Agent id or alias.")],
    system: SystemOption = "trueskill",
    recent: Annotated[int, count_option("--recent", help="How many recent games.")] = 10,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Configuration, ratings per system and game type, rating trajectory, recent games, usage."""
    from arenadb.cli.render.output import print_json, render_object, render_rows
    from arenadb.cli.render.tables import one_line, sparkline
    from arenadb.db import engine_scope
    from arenadb.ratings.leaderboard import OnlineRating, agent_profile

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        profile = agent_profile(engine, agent, system=system, recent=recent)
    fmt = output_format(ctx, json_output, csv_output)
    if fmt == "json":
        print_json(profile)
        return
    rating_columns = ["system", "game_type", "score", "mu", "sigma", "games", "wins", "win_rate"]
    if fmt == "csv":  # CSV is one table: the agent's ratings
        render_rows(profile.ratings, rating_columns, fmt, csv_fields=OnlineRating)
        return
    render_object(
        {
            "agent": profile.id,
            "alias": profile.alias,
            "kind": profile.kind,
            "model": profile.model,
            "provider": profile.model_provider,
            "prompt": f"{profile.prompt} v{profile.prompt_version} ({profile.prompt_sha256[:12]})",
            "prompt text": one_line(profile.prompt_content),
            "class": profile.agent_class,
            "config": profile.config,
            "active": profile.active,
        },
        fmt,
        title=f"agent {profile.id}",
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
    total = profile.usage_total
    usage = [*profile.usage, *([total] if total is not None and len(profile.usage) > 1 else [])]
    render_rows(
        [
            {
                "game_type": u.game_type or "(all)",
                "games": u.games,
                "calls": u.calls,
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "cost": _money(u.cost, u.cost_complete),
            }
            for u in usage
        ],
        ["game_type", "games", "calls", "input_tokens", "output_tokens", "cost"],
        fmt,
        title="LLM usage",
    )
