"""Rich tables for people, and the one human formatting of cells and sizes.

Values from the database go into `rich.text.Text`, never into markup strings, so a `[bold]`
inside an LLM's answer is shown, not interpreted. A command that wants a cell to stand out
says so with `Styled`, which only a table renders: JSON and CSV get the plain value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arenadb.cli.render.json import to_plain

PIPE_WIDTH = 200
SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Styled:
    """A table cell with a Rich style (`Styled("active (stale)", "bold red")`)."""

    value: Any
    style: str


def human_size(size_bytes: int | float | None) -> str:
    """`512 B`, `1.5 KiB`, `3.2 GiB` (powers of 1024); empty when unknown."""
    if size_bytes is None:
        return ""
    value = float(size_bytes)
    for unit in SIZE_UNITS:
        if abs(value) < 1024 or unit == SIZE_UNITS[-1]:
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def money(value: float | None, complete: bool = True) -> str:
    """A cost for a table: "unknown" when nothing was priced, "≥ $x" when it is a lower bound
    (some calls have no known cost), never a made-up $0."""
    if value is None:
        return "unknown"
    return f"${value:,.4f}" if complete else f"≥ ${value:,.4f}"


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


# Columns that hold a fraction: every table shows them as a percent, whatever the command.
RATE_COLUMNS = frozenset({"win_rate", "error_rate"})


def percent(rate: float | None) -> str:
    """A fraction as a table shows it: one decimal of a percent ("" when unknown)."""
    return "" if rate is None else f"{rate:.1%}"


def cell_text(value: Any) -> str:
    """How one value reads in a table."""
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


def _cell(value: Any) -> Any:
    from rich.text import Text

    if isinstance(value, Styled):
        return Text(cell_text(value.value), style=value.style)
    return Text(cell_text(value))


def _column_cell(name: str, value: Any) -> Any:
    if name in RATE_COLUMNS and isinstance(value, float):
        return _cell(percent(value))
    return _cell(value)


def print_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for name in columns:
        table.add_column((headers or {}).get(name, name.replace("_", " ")))
    for row in rows:
        table.add_row(*(_column_cell(name, row.get(name)) for name in columns))
    make_console().print(table)


def print_key_values(obj: Mapping[str, Any], *, title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in obj.items():
        table.add_row(key.replace("_", " "), _cell(value))
    make_console().print(table)


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """Unicode block sparkline of `values`, resampled to at most `width` points."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - low) / span * top)] for v in values)


def one_line(text: str, width: int = 70) -> str:
    """The start of a long text on one line."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
