"""The `arenadb` command line: thin Typer commands over the library."""

from arenadb.cli.app import app, main

__all__ = ["app", "main"]
