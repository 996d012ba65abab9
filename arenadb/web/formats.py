"""Jinja2 filters: how numbers, times and results read on a page (as in the CLI's tables)."""

from __future__ import annotations

from typing import Any

from arenadb.cli.render.games import format_duration, format_result, format_time
from arenadb.cli.render.tables import money, percent


def number(value: float | int | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:+.{digits}f}"


def result(game: Any) -> str:
    return format_result(getattr(game, "outcome", None), getattr(game, "winning_side", None))


FILTERS = {
    "number": number,
    "money": money,
    "percent": percent,
    "signed": signed,
    "duration": format_duration,
    "time": format_time,
    "result": result,
}
