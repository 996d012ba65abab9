"""The game filter options, declared once for `games list` and `export` (the same meaning)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from arenadb.cli.options import game_type_option, time_option

if TYPE_CHECKING:
    from arenadb.inspection.filters import GameFilter

StatusOption = Annotated[
    str | None,
    typer.Option(help="queued, running, completed, failed or aborted.", show_default=False),
]
TypeOption = Annotated[str | None, game_type_option("Only games of this type")]
AgentOption = Annotated[
    str | None, typer.Option(help="Games an agent (id or alias) played.", show_default=False)
]
ModelOption = Annotated[
    str | None,
    typer.Option(help="Games where an agent used this model (id or name).", show_default=False),
]
# One declaration for every command (games: when they started; logs: when logged).
SinceOption = Annotated[
    str | None,
    time_option(help="At or after this time: 2026-03-01, 2026-03-01T12:00, or an age: 7d, 12h."),
]
UntilOption = Annotated[str | None, time_option(help="Before this time (same forms as --since).")]


def game_filter(
    *,
    status: str | None,
    game_type: str | None,
    agent: str | None,
    model: str | None,
    since: str | None,
    until: str | None,
    limit: int | None = None,
) -> GameFilter:
    """The library's GameFilter from the options as typed (times parsed here)."""
    from arenadb.inspection.filters import GameFilter, parse_when

    return GameFilter(
        status=status,
        game_type=game_type,
        agent=agent,
        model=model,
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        limit=limit,
    )
