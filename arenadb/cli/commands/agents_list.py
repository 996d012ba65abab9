"""`arenadb agents list`, as a plain command function (registered on the `agents` sub-app)."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption, LimitOption, OffsetOption
from arenadb.cli.render.output import output_format, render_rows, to_plain
from arenadb.limits import DEFAULT_LIMIT

AGENT_COLUMNS = [
    "id",
    "alias",
    "kind",
    "model",
    "prompt",
    "active",
    "rated_games",
    "rating_mu",
    "last_game_id",
]


def agents_list(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Option(help="Only agents on this model (name).", show_default=False)
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only agents of this kind.", show_default=False)
    ] = None,
    active: Annotated[
        bool | None,
        typer.Option(
            "--active/--inactive", help="Only active (or inactive) agents.", show_default=False
        ),
    ] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Agents by id: kind, model, prompt, active, rated games, rating mu, last game."""
    from arenadb.db import engine_scope
    from arenadb.inspection.agents import AgentSummary, list_agents

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        agents = list_agents(
            engine, model=model, kind=kind, active=active, limit=limit, offset=offset
        )
    if fmt == "table":
        rows = [
            {
                **vars(a),
                "prompt": f"{a.prompt} v{a.prompt_version}",
                "alias": a.alias or "",
                "rating_mu": "" if a.rating_mu is None else f"{a.rating_mu:.2f}",
            }
            for a in agents
        ]
        render_rows(
            rows,
            AGENT_COLUMNS,
            fmt,
            title="agents",
            headers={"last_game_id": "last game", "rating_mu": "mu", "rated_games": "rated games"},
        )
    else:
        render_rows(to_plain(agents), AGENT_COLUMNS, fmt, csv_fields=AgentSummary)
