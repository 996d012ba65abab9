"""Rendering, defined once: a Rich table for people, JSON or CSV for scripts.

Data goes to stdout; messages, progress and errors go to stderr, so stdout stays parseable.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import typer

from arenadb.cli.options import CsvOption, JsonOption  # noqa: F401 (declared there; old import path)
from arenadb.errors import UsageError

PIPE_WIDTH = 200


def output_format(ctx: typer.Context, json_flag: bool = False, csv_flag: bool = False) -> str:
    """'table', 'json' or 'csv', from the command's own flags or the global ones."""
    obj = ctx.find_root().obj
    want_json = json_flag or bool(getattr(obj, "json", False))
    want_csv = csv_flag or bool(getattr(obj, "csv", False))
    if want_json and want_csv:
        raise UsageError("--json and --csv cannot be used together")
    return "json" if want_json else "csv" if want_csv else "table"


def to_plain(value: Any) -> Any:
    """JSON-ready form of what ops return (dataclasses, datetimes, UUIDs, decimals)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: to_plain(v) for k, v in asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_plain(value), indent=2, ensure_ascii=False) + "\n")


def make_console() -> Any:
    """A Rich console on stdout; wide when piped, so tables are not squeezed into 80 columns.

    Rich falls back to 80 columns without a terminal; `arenadb games list | less` should show
    whole rows instead. An explicit COLUMNS still wins.
    """
    import os

    from rich.console import Console

    console = Console(soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value else f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return "yes" if value else "no"
    plain = to_plain(value)
    if isinstance(plain, dict | list):
        return json.dumps(plain, ensure_ascii=False)
    return str(plain)


def render_rows(
    rows: Iterable[Any],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """A list of objects (mappings or dataclasses): a table of `columns`, or all as JSON / CSV."""
    originals = [_fields(r) for r in rows]
    materialised = [to_plain(r) for r in originals]
    if fmt == "json":
        print_json(materialised)
        return
    if fmt == "csv":
        fields = list(columns)
        for row in materialised:
            fields += [k for k in row if k not in fields]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in materialised:
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, header_style="bold")
    for name in columns:
        table.add_column((headers or {}).get(name, name.replace("_", " ")))
    for row in originals:  # unconverted values: datetimes and floats get their table format
        # Text, not str: data such as "[Vote] Player 3" must not be read as Rich markup.
        table.add_row(*(Text(_cell(row.get(name))) for name in columns))
    make_console().print(table)
    if not originals:
        typer.echo("(no rows)", err=True)


def _fields(row: Any) -> Mapping[str, Any]:
    """A row as a mapping of its fields, values untouched (a dataclass is not deep-copied)."""
    if is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in fields(row)}
    return row


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def render_object(obj: Mapping[str, Any], fmt: str, *, title: str | None = None) -> None:
    """One object: key/value table for people, a JSON object, or a one-row CSV."""
    plain = to_plain(obj)
    if fmt == "json":
        print_json(plain)
        return
    if fmt == "csv":
        render_rows([plain], list(plain), "csv")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in plain.items():
        table.add_row(key.replace("_", " "), Text(_cell(value)))
    make_console().print(table)


def info(message: str) -> None:
    """A message for people, on stderr."""
    typer.echo(message, err=True)
