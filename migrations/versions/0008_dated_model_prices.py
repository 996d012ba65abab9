"""Dated model prices (input, output, cache read, cache write, reasoning) and the response id.

Revision ID: 0008
Revises: 0007

A call is priced at the price of its day: `model_prices` holds each model's prices per million
tokens from an effective day on. Today's per-model prices (`llm_models.input_price_per_mtok`,
`output_price_per_mtok`) are copied into it as prices effective from the beginning
(1970-01-01), so every call already recorded keeps the price it was costed at. `llm_calls`
gains `response_id`, the provider's id of the response.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")


def upgrade() -> None:
    op.create_table(
        "model_prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        *(sa.Column(f"{kind}_per_mtok", sa.Double(), nullable=True) for kind in KINDS),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        *(
            sa.CheckConstraint(
                f"{kind}_per_mtok IS NULL OR {kind}_per_mtok >= 0",
                name=op.f(f"ck_model_prices_{kind}_price"),
            )
            for kind in KINDS
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["llm_models.id"],
            name=op.f("fk_model_prices_model_id_llm_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_prices")),
        sa.UniqueConstraint(
            "model_id", "effective_from", name=op.f("uq_model_prices_model_id_effective_from")
        ),
    )
    op.execute(
        "INSERT INTO model_prices (model_id, effective_from, input_per_mtok, output_per_mtok) "
        "SELECT id, DATE '1970-01-01', input_price_per_mtok, output_price_per_mtok "
        "FROM llm_models "
        "WHERE input_price_per_mtok IS NOT NULL OR output_price_per_mtok IS NOT NULL"
        if op.get_context().dialect.name == "postgresql"
        else "INSERT INTO model_prices (model_id, effective_from, input_per_mtok, "
        "output_per_mtok) SELECT id, '1970-01-01', input_price_per_mtok, output_price_per_mtok "
        "FROM llm_models "
        "WHERE input_price_per_mtok IS NOT NULL OR output_price_per_mtok IS NOT NULL"
    )
    # A plain ADD / DROP COLUMN (SQLite has both since 3.35): no table copy, and offline SQL
    # (`arenadb migrate sql`) needs no live database to reflect.
    op.add_column("llm_calls", sa.Column("response_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("llm_calls", "response_id")
    op.drop_table("model_prices")
