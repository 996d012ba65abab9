"""The root Typer app: global options, and the one place where errors become exit codes.

Start-up must stay light: command modules import only typer and arenadb's small modules at the
top; the ORM, alembic and the ops they call are imported inside the command functions.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from arenadb import __version__
from arenadb.cli.context import AppContext
from arenadb.cli.options import (
    DatabaseUrlOption,
    DebugOption,
    EnvFileOption,
    GlobalCsvOption,
    GlobalJsonOption,
    ReadUrlOption,
    click_exceptions,
    refuse_undeclared_formats,
)
from arenadb.errors import EXIT_ERROR, EXIT_USAGE, ArenaDBError

if TYPE_CHECKING:
    pass

EXIT_INTERRUPTED = 130
# The parser quotes the bad value; a 100,000-character one need not be printed whole.
USAGE_MESSAGE_MAX = 300
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def error_outcome(exc: BaseException, obj: AppContext) -> tuple[int, str]:
    """THE table from an exception to (exit code, the one stderr line without `error: `)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, click_exceptions.UsageError):  # the parser's: unknown option, bad value
        message = " ".join(exc.format_message().split()).rstrip(".")
        if len(message) > USAGE_MESSAGE_MAX:
            message = message[: USAGE_MESSAGE_MAX - 1] + "…"
        command = exc.ctx.command_path if exc.ctx is not None else "arenadb"
        return EXIT_USAGE, f"{message[:1].lower()}{message[1:]} (see '{command} --help')"
    if isinstance(exc, click_exceptions.ClickException):
        return exc.exit_code, " ".join(exc.format_message().split())
    if isinstance(exc, typer.Abort):
        return EXIT_ERROR, "aborted"
    error = _as_arenadb_error(exc, obj)
    message = " ".join((str(error) or type(error).__name__).split("\n"))
    if error.parameter:  # the option of the same name (see ArenaDBError)
        message += f" (see --{error.parameter.replace('_', '-')})"
    return error.exit_code, message


def _as_arenadb_error(exc: BaseException, obj: AppContext) -> ArenaDBError:
    if isinstance(exc, ArenaDBError):
        return exc
    from arenadb.db.errors import translate_error

    translated = translate_error(exc, obj._settings)
    if translated is not None:
        return translated
    error = ArenaDBError(
        f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}"
        " (run with --debug for the traceback)"
    )
    error.exit_code = EXIT_ERROR
    return error


def fail(exc: BaseException, obj: AppContext, *, debug: bool = False) -> typer.Exit:
    """Print `exc` as one masked stderr line (after the traceback with --debug); the exit."""
    code, message = error_outcome(exc, obj)
    if debug:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        typer.echo(obj.mask(text).rstrip(), err=True)
    typer.echo(f"error: {obj.mask(message)}", err=True)
    return typer.Exit(code)


def _is_control_flow(exc: BaseException) -> bool:
    """Exit, and the parser's own errors: they go on up to `ArenaGroup.main`."""
    return isinstance(exc, typer.Exit | click_exceptions.ClickException | typer.Abort)


class _Listed(TyperCommand):
    """What `arenadb --help` lists for a command not loaded yet: its name and short help."""


def _completion(install: bool) -> Any:
    """The callback of `--show-completion SHELL` / `--install-completion SHELL`."""

    def callback(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        if value not in SHELLS:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(SHELLS)}")
        from typer.completion import install_callback, show_callback

        (install_callback if install else show_callback)(ctx, param, value)

    return callback


class ArenaGroup(TyperGroup):
    """The root command: loads subcommands on first use, and turns every error raised under it
    (ours, the database's, the parser's) into one stderr line and an exit code."""

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

    def _main_shell_completion(
        self, ctx_args: Any, prog_name: str, complete_var: Any = None
    ) -> None:
        if complete_var is None:
            complete_var = f"_{prog_name}_COMPLETE".replace("-", "_").upper()
        if os.environ.get(complete_var):  # a shell asking for completions: teach click the shells
            from typer._completion_classes import completion_init

            completion_init()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        forward = {"args": args, "prog_name": prog_name, "complete_var": complete_var, **extra}
        if not standalone_mode:
            return super().main(standalone_mode=False, **forward)
        try:
            result = super().main(standalone_mode=False, **forward)
        except typer.Exit as exit_:
            sys.exit(exit_.exit_code)
        except click_exceptions.NoArgsIsHelpError as no_args:
            no_args.show()  # `arenadb` or `arenadb migrate` alone: the help, as ever
            sys.exit(EXIT_USAGE)
        except (click_exceptions.ClickException, typer.Abort) as exc:
            sys.exit(fail(exc, AppContext()).exit_code)
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        try:
            # The subcommand's arguments are still unparsed here (click 8.2 renamed the list).
            pending = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", [])
            _refuse_unusable_arguments([*ctx.params.values(), *pending, *ctx.args])
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`arenadb games list | head`): not an error worth a message.
            # Point stdout at devnull so the interpreter's final flush does not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(EXIT_ERROR) from None
        except (Exception, KeyboardInterrupt) as exc:
            if _is_control_flow(exc):
                raise
            obj = ctx.obj if isinstance(ctx.obj, AppContext) else AppContext()
            raise fail(exc, obj, debug=obj.debug or bool(ctx.params.get("debug"))) from None


# No reference, URL or path is this long; refusing early keeps a pasted blob from reaching
# resolvers, parsers and error messages (one line back, at once).
MAX_ARGUMENT_LENGTH = 4096


def _refuse_unusable_arguments(values: list[Any]) -> None:
    """Over-long arguments, and NUL in any: no file name, reference or URL holds one (the OS
    refuses it in a path, libpq cuts a connection string there)."""
    for value in values:
        if isinstance(value, str | Path) and "\x00" in str(value):
            from arenadb.errors import UsageError

            raise UsageError("an argument contains a NUL character")
        if isinstance(value, str | Path) and len(str(value)) > MAX_ARGUMENT_LENGTH:
            from arenadb.errors import UsageError

            # Not echoed, not even its start: it may be a URL whose password the cut hides
            # from the masking.
            raise UsageError(
                f"an argument is too long ({len(str(value))} characters, "
                f"at most {MAX_ARGUMENT_LENGTH})"
            )


app = typer.Typer(
    cls=ArenaGroup,
    name="arenadb",
    help="The database of an LLM-agent arena: set it up, migrate it, seed it, inspect it.",
    no_args_is_help=True,
    add_completion=False,  # the root declares its own, which take the shell as a value
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
    database_url: DatabaseUrlOption = None,
    read_url: ReadUrlOption = None,
    env_file: EnvFileOption = None,
    json_output: GlobalJsonOption = False,
    csv_output: GlobalCsvOption = False,
    debug: DebugOption = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="SHELL",
            callback=_completion(install=False),
            is_eager=True,
            expose_value=False,
            help=f"Print the completion script for SHELL ({', '.join(SHELLS)}).",
            show_default=False,
        ),
    ] = None,
    install_completion: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="SHELL",
            callback=_completion(install=True),
            is_eager=True,
            expose_value=False,
            help="Install completion for SHELL (edits its start-up file).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """arenadb: the database of an LLM-agent arena."""
    ctx.obj = AppContext(
        database_url=database_url,
        read_url=read_url,
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
    "search": (
        "arenadb.cli.commands.search",
        "search",
        "Turns, messages, LLM responses and knowledge containing TEXT, best first, with snippets.",
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
        "Ratings: rebuild them, store the bt boards, compare two agents, the pairwise matrix.",
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
    "logs": (
        "arenadb.cli.commands.logs",
        "app",
        "Read the system logs and the execution logs, newest first.",
    ),
    "export": (
        "arenadb.cli.commands.portability",
        "export",
        "Export games with seats, turns, actions, LLM calls and snapshots as JSON Lines, or as a "
        "Parquet dataset partitioned by game type and day (with a verified manifest).",
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
        "Retention: drop old LLM payloads, logs, finished events, snapshots, game detail.",
    ),
    "backup": (
        "arenadb.cli.commands.portability",
        "backup",
        "Back up the live database: SQLite's online backup API, or pg_dump for PostgreSQL.",
    ),
    "serve": (
        "arenadb.cli.commands.serve",
        "serve",
        "Serve a read-only web view: leaderboards, games, replays, agents, models (+ JSON).",
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
        single = typer.Typer(add_completion=False)  # completion belongs to the root only
        single.command(name)(target)
        command = get_command(single)
    command.name = name
    refuse_undeclared_formats(command)
    return command


def main() -> None:
    """Console-script entry point."""
    app(prog_name="arenadb")


if __name__ == "__main__":  # pragma: no cover
    main()
