"""stored_boards: Bradley-Terry boards computed in batch, read back while their games are unchanged.

Revision ID: 0011
Revises: 0010

`arenadb ratings boards` computes boards and stores them here; `agents top --method bt` returns
a stored board only while its watermark equals the current one (`arenadb.ratings.stored`). The
unified cross-game board has no game type (NULL), hence its own partial unique index. Nothing
to fill: boards are stored on demand.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL, JSON (text) elsewhere; the same type the models declare.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SETTINGS = ["rounds", "seed", "provisional_games", "interval_games"]


def upgrade() -> None:
    op.create_table(
        "stored_boards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_type_id", sa.Integer(), nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("provisional_games", sa.Integer(), nullable=False),
        sa.Column("interval_games", sa.Integer(), nullable=False),
        sa.Column("watermark", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("board", JSON, nullable=False),
        sa.CheckConstraint("rounds >= 1", name=op.f("ck_stored_boards_rounds_positive")),
        sa.CheckConstraint("seconds >= 0", name=op.f("ck_stored_boards_seconds_nonnegative")),
        sa.ForeignKeyConstraint(
            ["game_type_id"],
            ["game_types.id"],
            name=op.f("fk_stored_boards_game_type_id_game_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_boards")),
        sa.UniqueConstraint(
            "game_type_id",
            *SETTINGS,
            name=op.f("uq_stored_boards_scope_settings"),
        ),
    )
    op.create_index(
        "uq_stored_boards_unified",
        "stored_boards",
        SETTINGS,
        unique=True,
        sqlite_where=sa.text("game_type_id IS NULL"),
        postgresql_where=sa.text("game_type_id IS NULL"),
    )

    op.create_index(
        "ix_games_board_watermark",
        "games",
        ["status", "game_type_id", "rated", "environment_crashed", "outcome", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_games_board_watermark", table_name="games")
    op.drop_index("uq_stored_boards_unified", table_name="stored_boards")
    op.drop_table("stored_boards")
