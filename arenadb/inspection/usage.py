"""LLM usage: per model over every call (`models stats`), and per game and seat (`game info`).

`models_stats` reads the whole `llm_calls` table by nature; a game's usage reads its calls only.

    from arenadb.inspection.usage import models_stats
    for model in models_stats(engine):
        print(model.model, model.calls, model.cost, model.latency_p95_ms)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.models import LLMCall, LLMModel


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile of already sorted values, as SQL's percentile_cont.

    >>> percentile([10, 20, 30, 40], 0.5)
    25.0
    """
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return float(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low))


@dataclass
class Usage:
    """LLM calls summed: counts, tokens, cost, sorted latencies, the last error."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # The sum of the known costs; None when no call has one. A lower bound unless
    # `cost_complete` (every call has a cost), as on the leaderboard (ratings/board.py).
    cost: float | None = None
    priced_calls: int = 0
    latencies: list[int] = field(default_factory=list)
    last_error_id: int = 0
    last_error: str | None = None

    @property
    def cost_complete(self) -> bool:
        return self.priced_calls == self.calls

    def add(self, call: Any) -> None:
        self.calls += 1
        self.input_tokens += call.input_tokens or 0
        self.output_tokens += call.output_tokens or 0
        self.reasoning_tokens += call.reasoning_tokens or 0
        self.cache_read_tokens += call.cache_read_tokens or 0
        self.cache_write_tokens += call.cache_write_tokens or 0
        if call.cost is not None:
            self.cost = (self.cost or 0.0) + call.cost
            self.priced_calls += 1
        if call.latency_ms is not None:
            self.latencies.append(call.latency_ms)
        if call.status != "ok":
            self.errors += 1
            if call.id > self.last_error_id:
                self.last_error_id, self.last_error = call.id, call.error


def game_usage(conn: Connection, game_id: int) -> tuple[Usage, dict[int, Usage]]:
    """LLM usage of a game, in total and per seat, from one read of its calls.

    Summed in Python rather than by three GROUP BY / percentile / last-error queries: one round
    trip instead of three, and a game has at most a few thousand calls.
    """
    total = Usage()
    per_seat: dict[int, Usage] = {}
    calls = conn.execute(
        sa.select(
            LLMCall.id,
            LLMCall.seat,
            LLMCall.status,
            LLMCall.latency_ms,
            LLMCall.input_tokens,
            LLMCall.output_tokens,
            LLMCall.reasoning_tokens,
            LLMCall.cache_read_tokens,
            LLMCall.cache_write_tokens,
            LLMCall.cost,
            sa.case((LLMCall.status != "ok", LLMCall.error)).label("error"),
        ).where(LLMCall.game_id == game_id)
    )
    for call in calls:
        total.add(call)
        if call.seat is not None:
            per_seat.setdefault(call.seat, Usage()).add(call)
    total.latencies.sort()
    return total, per_seat


# --------------------------------------------------------------------------- models


@dataclass
class ModelStats:
    """Usage of one LLM model over every recorded call."""

    id: int | None
    model: str
    provider: str | None
    active: bool | None
    calls: int
    errors: int
    error_rate: float | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    # None: no call has a known cost; a lower bound unless cost_complete.
    cost: float | None
    cost_complete: bool
    latency_p50_ms: float | None
    latency_p95_ms: float | None


def models_stats(engine: Engine) -> list[ModelStats]:
    """Per model: calls, tokens, cost, error rate and latency p50/p95, over all LLM calls.

    Calls whose model is not in the catalog are grouped by the model name they requested.
    This reads every LLM call; percentiles are exact and interpolated like `percentile_cont`
    (computed by PostgreSQL; in Python on SQLite, which lacks it).
    """
    # A group is a catalog model, or, for calls without one, the requested model name.
    unlisted = sa.case((LLMCall.model_id.is_(None), LLMCall.request_model))
    with engine.connect() as conn:
        postgresql = conn.dialect.name == "postgresql"
        percentiles: list[Any] = []
        if postgresql:
            percentiles = [
                sa.func.percentile_cont(fraction)
                .within_group(LLMCall.latency_ms)
                .label(f"p{int(fraction * 100)}")
                for fraction in (0.5, 0.95)
            ]
        totals = conn.execute(
            sa.select(
                LLMCall.model_id,
                unlisted.label("unlisted"),
                sa.func.count().label("calls"),
                sa.func.count(sa.case((LLMCall.status != "ok", 1))).label("errors"),
                sa.func.coalesce(sa.func.sum(LLMCall.input_tokens), 0).label("input"),
                sa.func.coalesce(sa.func.sum(LLMCall.output_tokens), 0).label("output"),
                sa.func.coalesce(sa.func.sum(LLMCall.reasoning_tokens), 0).label("reasoning"),
                sa.func.sum(LLMCall.cost).label("cost"),
                sa.func.count(LLMCall.cost).label("priced"),
                *percentiles,
            ).group_by(LLMCall.model_id, unlisted)
        ).all()
        latency: dict[tuple[Any, Any], tuple[float | None, float | None]] = {}
        if postgresql:
            latency = {(r.model_id, r.unlisted): (_float(r.p50), _float(r.p95)) for r in totals}
        else:
            latency = _sqlite_percentiles(conn, unlisted)
        catalog = {
            r.id: r
            for r in conn.execute(
                sa.select(LLMModel.id, LLMModel.name, LLMModel.provider, LLMModel.active)
            )
        }
    stats: list[ModelStats] = []
    seen: set[int] = set()
    for r in totals:
        model = catalog.get(r.model_id) if r.model_id is not None else None
        if model is not None:
            seen.add(model.id)
        p50, p95 = latency.get((r.model_id, r.unlisted), (None, None))
        calls = int(r.calls)
        stats.append(
            ModelStats(
                id=r.model_id,
                model=model.name if model is not None else (r.unlisted or "(unknown)"),
                provider=model.provider if model is not None else None,
                active=bool(model.active) if model is not None else None,
                calls=calls,
                errors=int(r.errors),
                error_rate=int(r.errors) / calls if calls else None,
                input_tokens=int(r.input),
                output_tokens=int(r.output),
                reasoning_tokens=int(r.reasoning),
                cost=float(r.cost) if r.priced else None,
                cost_complete=int(r.priced) == calls,
                latency_p50_ms=p50,
                latency_p95_ms=p95,
            )
        )
    for model in catalog.values():
        if model.id not in seen:
            stats.append(
                ModelStats(
                    id=model.id,
                    model=model.name,
                    provider=model.provider,
                    active=bool(model.active),
                    calls=0,
                    errors=0,
                    error_rate=None,
                    input_tokens=0,
                    output_tokens=0,
                    reasoning_tokens=0,
                    cost=0.0,  # no call: nothing spent, and that is known
                    cost_complete=True,
                    latency_p50_ms=None,
                    latency_p95_ms=None,
                )
            )
    stats.sort(key=lambda s: (-s.calls, s.model))
    return stats


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sqlite_percentiles(
    conn: Connection, unlisted: Any
) -> dict[tuple[Any, Any], tuple[float | None, float | None]]:
    """p50 and p95 per group, computed in Python from the latencies (SQLite has no
    percentile_cont; this measured faster than ranking every row with window functions)."""
    by_group: dict[tuple[Any, Any], list[float]] = {}
    for model_id, name, latency in conn.execute(
        sa.select(LLMCall.model_id, unlisted, LLMCall.latency_ms).where(
            LLMCall.latency_ms.is_not(None)
        )
    ):
        by_group.setdefault((model_id, name), []).append(latency)
    result: dict[tuple[Any, Any], tuple[float | None, float | None]] = {}
    for key, values in by_group.items():
        values.sort()
        result[key] = (percentile(values, 0.5), percentile(values, 0.95))
    return result
