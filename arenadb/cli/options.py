"""Every option more than one command shares, declared once, and the one output-format rule.

The rule: `--json` and `--csv` mean the same given globally (`arenadb --json games list`) or
per command (`arenadb games list --json`). A command that can render a format declares the
option from here; `refuse_undeclared_formats` gives every other command a hidden option of the
same name that refuses it, so an unsupported format is the same one-line usage error (exit 2)
in both positions instead of being ignored in one and unknown in the other.

Imports stay light (typer only): `arenadb --help` loads this module.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from arenadb.ages import AGE_EXAMPLES, parse_age
from arenadb.errors import UsageError
from arenadb.limits import MAX_LIMIT


def _click_exceptions() -> Any:
    """The parser's exception classes: newer Typer ships its own copy of click."""
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("neither typer._click nor click is installed")  # pragma: no cover


click_exceptions: Any = _click_exceptions()

# name of the parameter -> (flag, what the format is called in messages)
FORMATS: dict[str, tuple[str, str]] = {
    "json_output": ("--json", "JSON"),
    "csv_output": ("--csv", "CSV"),
}


def _global_flag(ctx: Any, name: str) -> bool:
    """Whether the root command got this flag (`arenadb --json ...`)."""
    root = ctx.find_root()
    return root is not ctx and bool(root.params.get(name))


def _with_global(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> bool:
    """A command's format flag is on when it was given here or on the root."""
    return bool(value) or _global_flag(ctx, str(param.name))


# Global options (the root callback).
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; wins over ARENADB_DATABASE_URL, DATABASE_URL, DB_* and .env.",
        show_default=False,
    ),
]
ReadUrlOption = Annotated[
    str | None,
    typer.Option(
        "--read-url",
        help="Read replica for read-only commands (wins over ARENADB_READ_URL); writes go to "
        "the database.",
        show_default=False,
    ),
]
EnvFileOption = Annotated[
    Path | None, typer.Option("--env-file", help="Read this .env file instead of ./.env.")
]
GlobalJsonOption = Annotated[
    bool, typer.Option("--json", help="JSON on stdout (same as the command's own --json).")
]
GlobalCsvOption = Annotated[
    bool, typer.Option("--csv", help="CSV on stdout (same as the command's own --csv).")
]
DebugOption = Annotated[
    bool, typer.Option("--debug", help="Show tracebacks (passwords still masked).")
]

# Per-command options.
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON on stdout.", callback=_with_global)
]
CsvOption = Annotated[
    bool, typer.Option("--csv", help="Print CSV on stdout.", callback=_with_global)
]
# Bounded, so a 30-digit count is a usage error here instead of an overflow in the database.
COUNT_MAX = 1_000_000_000
# A page holds at most MAX_LIMIT rows in every list (arenadb.limits): the parser refuses more
# in the same words for every command, instead of each library read in its own.
LimitOption = Annotated[
    int, typer.Option("--limit", "-n", min=1, max=MAX_LIMIT, help="At most this many rows.")
]
# Not a page: `export --limit` counts the games written, which may be any number.
OptionalLimitOption = Annotated[
    int | None,
    typer.Option(
        "--limit", "-n", min=1, max=COUNT_MAX, help="At most this many rows.", show_default=False
    ),
]
OffsetOption = Annotated[
    int, typer.Option("--offset", min=0, max=COUNT_MAX, help="Skip this many rows first.")
]
# Every integer and number parameter is bounded at its declaration: the parser then refuses
# `nan`, `inf`, `²`, `١٢` and 30-digit values as one usage line, before they reach a resolver or
# a database that would overflow (tests/cli/test_parameters.py walks the command tree for any
# that is not). Ids are BIGINT; a seed is what `random.Random` reproduces across versions.
ID_MAX = 2**63 - 1
SEED_MAX = 2**32 - 1
BOOTSTRAP_ROUNDS_MAX = 100_000
# Durations in seconds: more than zero (an age of 0 or less selects everything) and under a
# century, so that now minus the age is still a date.
SECONDS_MIN = 1.0
SECONDS_MAX = 100 * 365 * 24 * 3600.0


def id_option(*flags: str, help: str) -> Any:
    """An id option: 1 to ID_MAX."""
    return typer.Option(*flags, min=1, max=ID_MAX, help=help, show_default=False)


def id_argument(*, help: str) -> Any:
    """An id argument (or several): 1 to ID_MAX."""
    return typer.Argument(min=1, max=ID_MAX, help=help, show_default=False)


def count_option(*flags: str, help: str, least: int = 0, most: int = COUNT_MAX) -> Any:
    """A count of games, rows or rounds: `least` to `most`."""
    return typer.Option(*flags, min=least, max=most, help=help)


def seed_option(*flags: str, help: str) -> Any:
    return typer.Option(*flags, min=0, max=SEED_MAX, help=help)


# A decimal number as a user types it (`60`, `0.5`, `1e3`), or an infinity, which the range then
# refuses by name; never nan, and never the non-ASCII digits float() would accept.
_NUMBER = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity)", re.ASCII | re.IGNORECASE)


def number_parser(low: float, high: float) -> Callable[[str | float], float]:
    """The parser of a number option bounded to [low, high], saying what was wrong in words.

    Typer's own range check compares a `nan` as out of range ("should be less than or equal to
    N", of a value that is no number at all); this one says "not a number" for nan and for
    what is not a decimal number, and names the range for anything outside it, inf included. A
    `parser` replaces Typer's check, so the range is checked here (and still declared as
    min/max, for the help and the parameter walk).
    """
    bounds = " to ".join(str(int(b)) if b.is_integer() else str(b) for b in (low, high))

    def parse(text: str | float) -> float:
        if isinstance(text, int | float):  # the option's default, not typed by a user
            return float(text)
        # ASCII digits only: float() also reads `١٢` (Arabic-Indic twelve) as 12.0.
        if not _NUMBER.fullmatch(text.strip()):
            raise click_exceptions.BadParameter(f"{text[:40]!r} is not a number")
        value = float(text)
        if not low <= value <= high:
            raise click_exceptions.BadParameter(f"must be from {bounds}, not {text[:40]}")
        return value

    return parse


def number_option(*flags: str, low: float, high: float, help: str, **options: Any) -> Any:
    """A number option from `low` to `high` (never nan or inf), read by `number_parser`."""
    return typer.Option(
        *flags, min=low, max=high, parser=number_parser(low, high), help=help, **options
    )


def seconds_parser(low: float, high: float) -> Callable[[str | float], float]:
    """A duration: seconds (`90`, `0.5`) or an age as `--since` reads one (`15m`, `2h`, `7d`),
    in seconds, bounded to [low, high] as `number_parser` bounds it."""
    number = number_parser(low, high)

    def parse(text: str | float) -> float:
        if isinstance(text, str):
            try:
                age = parse_age(text)
            except OverflowError:
                raise click_exceptions.BadParameter(
                    f"{text[:40]!r} is longer than any duration"
                ) from None
            if age is not None:
                return number(repr(age.total_seconds()))
        return number(text)

    return parse


def seconds_option(*flags: str, help: str) -> Any:
    """A duration in seconds, or an age (`15m`): SECONDS_MIN to SECONDS_MAX seconds (so never
    nan, inf or negative)."""
    return typer.Option(
        *flags,
        min=SECONDS_MIN,
        max=SECONDS_MAX,
        parser=seconds_parser(SECONDS_MIN, SECONDS_MAX),
        help=f"{help} Seconds, or an age: {AGE_EXAMPLES}.",
    )


def check_time(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """A time option's value is one the library's `parse_when` reads, checked while parsing, so
    an out-of-range date or age is the parser's one usage line."""
    if value is None or ctx.resilient_parsing:
        return value
    from arenadb.errors import InvalidArgumentError
    from arenadb.inspection.filters import parse_when

    try:
        parse_when(value)
    except InvalidArgumentError as exc:
        raise click_exceptions.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def time_option(*flags: str, help: str) -> Any:
    """A point in time: ISO 8601 or an age (`7d`); checked by `check_time`."""
    return typer.Option(*flags, help=help, callback=check_time, show_default=False)


def game_type_option(help: str) -> Any:
    """A game type, spelled alike in every command (`--game-type`, `--type`, `-g`) and read by
    the one resolver, whose spellings the help names."""
    return typer.Option(
        "--game-type",
        "--type",
        "-g",
        help=f"{help}: id, env id (SecretMafia-v0) or name.",
        show_default=False,
    )


YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do it without asking (needed without a terminal).")
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace what is already at the target.")
]
AnyDatabaseOption = Annotated[
    bool,
    typer.Option(
        "--any-database",
        help="Also drop a database that is not arenadb's (tables of another application).",
    ),
]
# The same flag on the commands that add arenadb's tables (the one rule:
# arenadb.db.admin.is_arenadb_database).
ShareDatabaseOption = Annotated[
    bool,
    typer.Option(
        "--any-database",
        help="Also add arenadb's tables to a database that holds another application's tables.",
    ),
]


def _refuse(ctx: typer.Context, param: typer.CallbackParam, value: bool) -> bool:
    if value or _global_flag(ctx, param.name):
        flag, label = FORMATS[param.name]
        raise UsageError(f"arenadb {_path(ctx)} cannot print {label} ({flag})")
    return False


def _path(ctx: Any) -> str:
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name)
        ctx = ctx.parent
    return " ".join(reversed(names))


def leaf_commands(command: Any, path: tuple[str, ...] = ()) -> Any:
    """(path, command) for every runnable command under `command`."""
    children = getattr(command, "commands", None)
    if not children:
        yield path, command
        return
    for name, child in children.items():
        yield from leaf_commands(child, (*path, name))


def _refusing(
    json_output: Annotated[
        bool, typer.Option("--json", hidden=True, expose_value=False, callback=_refuse)
    ] = False,
    csv_output: Annotated[
        bool, typer.Option("--csv", hidden=True, expose_value=False, callback=_refuse)
    ] = False,
) -> None:
    """Only its parameters are used: Typer builds them, as for any command."""


def _refusing_params() -> dict[str, Any]:
    from typer.main import get_command

    holder = typer.Typer(add_completion=False)
    holder.command()(_refusing)
    return {flag: param for param in get_command(holder).params for flag in param.opts}


def refuse_undeclared_formats(command: Any) -> None:
    """Give each command under `command` a hidden `--json`/`--csv` that refuses, where it has
    no such option of its own."""
    for _, leaf in leaf_commands(command):
        declared = {opt for param in leaf.params for opt in getattr(param, "opts", ())}
        missing = [flag for flag, _label in FORMATS.values() if flag not in declared]
        if missing:
            refusing = _refusing_params()
            leaf.params.extend(refusing[flag] for flag in missing)


def formats_of(command: Any) -> set[str]:
    """The formats a command renders besides its table: a subset of {"json", "csv"}."""
    return {
        flag.lstrip("-")
        for param in command.params
        if not getattr(param, "hidden", False)
        for flag in getattr(param, "opts", ())
        if flag in ("--json", "--csv")
    }
