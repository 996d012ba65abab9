"""The root Typer app: global options, and the one place where errors become exit codes.

Start-up must stay light: command modules import only typer and arenadb's small modules at the
top; the ORM, alembic and the ops they call are imported inside the command functions.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from arenadb import __version__
from arenadb.errors import EXIT_ERROR, ArenaDBError

if TYPE_CHECKING:
    from arenadb.config import Settings

EXIT_INTERRUPTED = 130


@dataclass
class AppContext:
    """What the root callback collected; settings are resolved on first use."""

    database_url: str | None = None
    env_file: Path | None = None
    json: bool = False
    csv: bool = False
    debug: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from arenadb.config import load_settings

            self._settings = load_settings(self.database_url, self.env_file)
        return self._settings

    def mask(self, text: str) -> str:
        from arenadb.config import mask_text

        secrets = self._settings.secrets() if self._settings else []
        return mask_text(text, secrets)


def _is_cli_control_flow(exc: BaseException) -> bool:
    """typer/click's own exceptions (Exit, Abort, usage errors) are handled by typer itself."""
    if isinstance(exc, typer.Exit | typer.Abort):
        return True
    return hasattr(exc, "exit_code") and hasattr(exc, "show") and not isinstance(exc, ArenaDBError)


class _Listed(TyperCommand):
    """What `arenadb --help` lists for a command not loaded yet: its name and short help."""


class ArenaGroup(TyperGroup):
    """The root command: loads subcommands on first use, and maps every arenadb error raised
    by any of them to one stderr line and an exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        return _Listed(name=cmd_name, help=COMMANDS[cmd_name][2], callback=None)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else None
        if name in COMMANDS and name not in self.commands:
            self.commands[name] = load_command(name)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`arenadb games list | head`): not an error worth a message.
            # Point stdout at devnull so the interpreter's final flush does not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:
            if _is_cli_control_flow(exc):
                raise
            obj = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext()
            debug = obj.debug or bool(ctx.params.get("debug"))
            error = _as_arenadb_error(exc, obj)
            if debug:
                text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                typer.echo(obj.mask(text).rstrip(), err=True)
            message = obj.mask(str(error) or type(error).__name__)
            if error.parameter:  # the option of the same name (see ArenaDBError)
                message += f" (see --{error.parameter.replace('_', '-')})"
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(error.exit_code) from None


def _as_arenadb_error(exc: Exception, obj: AppContext) -> ArenaDBError:
    if isinstance(exc, ArenaDBError):
        return exc
    if type(exc).__module__.startswith("sqlalchemy"):
        from arenadb.db.engine import translate_error

        translated = translate_error(exc, obj._settings)
        if translated is not None:
            return translated
    error = ArenaDBError(
        f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}"
        " (run with --debug for the traceback)"
    )
    error.exit_code = EXIT_ERROR
    return error


app = typer.Typer(
    cls=ArenaGroup,
    name="arenadb",
    help="The database of an LLM-agent arena: set it up, migrate it, seed it, inspect it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"arenadb {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database URL; wins over ARENADB_DATABASE_URL, DATABASE_URL, DB_* and .env.",
            show_default=False,
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="Read this .env file instead of ./.env."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="CSV on stdout (lists).")] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """arenadb: the database of an LLM-agent arena."""
    ctx.obj = AppContext(
        database_url=database_url,
        env_file=env_file,
        json=json_output,
        csv=csv_output,
        debug=debug,
    )


# The commands, loaded on first use: `arenadb --help` then imports no command module and builds
# no command tree (Typer introspects every function it registers, which costs more than the
# imports). name -> (module, attribute, short help shown by `arenadb --help`). The attribute is a
# Typer sub-app or a command function. tests/test_cli.py checks each short help against the
# loaded command's own.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "arenadb.cli.commands.db",
        "init",
        "Create the database if it is missing, migrate it to head, optionally seed it.",
    ),
    "seed": (
        "arenadb.cli.commands.db",
        "seed",
        "Write an environment's seed data (one transaction; running it twice changes nothing).",
    ),
    "config": (
        "arenadb.cli.commands.config",
        "app",
        "Inspect the resolved configuration.",
    ),
    "db": (
        "arenadb.cli.commands.db",
        "app",
        "Check, create, drop and reset the database.",
    ),
    "migrate": (
        "arenadb.cli.commands.migrate",
        "app",
        "Apply, inspect and check schema migrations.",
    ),
    "games": (
        "arenadb.cli.commands.games",
        "games_app",
        "List games, newest first.",
    ),
    "game": (
        "arenadb.cli.commands.games",
        "game_app",
        "Look at one game: its record, or a replay.",
    ),
    "agents": (
        "arenadb.cli.commands.agents",
        "app",
        "Agents: list them, rank them.",
    ),
    "agent": (
        "arenadb.cli.commands.agents",
        "agent_app",
        "One agent: configuration, ratings, games.",
    ),
    "ratings": (
        "arenadb.cli.commands.ratings",
        "app",
        "Ratings: rebuild them, compare two agents, the pairwise matrix.",
    ),
    "models": (
        "arenadb.cli.commands.models",
        "app",
        "LLM models: usage, cost, latency, errors.",
    ),
    "conversations": (
        "arenadb.cli.commands.social",
        "conversations_app",
        "Conversations among agents and users.",
    ),
    "conversation": (
        "arenadb.cli.commands.social",
        "conversation_app",
        "One conversation and its messages.",
    ),
    "knowledge": (
        "arenadb.cli.commands.social",
        "knowledge_app",
        "Knowledge chunks agents retrieve.",
    ),
    "events": (
        "arenadb.cli.commands.events",
        "app",
        "Inspect the event queue, retry failed events.",
    ),
    "engines": (
        "arenadb.cli.commands.events",
        "engines_app",
        "Inspect the engines that process events.",
    ),
    "export": (
        "arenadb.cli.commands.portability",
        "export",
        "Export games with seats, turns, actions, LLM calls and snapshots as JSON Lines.",
    ),
    "import": (
        "arenadb.cli.commands.portability",
        "import_file",
        "Import games from an export; games already present (same UUID) are skipped.",
    ),
    "copy": (
        "arenadb.cli.commands.portability",
        "copy",
        "Copy the whole database to another one (SQLite <-> PostgreSQL), ids preserved.",
    ),
    "clean": (
        "arenadb.cli.commands.portability",
        "clean",
        "Retention: drop old LLM payloads, logs, finished events, old periodic snapshots.",
    ),
    "backup": (
        "arenadb.cli.commands.portability",
        "backup",
        "Back up the live database: SQLite's online backup API, or pg_dump for PostgreSQL.",
    ),
}


def load_command(name: str) -> Any:
    """The real click command for a top-level name (imports its module)."""
    import importlib

    from typer.main import get_command, get_group

    module, attribute, _help = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if name == "agents":
        from arenadb.cli.commands.agents_list import agents_list

        if "list" not in {c.name for c in target.registered_commands}:
            target.command("list")(agents_list)
    command: Any
    if isinstance(target, typer.Typer):
        command = get_group(target)  # a group even when it has one command (`config show`)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = get_command(single)
    command.name = name
    return command


def main() -> None:
    """Console-script entry point."""
    app(prog_name="arenadb")


if __name__ == "__main__":  # pragma: no cover
    main()
