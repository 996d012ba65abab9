"""LLM usage per day (UTC) and model: what `arenadb serve`'s models page draws as charts.

One GROUP BY over the calls that have a start time, so a day is the UTC date the call started.
The latency of a day is the mean of its calls' latencies (a per-day percentile would mean
sorting every call of the day; `models stats` has the exact p50/p95 over all calls).

    from arenadb.inspection.daily import daily_usage

    for day in daily_usage(engine):
        print(day.day, day.model, day.calls, day.cost)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from arenadb.models import LLMCall, LLMModel


@dataclass(frozen=True)
class DailyUsage:
    """One model's calls on one UTC day."""

    day: str  # YYYY-MM-DD
    model: str
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: float
    latency_mean_ms: float | None


def _utc_day(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    return sa.func.strftime("%Y-%m-%d", column)  # SQLite stores UTC text


def daily_usage(engine: Engine) -> list[DailyUsage]:
    """Per UTC day and model (catalog name, else the requested model name): calls, errors,
    tokens, cost and mean latency, oldest day first."""
    with engine.connect() as conn:
        day = _utc_day(LLMCall.started_at, conn.dialect.name).label("day")
        model = sa.func.coalesce(LLMModel.name, LLMCall.request_model, "(unknown)").label("model")
        rows = conn.execute(
            sa.select(
                day,
                model,
                sa.func.count().label("calls"),
                sa.func.count(sa.case((LLMCall.status != "ok", 1))).label("errors"),
                sa.func.coalesce(sa.func.sum(LLMCall.input_tokens), 0).label("input"),
                sa.func.coalesce(sa.func.sum(LLMCall.output_tokens), 0).label("output"),
                sa.func.coalesce(sa.func.sum(LLMCall.cost), 0).label("cost"),
                sa.func.avg(LLMCall.latency_ms).label("latency"),
            )
            .outerjoin(LLMModel, LLMModel.id == LLMCall.model_id)
            .where(LLMCall.started_at.is_not(None))
            .group_by(day, model)
            .order_by(day, model)
        ).all()
    return [
        DailyUsage(
            day=str(r.day),
            model=str(r.model),
            calls=int(r.calls),
            errors=int(r.errors),
            input_tokens=int(r.input),
            output_tokens=int(r.output),
            cost=float(r.cost),
            latency_mean_ms=None if r.latency is None else float(r.latency),
        )
        for r in rows
    ]
