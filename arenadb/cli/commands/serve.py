"""`arenadb serve`: the read-only web view (needs the `arenadb[web]` extra)."""

from __future__ import annotations

from typing import Annotated

import typer

from arenadb.cli.common import app_context


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="ARENADB_WEB_TOKEN",
            help="Require this token on every page (Bearer header or login form).",
            show_default=False,
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Serve a read-only web view: leaderboards, games, replays, agents, models (+ JSON)."""
    from arenadb.web import check_web_extra
    from arenadb.web.serving import check_bind, run

    check_web_extra()
    check_bind(host, token)
    settings = app_context(ctx).settings()
    run(settings, host=host, port=port, token=token)
