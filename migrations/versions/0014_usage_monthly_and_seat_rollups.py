"""Usage rollups a level up and a level down: `llm_usage_monthly` and `llm_usage_seats`.

Revision ID: 0014
Revises: 0013

`models stats` summed every daily row (625 days x 5 models at 10x: 13.5 ms, growing with the
days); it now sums the months. The Bradley-Terry board's cost column summed every LLM call of
its pool's games (minutes at 10x); it and the agent page now read a row per game seat. arenadb
keeps both tables in the transaction of every write and deletion of calls, from the same deltas
as the daily rollup (`arenadb.db.rollups`). The upgrade fills them with one INSERT ... SELECT
each: the seats from the calls, the months from the daily rollup (kept exact since 0006, a few
thousand rows instead of every call; a daily rollup changed behind arenadb's back is what `db
check` reports and `models rollup rebuild` mends, every level at once). The columns are frozen
here as they were at this revision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
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
COUNTED = ["calls", "errors", "cost_unknown", *SUMMED]


def _counted(names: Sequence[str]) -> list[sa.Column]:
    return [
        sa.Column(name, sa.Double() if name == "cost" else sa.BigInteger(), nullable=False)
        for name in names
    ]


def upgrade() -> None:
    op.create_table(
        "llm_usage_monthly",
        sa.Column("model_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("request_model", sa.String(200), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *_counted([*COUNTED, *BUCKETS]),
        sa.PrimaryKeyConstraint("model_id", "request_model", "month", name="pk_llm_usage_monthly"),
    )
    op.create_table(
        "llm_usage_seats",
        sa.Column("game_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seat", sa.Integer(), autoincrement=False, nullable=False),
        *_counted(COUNTED),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name="fk_llm_usage_seats_game_id_games",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("game_id", "seat", name="pk_llm_usage_seats"),
    )
    postgresql = op.get_context().dialect.name == "postgresql"
    month = "CAST(date_trunc('month', day) AS DATE)" if postgresql else "substr(day, 1, 8) || '01'"
    summed = [*COUNTED, *BUCKETS]
    op.execute(
        f"INSERT INTO llm_usage_monthly (model_id, request_model, month, {', '.join(summed)}) "
        f"SELECT model_id, request_model, {month}, "
        + ", ".join(f"sum({name})" for name in summed)
        + " FROM llm_usage_daily GROUP BY 1, 2, 3"
    )
    op.execute(
        f"INSERT INTO llm_usage_seats (game_id, seat, {', '.join(COUNTED)}) "
        "SELECT game_id, seat, count(*), count(CASE WHEN status <> 'ok' THEN 1 END), "
        "count(*) - count(cost), "
        + ", ".join(f"coalesce(sum({name}), {'0.0' if name == 'cost' else '0'})" for name in SUMMED)
        + " FROM llm_calls WHERE seat IS NOT NULL GROUP BY game_id, seat"
    )


def downgrade() -> None:
    op.drop_table("llm_usage_seats")
    op.drop_table("llm_usage_monthly")
