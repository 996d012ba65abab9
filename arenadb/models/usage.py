"""The LLM usage rollups: per model and UTC day, per model and month, per game seat.

`llm_usage_daily` holds one row per (catalog model, requested model name, day): calls, errors,
calls whose cost is unknown, the sum of every counted column of `llm_calls` (`SUMMED`), and a
latency histogram with fixed buckets. It is maintained in the same transaction as every write
and deletion of LLM calls (`arenadb.db.rollups`), so `models stats` reads a few hundred rows
instead of every call.

Keys never hold NULL (NULLs are distinct in a primary key, and ON CONFLICT could not find the
row): `model_id` 0 means "not in the catalog", and then `request_model` is the requested name
('' when there was none); for a catalog model `request_model` is ''. A call without a start or
finish time counts on `UNDATED` (1970-01-01).

Latency buckets: bucket 0 holds 0 ms, bucket i (1 <= i < LATENCY_BUCKETS - 1) holds
LATENCY_EDGES_MS[i - 1] <= latency < LATENCY_EDGES_MS[i], the last one everything from
LATENCY_EDGES_MS[-1] ms (35 minutes) up. The edges are ceil(2 ** (k / 4)) ms: each bucket is at
most 2 ** (1/4) (19%) wide, so its geometric middle is within 9.1% of any latency in it.

`llm_usage_monthly` is the same rollup a level up: one row per (model, requested name, first
day of the UTC month), the sum of that month's daily rows, so `models stats` reads a row per
model and month (a 10x arena's 625 days are 21 months). `llm_usage_seats` holds one row per
(game, seat) with calls: calls, errors, calls of unknown cost and the SUMMED sums (no
histogram), what the leaderboard's cost column and the agent page read. Calls without a seat
are in neither the seat rollup nor any agent's usage. The three levels are written by the same
code from the same deltas (`arenadb.db.rollups`).
"""

from __future__ import annotations

import math
from datetime import date

import sqlalchemy as sa

from arenadb.models.base import Base

# Adding a counted column of llm_calls to the rollup is one line here (and a migration).
SUMMED: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost",
)
FLOAT_SUMS = frozenset({"cost"})

LATENCY_EDGES_MS: tuple[int, ...] = tuple(sorted({math.ceil(2 ** (k / 4)) for k in range(85)}))
LATENCY_BUCKETS = len(LATENCY_EDGES_MS) + 1
LATENCY_COLUMNS: tuple[str, ...] = tuple(f"latency_{i:02d}" for i in range(LATENCY_BUCKETS))
# The largest relative error of a latency read from its bucket's geometric middle.
LATENCY_ERROR = 2 ** (1 / 8) - 1
UNDATED = date(1970, 1, 1)

llm_usage_daily = sa.Table(
    "llm_usage_daily",
    Base.metadata,
    sa.Column("model_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("request_model", sa.String(200), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("cost_unknown", sa.BigInteger, nullable=False),
    *(
        sa.Column(name, sa.Double if name in FLOAT_SUMS else sa.BigInteger, nullable=False)
        for name in SUMMED
    ),
    *(sa.Column(name, sa.BigInteger, nullable=False) for name in LATENCY_COLUMNS),
)


llm_usage_monthly = sa.Table(
    "llm_usage_monthly",
    Base.metadata,
    sa.Column("model_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("request_model", sa.String(200), primary_key=True),
    sa.Column("month", sa.Date, primary_key=True),
    *(sa.Column(c.name, c.type, nullable=False) for c in llm_usage_daily.c if not c.primary_key),
)

# One row per seat, not partitioned (unlike llm_calls): a row per seat is a tenth of the calls'
# rows and a few dozen bytes wide, and retention takes its rows out with the calls.
llm_usage_seats = sa.Table(
    "llm_usage_seats",
    Base.metadata,
    sa.Column(
        "game_id",
        sa.Integer,
        sa.ForeignKey("games.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("seat", sa.Integer, primary_key=True, autoincrement=False),
    *(
        sa.Column(c.name, c.type, nullable=False)
        for c in llm_usage_daily.c
        if not c.primary_key and c.name not in LATENCY_COLUMNS
    ),
)


def latency_bucket(latency_ms: int) -> int:
    """The histogram bucket of a latency in milliseconds (see the module's docstring)."""
    low, high = 0, len(LATENCY_EDGES_MS)
    while low < high:  # bisect_right, inlined: the recorder calls this once per LLM call
        middle = (low + high) // 2
        if latency_ms < LATENCY_EDGES_MS[middle]:
            high = middle
        else:
            low = middle + 1
    return low


def bucket_bounds(bucket: int) -> tuple[int, int | None]:
    """The latencies of a bucket: [low, high) in ms (high None: no upper bound)."""
    low = 0 if bucket == 0 else LATENCY_EDGES_MS[bucket - 1]
    high = LATENCY_EDGES_MS[bucket] if bucket < len(LATENCY_EDGES_MS) else None
    return low, high
