"""LLM usage: per model over every call (`models stats`), per game and seat (`game info`), per
agent and game type (`agent info`, from the seat rollup).

`models_stats` reads the usage rollup (`llm_usage_monthly`, a row per model and month, kept in the
transaction of every write of calls): exact totals, and latency percentiles from its histogram,
within `latency_error` (9.1%) of the exact ones. `exact=True` reads every call instead (exact
percentiles, a time growing with the table). A game's usage reads its calls only.

    from arenadb.inspection.usage import models_stats
    for model in models_stats(engine):
        print(model.model, model.calls, model.cost, model.latency_p95_ms, model.latency_error)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from arenadb.models import Game, GamePlayer, GameType, LLMCall, LLMModel
from arenadb.models.usage import (
    LATENCY_COLUMNS,
    LATENCY_ERROR,
    SUMMED,
    bucket_bounds,
    llm_usage_monthly,
    llm_usage_seats,
)


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
class Counted:
    """The counts and token sums every usage total holds (a game's, a seat's, an agent's)."""

    calls: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass
class Usage(Counted):
    """LLM calls summed: counts, tokens, cost, sorted latencies, the last error."""

    # The sum of the known costs; None when no call has one. A lower bound unless
    # `cost_complete` (every call has a cost), as on the leaderboard (ratings/board.py).
    cost: float | None = None
    priced_calls: int = 0
    latencies: list[int] = field(default_factory=list)
    last_error_id: int = 0
    last_error: str | None = None

    @property
    def cost_complete(self) -> bool:
        # No call logged is an unknown cost, not a complete $0 (as for a seat, or an agent on
        # the leaderboard).
        return self.calls > 0 and self.priced_calls == self.calls

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


def game_usage(conn: Connection, game_id: int) -> Usage:
    """LLM usage of a game, from one read of its calls (per seat: `game_parts.read_seats`).

    Summed in Python rather than by three GROUP BY / percentile / last-error queries: one round
    trip instead of three, and a game has at most a few thousand calls.
    """
    total = Usage()
    calls = conn.execute(
        sa.select(
            LLMCall.id,
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
    total.latencies.sort()
    return total


# --------------------------------------------------------------------------- agents


@dataclass
class AgentUsage(Counted):
    """An agent's LLM usage in one game type (`game_type` None: every type), from the seat
    rollup. `cost` sums the known costs (None: none known); `cost_complete`: every call priced
    and a call logged in every game (as on the leaderboard), else the sum is a lower bound."""

    game_type: str | None = None
    games: int = 0  # games the agent sat in
    logged_games: int = 0  # of which with an LLM call of one of its seats
    cost: float | None = None
    cost_unknown: int = 0  # calls without a cost
    cost_complete: bool = False

    def add(self, row: Any) -> None:
        self.calls += row.calls
        self.errors += row.errors
        self.cost_unknown += row.cost_unknown
        for name in SUMMED:
            if name != "cost":
                setattr(self, name, getattr(self, name) + int(row._mapping[name]))
        if row.cost_unknown < row.calls:
            self.cost = (self.cost or 0.0) + float(row.cost)


def agent_usage(conn: Connection, agent_id: int) -> tuple[list[AgentUsage], AgentUsage]:
    """An agent's usage per game type (by env id) and in total: one read of its seats (a row
    each) and their rows of the seat rollup."""
    seats = llm_usage_seats.c
    players = cast(sa.Table, GamePlayer.__table__).c
    rows = conn.execute(
        sa.select(
            players.game_id,
            GameType.env_id,
            seats.calls,
            *(seats[name] for name in ("errors", "cost_unknown", *SUMMED)),
        )
        .select_from(GamePlayer.__table__)
        .join(Game, Game.id == players.game_id)
        .join(GameType, GameType.id == Game.game_type_id)
        .outerjoin(
            llm_usage_seats,
            sa.and_(seats.game_id == players.game_id, seats.seat == players.seat),
        )
        .where(players.agent_id == agent_id)
    )
    games: dict[str | None, set[int]] = {}
    logged: dict[str | None, set[int]] = {}
    usage: dict[str | None, AgentUsage] = {}
    for row in rows:
        for game_type in (row.env_id, None):
            games.setdefault(game_type, set()).add(row.game_id)
            total = usage.setdefault(game_type, AgentUsage(game_type=game_type))
            if row.calls:
                logged.setdefault(game_type, set()).add(row.game_id)
                total.add(row)
    for game_type, total in usage.items():
        total.games = len(games[game_type])
        total.logged_games = len(logged.get(game_type, ()))
        total.cost_complete = (
            total.calls > 0 and total.cost_unknown == 0 and total.logged_games >= total.games
        )
    overall = usage.pop(None, AgentUsage())
    return sorted(usage.values(), key=lambda u: str(u.game_type)), overall


# --------------------------------------------------------------------------- models


@dataclass
class ModelStats:
    """Usage of one LLM model over every recorded call.

    `cost` sums the calls whose cost is known (None: no call of the model has one);
    `cost_unknown` counts the others, so a partial sum is never taken for the whole.
    `latency_error`: the largest relative error of the percentiles (0.0: exact)."""

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
    cache_read_tokens: int
    cache_write_tokens: int
    # None: no call has a known cost; a lower bound unless cost_complete.
    cost: float | None
    cost_unknown: int  # calls without a cost
    cost_complete: bool
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_error: float


@dataclass
class _Group:
    """One group's totals, before the catalog names it."""

    model_id: int | None
    unlisted: str | None
    calls: int
    errors: int
    cost_unknown: int
    sums: dict[str, Any]
    p50: float | None
    p95: float | None


def models_stats(engine: Engine, *, exact: bool = False) -> list[ModelStats]:
    """Per model: calls, tokens, cost, error rate and latency p50/p95, over all LLM calls.

    Calls whose model is not in the catalog are grouped by the model name they requested.
    Read from the usage rollup: totals exact, percentiles from its latency histogram (within
    `LATENCY_ERROR`). `exact`: read every call, percentiles interpolated like
    `percentile_cont` (computed by PostgreSQL; in Python on SQLite, which lacks it).
    """
    with engine.connect() as conn:
        groups = _scanned_groups(conn) if exact else _rolled_up_groups(conn)
        catalog = {
            r.id: r
            for r in conn.execute(
                sa.select(LLMModel.id, LLMModel.name, LLMModel.provider, LLMModel.active)
            )
        }
    error = 0.0 if exact else LATENCY_ERROR
    stats: list[ModelStats] = []
    seen: set[int] = set()
    for g in groups:
        model = catalog.get(g.model_id) if g.model_id is not None else None
        if model is not None:
            seen.add(model.id)
        stats.append(
            ModelStats(
                id=g.model_id,
                model=model.name if model is not None else (g.unlisted or "(unknown)"),
                provider=model.provider if model is not None else None,
                active=bool(model.active) if model is not None else None,
                calls=g.calls,
                errors=g.errors,
                error_rate=g.errors / g.calls if g.calls else None,
                input_tokens=int(g.sums["input_tokens"]),
                output_tokens=int(g.sums["output_tokens"]),
                reasoning_tokens=int(g.sums["reasoning_tokens"]),
                cache_read_tokens=int(g.sums["cache_read_tokens"]),
                cache_write_tokens=int(g.sums["cache_write_tokens"]),
                cost=float(g.sums["cost"]) if g.cost_unknown < g.calls else None,
                cost_unknown=g.cost_unknown,
                cost_complete=g.cost_unknown == 0,
                latency_p50_ms=g.p50,
                latency_p95_ms=g.p95,
                latency_error=error,
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
                    cache_read_tokens=0,
                    cache_write_tokens=0,
                    cost=0.0,  # no call: nothing spent, and that is known
                    cost_unknown=0,
                    cost_complete=True,
                    latency_p50_ms=None,
                    latency_p95_ms=None,
                    latency_error=error,
                )
            )
    stats.sort(key=lambda s: (-s.calls, s.model))
    return stats


@cache
def _rollup_totals() -> sa.Select[Any]:
    """Built once: constructing ninety sum() expressions cost more than running them."""
    t = llm_usage_monthly.c
    return sa.select(
        t.model_id,
        t.request_model,
        *(sa.func.sum(t[name]).label(name) for name in _ROLLED_UP),
    ).group_by(t.model_id, t.request_model)


def _rolled_up_groups(conn: Connection) -> list[_Group]:
    """Groups from the rollup: a sum over each model's months (a few dozen rows)."""
    rows = conn.execute(_rollup_totals())
    groups = []
    for r in rows:
        m = r._mapping
        histogram = [int(m[name]) for name in LATENCY_COLUMNS]
        groups.append(
            _Group(
                model_id=r.model_id or None,
                unlisted=None if r.model_id else r.request_model,
                calls=int(m["calls"]),
                errors=int(m["errors"]),
                cost_unknown=int(m["cost_unknown"]),
                sums={name: m[name] for name in SUMMED},
                p50=histogram_percentile(histogram, 0.5),
                p95=histogram_percentile(histogram, 0.95),
            )
        )
    return groups


_ROLLED_UP = ("calls", "errors", "cost_unknown", *SUMMED, *LATENCY_COLUMNS)


def histogram_percentile(counts: Sequence[int], fraction: float) -> float | None:
    """A percentile read from latency bucket counts, interpolated between ranks as
    `percentile` is; each rank's latency is its bucket's geometric middle (within
    LATENCY_ERROR of any latency in the bucket).

    >>> counts = [0] * 81; counts[40] = 3
    >>> round(histogram_percentile(counts, 0.5))
    2233
    """
    total = sum(counts)
    if total == 0:
        return None
    position = fraction * (total - 1)
    low = math.floor(position)
    high = min(low + 1, total - 1)
    at_low, at_high = _value_at_rank(counts, low), _value_at_rank(counts, high)
    return at_low + (at_high - at_low) * (position - low)


def _value_at_rank(counts: Sequence[int], rank: int) -> float:
    seen = 0
    for bucket, count in enumerate(counts):
        seen += count
        if rank < seen:
            return bucket_middle(bucket)
    raise AssertionError("rank past the histogram")  # pragma: no cover


def bucket_middle(bucket: int) -> float:
    """The geometric middle of a bucket's whole milliseconds (its low edge for the last one)."""
    low, high = bucket_bounds(bucket)
    if high is None or low == 0:
        return float(low)
    return math.sqrt(low * (high - 1))


def _scanned_groups(conn: Connection) -> list[_Group]:
    """Groups from every call: the same key as the rollup's (a catalog model, or for calls
    without one the requested model name)."""
    unlisted = sa.case((LLMCall.model_id.is_(None), sa.func.coalesce(LLMCall.request_model, "")))
    postgresql = conn.dialect.name == "postgresql"
    percentiles: list[Any] = []
    if postgresql:
        percentiles = [
            sa.func.percentile_cont(fraction)
            .within_group(LLMCall.latency_ms)
            .label(f"p{int(fraction * 100)}")
            for fraction in (0.5, 0.95)
        ]
    calls = cast(sa.Table, LLMCall.__table__).c
    totals = conn.execute(
        sa.select(
            LLMCall.model_id,
            unlisted.label("unlisted"),
            sa.func.count().label("calls"),
            sa.func.count(sa.case((LLMCall.status != "ok", 1))).label("errors"),
            (sa.func.count() - sa.func.count(LLMCall.cost)).label("cost_unknown"),
            *(sa.func.coalesce(sa.func.sum(calls[name]), 0).label(name) for name in SUMMED),
            *percentiles,
        ).group_by(LLMCall.model_id, unlisted)
    ).all()
    if postgresql:
        latency = {(r.model_id, r.unlisted): (_float(r.p50), _float(r.p95)) for r in totals}
    else:
        latency = _sqlite_percentiles(conn, unlisted)
    groups = []
    for r in totals:
        p50, p95 = latency.get((r.model_id, r.unlisted), (None, None))
        groups.append(
            _Group(
                model_id=r.model_id,
                unlisted=r.unlisted,
                calls=int(r.calls),
                errors=int(r.errors),
                cost_unknown=int(r.cost_unknown),
                sums={name: r._mapping[name] for name in SUMMED},
                p50=p50,
                p95=p95,
            )
        )
    return groups


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
