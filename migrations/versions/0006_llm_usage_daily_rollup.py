"""LLM usage rollup: `llm_usage_daily`, per model and UTC day, filled from the existing calls.

Revision ID: 0006
Revises: 0005

`models stats` read every LLM call (2.0 s on SQLite at 657k calls, growing linearly); it now
reads this table, which arenadb keeps in the transaction of every write and deletion of calls
(`arenadb.db.rollups`, described in `arenadb.models.usage`). The upgrade fills it from the calls
already there with one INSERT ... SELECT (offline SQL too); `arenadb models rollup rebuild` does
the same later. The columns and the latency buckets are frozen here as they were at this
revision: a later counted column comes with its own revision.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMED = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost",
)
EDGES = sorted({math.ceil(2 ** (k / 4)) for k in range(85)})
BUCKETS = [f"latency_{i:02d}" for i in range(len(EDGES) + 1)]


def upgrade() -> None:
    op.create_table(
        "llm_usage_daily",
        sa.Column("model_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("request_model", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("cost_unknown", sa.BigInteger(), nullable=False),
        *(
            sa.Column(name, sa.Double() if name == "cost" else sa.BigInteger(), nullable=False)
            for name in SUMMED
        ),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in BUCKETS),
        sa.PrimaryKeyConstraint("model_id", "request_model", "day", name="pk_llm_usage_daily"),
    )
    postgresql = op.get_context().dialect.name == "postgresql"
    when = "coalesce(started_at, finished_at)"
    day = (
        f"coalesce(CAST(timezone('UTC', {when}) AS DATE), DATE '1970-01-01')"
        if postgresql
        else f"coalesce(substr({when}, 1, 10), '1970-01-01')"
    )
    bounds = [(0, 1), *itertools.pairwise(EDGES), (EDGES[-1], None)]
    histogram = [
        f"sum(CASE WHEN latency_ms >= {low}"
        + ("" if high is None else f" AND latency_ms < {high}")
        + " THEN 1 ELSE 0 END)"
        for low, high in bounds
    ]
    columns = ["model_id", "request_model", "day", "calls", "errors", "cost_unknown"]
    op.execute(
        f"INSERT INTO llm_usage_daily ({', '.join([*columns, *SUMMED, *BUCKETS])}) "
        "SELECT coalesce(model_id, 0), "
        "CASE WHEN model_id IS NULL THEN coalesce(request_model, '') ELSE '' END, "
        f"{day}, count(*), count(CASE WHEN status <> 'ok' THEN 1 END), "
        "count(*) - count(cost), "
        + ", ".join(f"coalesce(sum({name}), {'0.0' if name == 'cost' else '0'})" for name in SUMMED)
        + ", "
        + ", ".join(histogram)
        + " FROM llm_calls GROUP BY 1, 2, 3"
    )


def downgrade() -> None:
    op.drop_table("llm_usage_daily")
