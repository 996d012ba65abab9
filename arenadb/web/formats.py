"""Jinja2 filters: how numbers, times and results read on a page (as in the CLI's tables)."""

from __future__ import annotations

from typing import Any

from arenadb.cli.render.games import format_duration, format_result, format_time


def number(value: float | int | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def money(value: float | None, complete: bool = True) -> str:
    """`$0.0123`; a lower bound (unpriced calls) reads `≥ $0.0123`; unknown is empty."""
    if value is None:
        return ""
    return f"{'' if complete else '≥ '}${value:,.4f}"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


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
