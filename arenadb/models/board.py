"""Bradley-Terry boards computed in batch (`arenadb ratings boards`) and stored for fast reads.

A stored board is only ever read back while its `watermark` equals the watermark of the games
it was computed from (`arenadb.ratings.stored`): a board is never shown stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from arenadb.models.base import Base, UTCDateTime
from arenadb.models.catalog import GameType


class StoredBoard(Base):
    """One board, untrimmed (every agent), for one scope and the settings that shape it.

    The scope is a game type, or the unified cross-game board (`game_type_id` NULL). `min_games`
    and `limit` only trim what is shown, so they are applied on read and are not part of the key.
    """

    __tablename__ = "stored_boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_type_id: Mapped[int | None] = mapped_column(sa.ForeignKey(GameType.id, ondelete="CASCADE"))
    rounds: Mapped[int]
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    provisional_games: Mapped[int]
    interval_games: Mapped[int]
    watermark: Mapped[str] = mapped_column(sa.Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seconds: Mapped[float]
    board: Mapped[dict[str, Any]]

    __table_args__ = (
        # Named here: the naming convention's name (every column) is over PostgreSQL's 63.
        sa.UniqueConstraint(
            "game_type_id",
            "rounds",
            "seed",
            "provisional_games",
            "interval_games",
            name=sa.schema.conv("uq_stored_boards_scope_settings"),
        ),
        # NULLs are distinct in a UNIQUE constraint, so the unified board needs its own index.
        sa.Index(
            "uq_stored_boards_unified",
            "rounds",
            "seed",
            "provisional_games",
            "interval_games",
            unique=True,
            sqlite_where=sa.text("game_type_id IS NULL"),
            postgresql_where=sa.text("game_type_id IS NULL"),
        ),
        sa.CheckConstraint("rounds >= 1", name="rounds_positive"),
        sa.CheckConstraint("seconds >= 0", name="seconds_nonnegative"),
    )


class RatedPool(Base):
    """Per game type, the games that count for ratings (`counts_for_ratings`): how many, the sum
    of their ids, and a version raised by every change of that set. Kept by triggers on `games`
    (migration 0015), so a stored board's watermark is one row read (`arenadb.ratings.board_store`).
    """

    __tablename__ = "rated_pools"

    game_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey(GameType.id, ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    games: Mapped[int] = mapped_column(sa.BigInteger)
    id_sum: Mapped[int] = mapped_column(sa.BigInteger)
    version: Mapped[int] = mapped_column(sa.BigInteger)
