"""The CLI's context object: what the root callback collected, shared by every command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arenadb.config import Settings

# The commands that only read: with a read replica configured (ARENADB_READ_URL, --read-url)
# they read from it, and every other command uses the database itself. A command is added here
# only if it never writes (the replica's engine is read-only: a write would fail there).
READ_ONLY_COMMANDS = frozenset(
    {
        "games list",
        "game info",
        "game replay",
        "agents top",
        "agents list",
        "agent info",
        "ratings compare",
        "ratings matrix",
        "models stats",
        "db stats",
        "events stats",
        "events list",
        "events show",
        "engines list",
        "conversations list",
        "conversation show",
        "knowledge list",
        "logs system",
        "logs execution",
        "search",
        "export",
    }
)


@dataclass
class AppContext:
    """What the root callback collected; settings are resolved on first use."""

    database_url: str | None = None
    read_url: str | None = None
    env_file: Path | None = None
    json: bool = False
    csv: bool = False
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _replica_checked: bool = field(default=False, repr=False)

    def settings(self) -> Settings:
        """The settings of the running command: for a read-only command with a read replica
        configured, the replica's (see READ_ONLY_COMMANDS); else the database's."""
        primary = self.primary_settings()
        if primary.read_url is None or self._command() not in READ_ONLY_COMMANDS:
            return primary
        if not self._replica_checked:
            self._replica_checked = True
            _warn_if_behind(primary)
        return primary.for_reading()

    def primary_settings(self) -> Settings:
        """The settings of the database itself (where writes go)."""
        if self._settings is None:
            from arenadb.config import load_settings

            with _notes_on_stderr("arenadb.urls"):
                self._settings = load_settings(
                    self.database_url, self.env_file, read_url=self.read_url
                )
        return self._settings

    @staticmethod
    def _command() -> str:
        import importlib

        # Newer Typer ships its own copy of click (see cli/options.py).
        try:
            globals_module = importlib.import_module("typer._click.globals")
        except ImportError:  # pragma: no cover - an older Typer on the real click
            globals_module = importlib.import_module("click.globals")
        context = globals_module.get_current_context(silent=True)
        if context is None:
            return ""
        return " ".join(context.command_path.split()[1:])  # without the program name

    def mask(self, text: str) -> str:
        from arenadb.urls import mask_text

        secrets = self._settings.secrets() if self._settings else []
        return mask_text(text, secrets)


def _warn_if_behind(primary: Settings) -> None:
    """One stderr line when the read replica is further behind than ARENADB_READ_MAX_LAG_S; an
    error when it cannot be reached (the command's reads would fail there anyway)."""
    if primary.backend != "postgresql":
        return
    from arenadb.cli.render.output import warn
    from arenadb.db.engine import create_engine
    from arenadb.db.replica import replica_lag

    replica = create_engine(primary.for_reading(), pooled=False, read_only=True)
    source = create_engine(primary, pooled=False)
    try:
        message = replica_lag(primary, replica, source).message(primary.read_max_lag_s)
    finally:
        replica.dispose()
        source.dispose()
    if message:
        warn(message)


@contextmanager
def _notes_on_stderr(logger_name: str) -> Iterator[None]:
    """The library's warnings from `logger_name` in the block, each said once on stderr as a
    `note:` line (instead of the logging module's own rendering)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger(logger_name)
    handler, propagate = Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        for message in dict.fromkeys(messages):
            import typer

            typer.echo(f"note: {message}", err=True)
