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
from typer.core import TyperGroup

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


class ArenaGroup(TyperGroup):
    """Maps every arenadb error raised by any subcommand to one stderr line and an exit code."""

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


def _register() -> None:
    from arenadb.cli import (
        agents_cmd,
        config_cmd,
        db_cmd,
        events_cmd,
        games_cmd,
        inspect_agents,
        migrate_cmd,
        models_cmd,
        portability_cmd,
        ratings_cmd,
        social_cmd,
    )

    app.command("init")(db_cmd.init)
    app.command("seed")(db_cmd.seed)
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(db_cmd.app, name="db")
    app.add_typer(migrate_cmd.app, name="migrate")
    app.add_typer(games_cmd.games_app, name="games")
    app.add_typer(games_cmd.game_app, name="game")
    agents_cmd.app.command("list")(inspect_agents.agents_list)
    app.add_typer(agents_cmd.app, name="agents")
    app.add_typer(agents_cmd.agent_app, name="agent")
    app.add_typer(ratings_cmd.app, name="ratings")
    app.add_typer(models_cmd.app, name="models")
    app.add_typer(social_cmd.conversations_app, name="conversations")
    app.add_typer(social_cmd.conversation_app, name="conversation")
    app.add_typer(social_cmd.knowledge_app, name="knowledge")
    app.add_typer(events_cmd.app, name="events")
    app.add_typer(events_cmd.engines_app, name="engines")
    app.command("export")(portability_cmd.export)
    app.command("import")(portability_cmd.import_file)
    app.command("copy")(portability_cmd.copy)
    app.command("clean")(portability_cmd.clean)
    app.command("backup")(portability_cmd.backup)


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="arenadb")


if __name__ == "__main__":  # pragma: no cover
    main()
