"""`arenadb config ...`: show where each setting comes from."""

from __future__ import annotations

import typer

from arenadb.cli.common import app_context
from arenadb.cli.options import JsonOption
from arenadb.cli.render.output import output_format, render_rows

app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Print every setting, its value (password masked) and where it came from."""
    settings = app_context(ctx).settings()
    rows = [
        {"name": name, "value": value, "origin": origin}
        for name, value, origin in settings.describe()
    ]
    fmt = output_format(ctx, json_output)
    if fmt == "json":
        from arenadb.cli.render.output import print_json

        print_json(
            {
                "settings": {r["name"]: r["value"] for r in rows},
                "origins": {r["name"]: r["origin"] for r in rows},
            }
        )
        return
    render_rows(rows, ["name", "value", "origin"], fmt, title="arenadb settings")
