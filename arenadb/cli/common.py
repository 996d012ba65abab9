"""Small helpers every command module shares: the app context and confirmations."""

from __future__ import annotations

import sys

import typer

from arenadb.cli.context import AppContext
from arenadb.errors import RefusedError


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppContext):  # a sub-app invoked on its own, as in some tests
        obj = AppContext()
        ctx.find_root().obj = obj
    return obj


def confirm_destructive(question: str, *, yes: bool) -> None:
    """Ask before destroying data; without a terminal, only `--yes` lets it through."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError(f"refusing to {question} without confirmation: pass --yes")
    if not typer.confirm(f"{question[0].upper()}{question[1:]}?", default=False, err=True):
        raise RefusedError("not confirmed; nothing was changed")
