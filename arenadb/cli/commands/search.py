"""`arenadb search TEXT`: turns, messages, LLM responses and knowledge that contain some words."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.commands.game_filter import (
    AgentOption,
    SinceOption,
    TypeOption,
    UntilOption,
    game_filter,
)
from arenadb.cli.common import app_context
from arenadb.cli.options import CsvOption, JsonOption, LimitOption, OffsetOption
from arenadb.cli.render.output import output_format, render_rows
from arenadb.limits import DEFAULT_LIMIT

COLUMNS = ["kind", "game_id", "turn", "seat", "id", "score", "snippet"]


def search(
    ctx: typer.Context,
    text: Annotated[
        str,
        typer.Argument(
            help="Words that must all occur (plain words: no query syntax).", show_default=False
        ),
    ],
    within: Annotated[
        list[str] | None,
        typer.Option(
            "--in",
            help="Search only turns, messages, llm or knowledge (repeat for several).",
            show_default=False,
        ),
    ] = None,
    game: Annotated[
        str | None,
        typer.Option(help="Only this game (id, UUID or UUID prefix).", show_default=False),
    ] = None,
    game_type: TypeOption = None,
    agent: AgentOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = DEFAULT_LIMIT,
    offset: OffsetOption = 0,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Turns, messages, LLM responses and knowledge containing TEXT, best first, with snippets."""
    from arenadb.db import engine_scope
    from arenadb.inspection.search import SearchHit
    from arenadb.inspection.search import search as search_op

    fmt = output_format(ctx, json_output, csv_output)
    filters = game_filter(
        status=None, game_type=game_type, agent=agent, model=None, since=since, until=until
    )
    with engine_scope(app_context(ctx).settings()) as engine:
        hits = search_op(
            engine, text, within=within, filters=filters, game=game, limit=limit, offset=offset
        )
    render_rows(hits, COLUMNS, fmt, title="search", csv_fields=SearchHit)
