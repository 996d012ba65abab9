"""Charts drawn on the server as SVG: no script, no CDN, nothing for the browser to fetch.

Every text that came from the database goes through `escape`; numbers are formatted here. The
look (colours, fonts) is in static/style.css, by class, so no inline style is needed (the
Content-Security-Policy allows none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

LABEL_WIDTH = 200
PLOT_WIDTH = 520
ROW_HEIGHT = 22
MAX_POINTS = 600


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 5, 10)), key=lambda c: abs(math.log(c / raw)))
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _number(value: float) -> str:
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def _open(kind: str, width: float, height: float, caption: str) -> list[str]:
    """The <svg> element's start and its accessible title."""
    return [
        f'<svg class="chart {kind}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f"<title>{escape(caption)}</title>",
    ]


@dataclass(frozen=True)
class Interval:
    """One row of a forest plot: a label, an estimate and its 95% interval (None: unknown)."""

    label: str
    estimate: float
    low: float | None
    high: float | None
    provisional: bool = False
    href: str | None = None


def forest_plot(rows: Sequence[Interval], *, caption: str) -> Markup:
    """Estimates with their intervals, one row each, on one shared horizontal scale."""
    if not rows:
        return Markup("")
    values = [v for r in rows for v in (r.estimate, r.low, r.high) if v is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 10.0
    low, high = low - pad, high + pad
    height = ROW_HEIGHT * len(rows) + 40
    width = LABEL_WIDTH + PLOT_WIDTH + 20

    def x(value: float) -> float:
        return LABEL_WIDTH + (value - low) / (high - low) * PLOT_WIDTH

    parts = _open("forest", width, height, caption)
    bottom = ROW_HEIGHT * len(rows) + 8
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{x(tick):.1f}" y1="4" x2="{x(tick):.1f}" y2="{bottom}"/>'
            f'<text class="tick" x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{_number(tick)}</text>"
        )
    for i, row in enumerate(rows):
        y = ROW_HEIGHT * i + ROW_HEIGHT / 2 + 4
        label = escape(row.label)
        text = f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 4:.1f}" text-anchor="end">'
        text += f"{label}</text>"
        if row.href:
            text = f'<a href="{escape(row.href)}">{text}</a>'
        parts.append(text)
        interval = "interval unknown"
        if row.low is not None and row.high is not None:
            interval = f"95% interval {_number(row.low)} to {_number(row.high)}"
            parts.append(
                f'<line class="interval" x1="{x(row.low):.1f}" y1="{y:.1f}" '
                f'x2="{x(row.high):.1f}" y2="{y:.1f}"/>'
            )
        mark = "estimate provisional" if row.provisional else "estimate"
        parts.append(
            f'<circle class="{mark}" cx="{x(row.estimate):.1f}" cy="{y:.1f}" r="4">'
            f"<title>{label}: {_number(row.estimate)}, {interval}"
            f"{' (provisional)' if row.provisional else ''}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _downsample(values: Sequence[float], limit: int = MAX_POINTS) -> list[tuple[int, float]]:
    if len(values) <= limit:
        return list(enumerate(values))
    step = (len(values) - 1) / (limit - 1)
    return [(round(i * step), values[round(i * step)]) for i in range(limit)]


def line_chart(values: Sequence[float], *, caption: str, x_label: str) -> Markup:
    """A line over the values in order (x: their position), with a y axis."""
    if not values:
        return Markup("")
    width, height, left, top, plot_w, plot_h = 720, 240, 60, 10, 640, 190
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    last = max(len(values) - 1, 1)

    def x(index: int) -> float:
        return left + index / last * plot_w

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts = _open("line", width, height, caption)
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{_number(tick)}</text>'
        )
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in _downsample(values))
    parts.append(f'<polyline class="series" points="{points}"/>')
    parts.append(
        f'<text class="tick" x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text></svg>"
    )
    return Markup("".join(parts))


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, caption: str, unit: str = ""
) -> Markup:
    """One bar per label (a day), in order, with a y axis from zero."""
    if not values:
        return Markup("")
    width, height, left, top, plot_w, plot_h = 720, 200, 70, 10, 630, 150
    high = max(max(values), 0) or 1.0
    band = plot_w / len(values)

    def y(value: float) -> float:
        return top + (high - value) / high * plot_h

    parts = _open("bars", width, height, caption)
    for tick in _ticks(0, high, 4):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{escape(unit)}{_number(tick)}</text>'
        )
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = max(value, 0) / high * plot_h
        bar_x = left + i * band + band * 0.1
        parts.append(
            f'<rect class="bar" x="{bar_x:.1f}" y="{top + plot_h - bar_h:.1f}"'
            f' width="{max(band * 0.8, 0.5):.1f}" height="{bar_h:.1f}">'
            f"<title>{escape(label)}: {escape(unit)}{_number(value)}</title></rect>"
        )
    for index in sorted({0, len(labels) - 1}):
        anchor = "start" if index == 0 else "end"
        parts.append(
            f'<text class="tick" x="{left + (index + (index > 0)) * band:.1f}" '
            f'y="{height - 24}" text-anchor="{anchor}">{escape(labels[index])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
