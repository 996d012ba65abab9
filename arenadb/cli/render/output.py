"""Rendering, defined once: a Rich table for people, JSON or CSV for scripts.

Data goes to stdout; messages, progress and errors go to stderr, so stdout stays parseable.
The table, JSON and CSV writers live in `tables`, `json` and `csv`; this module picks one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any

import typer

from arenadb.cli.render.csv import write_csv
from arenadb.cli.render.json import print_json, to_plain
from arenadb.cli.render.tables import (  # noqa: F401
    PIPE_WIDTH,
    Styled,
    make_console,
    print_key_values,
    print_table,
)
from arenadb.errors import UsageError

__all__ = [
    "Styled",
    "info",
    "make_console",
    "output_format",
    "print_json",
    "render_object",
    "render_rows",
    "to_plain",
]


def output_format(ctx: typer.Context, json_flag: bool = False, csv_flag: bool = False) -> str:
    """'table', 'json' or 'csv', from the command's own flags or the global ones."""
    obj = ctx.find_root().obj
    want_json = json_flag or bool(getattr(obj, "json", False))
    want_csv = csv_flag or bool(getattr(obj, "csv", False))
    if want_json and want_csv:
        raise UsageError("--json and --csv cannot be used together")
    return "json" if want_json else "csv" if want_csv else "table"


def field_names(fields_of: Sequence[str] | type | None) -> list[str]:
    """The names of a dataclass type's fields, or the given names."""
    if fields_of is None:
        return []
    if isinstance(fields_of, type) and is_dataclass(fields_of):
        return [f.name for f in fields(fields_of)]
    return list(fields_of)  # type: ignore[arg-type]


def render_rows(
    rows: Iterable[Any],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    csv_fields: Sequence[str] | type | None = None,
) -> None:
    """A list of objects (mappings or dataclasses): a table of `columns`, or all as JSON / CSV.

    The CSV header is `columns`, then the other `csv_fields` (a dataclass type or names): it
    comes from the command, so an empty result has the same header as a full one.
    """
    originals = [_fields(r) for r in rows]
    if fmt == "table":
        # Unconverted values: datetimes and floats get their table format.
        print_table(originals, columns, title=title, headers=headers)
        if not originals:
            typer.echo("(no rows)", err=True)
        return
    materialised = [to_plain({k: _unstyled(v) for k, v in r.items()}) for r in originals]
    if fmt == "json":
        print_json(materialised)
        return
    header = list(columns)
    header += [name for name in field_names(csv_fields) if name not in header]
    write_csv(materialised, header)


def _fields(row: Any) -> Mapping[str, Any]:
    """A row as a mapping of its fields, values untouched (a dataclass is not deep-copied)."""
    if is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in fields(row)}
    return row


def _unstyled(value: Any) -> Any:
    return value.value if isinstance(value, Styled) else value


def render_object(obj: Mapping[str, Any], fmt: str, *, title: str | None = None) -> None:
    """One object: key/value table for people, a JSON object, or a one-row CSV."""
    if fmt == "table":
        print_key_values(
            {k: v if isinstance(v, Styled) else to_plain(v) for k, v in obj.items()}, title=title
        )
        return
    plain = to_plain({k: _unstyled(v) for k, v in obj.items()})
    if fmt == "json":
        print_json(plain)
        return
    write_csv([plain], list(plain))


def info(message: str) -> None:
    """A message for people, on stderr."""
    typer.echo(message, err=True)


def warn(message: str) -> None:
    """A warning for people: one line on stderr, the command goes on."""
    typer.echo(f"warning: {message}", err=True)
