"""The `arenadb` command line: thin Typer commands over `arenadb.ops`."""

from arenadb.cli.app import app, main

__all__ = ["app", "main"]
