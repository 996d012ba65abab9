"""A played game and everything recorded during it: seats, turns, actions, LLM calls, snapshots.

Turns are keyed by (game_id, seq), where `seq` is the recorder's own running number within the
game. Child rows (actions, LLM calls) point at that composite key, so a whole batch of a game's
rows can be written with executemany / COPY without first reading generated ids back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from arenadb.models.base import Base, UTCDateTime, check_in, created_at_column, never_reused_ids
from arenadb.models.catalog import Agent, GameType, LLMModel

GAME_STATUSES = ("queued", "running", "completed", "failed", "aborted")
FINISHED_STATUSES = ("completed", "failed", "aborted")
GAME_OUTCOMES = ("win", "draw", "no_contest")
LLM_CALL_STATUSES = ("ok", "error", "timeout")
SNAPSHOT_KINDS = ("periodic", "manual", "critical", "final")
# Who saw a turn: every seat, the seats in `recipients`, or no seat (the environment's own record).
TURN_VISIBILITIES = ("public", "private", "system")


class Game(Base):
    __tablename__ = "games"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    game_type_id: Mapped[int] = mapped_column(
        sa.ForeignKey("game_types.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(20), default="queued", server_default="queued")
    seed: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(20))
    winning_side: Mapped[str | None] = mapped_column(sa.String(100))
    end_reason: Mapped[str | None] = mapped_column(sa.Text)
    environment_crashed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    error: Mapped[str | None] = mapped_column(sa.Text)
    rated: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    info: Mapped[dict[str, Any] | None]

    game_type: Mapped[GameType] = relationship()
    players: Mapped[list[GamePlayer]] = relationship(
        back_populates="game",
        order_by="GamePlayer.seat",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    turns: Mapped[list[GameTurn]] = relationship(
        back_populates="game",
        order_by="GameTurn.seq",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    snapshots: Mapped[list[GameSnapshot]] = relationship(
        back_populates="game",
        order_by="GameSnapshot.turn",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        sa.CheckConstraint(check_in("status", GAME_STATUSES), name="status"),
        sa.CheckConstraint(
            "outcome IS NULL OR " + check_in("outcome", GAME_OUTCOMES), name="outcome"
        ),
        sa.CheckConstraint(
            "finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at",
            name="finished_after_started",
        ),
        # Newest games, optionally by status: the first question of every inspection.
        sa.Index("ix_games_status_id", "status", "id"),
        # The watermark of the stored boards (arenadb.ratings.board_store): the games that
        # count for ratings, per game type, read from the index alone.
        sa.Index(
            "ix_games_board_watermark",
            "status",
            "game_type_id",
            "rated",
            "environment_crashed",
            "outcome",
            "id",
        ),
        never_reused_ids(),
    )


class GamePlayer(Base):
    """A seat in a game, taken by an agent."""

    __tablename__ = "game_players"

    game_id: Mapped[int] = mapped_column(
        sa.ForeignKey("games.id", ondelete="CASCADE"), primary_key=True
    )
    seat: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id", ondelete="RESTRICT"))
    side: Mapped[str | None] = mapped_column(sa.String(100))
    role: Mapped[str | None] = mapped_column(sa.String(100))
    reward: Mapped[float | None]
    rank: Mapped[int | None]
    eliminated_turn: Mapped[int | None]
    invalid_moves: Mapped[int] = mapped_column(default=0, server_default="0")
    info: Mapped[dict[str, Any] | None]

    game: Mapped[Game] = relationship(back_populates="players")
    agent: Mapped[Agent] = relationship()

    __table_args__ = (
        sa.CheckConstraint("seat >= 0", name="seat_nonnegative"),
        sa.CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
        sa.CheckConstraint("invalid_moves >= 0", name="invalid_moves_nonnegative"),
        # An agent's games, newest first.
        sa.Index("ix_game_players_agent_id_game_id", "agent_id", "game_id"),
    )


class GameTurn(Base):
    """One step of a game: who acted (seat, or none for an environment step), what they saw/did."""

    __tablename__ = "game_turns"

    game_id: Mapped[int] = mapped_column(
        sa.ForeignKey("games.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    turn_number: Mapped[int]
    phase: Mapped[str | None] = mapped_column(sa.String(100))
    seat: Mapped[int | None]
    observation: Mapped[str | None] = mapped_column(sa.Text)
    action: Mapped[str | None] = mapped_column(sa.Text)
    valid: Mapped[bool | None]
    state_hash: Mapped[str | None] = mapped_column(sa.String(64))
    latency_ms: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    visibility: Mapped[str] = mapped_column(
        sa.String(20), default="public", server_default="public"
    )
    # The seats a private turn was shown to (a JSON list of seat numbers); NULL otherwise.
    recipients: Mapped[list[Any] | None]
    invalid_reason: Mapped[str | None] = mapped_column(sa.Text)

    game: Mapped[Game] = relationship(back_populates="turns")
    actions: Mapped[list[PlayerAction]] = relationship(
        back_populates="turn",
        order_by="PlayerAction.idx",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    llm_calls: Mapped[list[LLMCall]] = relationship(
        back_populates="turn",
        order_by="LLMCall.id",
        viewonly=True,
    )

    __table_args__ = (
        # A seat that acts must be a seat of the game (NULL seat: an environment step).
        sa.ForeignKeyConstraint(
            ["game_id", "seat"],
            ["game_players.game_id", "game_players.seat"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("seq >= 0", name="seq_nonnegative"),
        sa.CheckConstraint("turn_number >= 0", name="turn_number_nonnegative"),
        sa.CheckConstraint("latency_ms IS NULL OR latency_ms >= 0", name="latency_nonnegative"),
        sa.CheckConstraint(check_in("visibility", TURN_VISIBILITIES), name="visibility"),
        sa.Index("ix_game_turns_game_id_seat", "game_id", "seat"),
    )


class PlayerAction(Base):
    """One of possibly many actions a seat takes in a turn (4X: move, build, research, ...)."""

    __tablename__ = "player_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int]
    turn_seq: Mapped[int]
    idx: Mapped[int] = mapped_column(default=0, server_default="0")
    seat: Mapped[int | None]
    action_type: Mapped[str] = mapped_column(sa.String(100))
    payload: Mapped[dict[str, Any] | None]
    result: Mapped[dict[str, Any] | None]
    valid: Mapped[bool | None]

    turn: Mapped[GameTurn] = relationship(back_populates="actions")

    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["game_id", "turn_seq"],
            ["game_turns.game_id", "game_turns.seq"],
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("game_id", "turn_seq", "idx"),
        sa.CheckConstraint("idx >= 0", name="idx_nonnegative"),
    )


class LLMCall(Base):
    """One attempt at an LLM call. Token counts are whatever the provider reported, or NULL."""

    __tablename__ = "llm_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(sa.ForeignKey("games.id", ondelete="CASCADE"))
    turn_seq: Mapped[int | None]
    seat: Mapped[int | None]
    model_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("llm_models.id", ondelete="SET NULL"), index=True
    )
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    provider: Mapped[str | None] = mapped_column(sa.String(100))
    request_model: Mapped[str | None] = mapped_column(sa.String(200))
    response_model: Mapped[str | None] = mapped_column(sa.String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_token_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    latency_ms: Mapped[int | None]
    input_tokens: Mapped[int | None]
    output_tokens: Mapped[int | None]
    reasoning_tokens: Mapped[int | None]
    cache_read_tokens: Mapped[int | None]
    cache_write_tokens: Mapped[int | None]
    cost: Mapped[float | None]
    finish_reason: Mapped[str | None] = mapped_column(sa.String(50))
    # The provider's id of the response (chatcmpl-..., msg_..., resp_..., Gemini's responseId):
    # what its support and logs know the call by (OpenTelemetry's gen_ai.response.id).
    response_id: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), default="ok", server_default="ok")
    error: Mapped[str | None] = mapped_column(sa.Text)
    request: Mapped[dict[str, Any] | None]
    response: Mapped[dict[str, Any] | None]
    reasoning: Mapped[str | None] = mapped_column(sa.Text)

    model: Mapped[LLMModel | None] = relationship()
    turn: Mapped[GameTurn | None] = relationship(back_populates="llm_calls", viewonly=True)

    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["game_id", "turn_seq"],
            ["game_turns.game_id", "game_turns.seq"],
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(check_in("status", LLM_CALL_STATUSES), name="status"),
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
        # Never "> 0": providers that report no usage store NULL, and 0 is a real count.
        *(
            sa.CheckConstraint(f"{c} IS NULL OR {c} >= 0", name=f"{c}_nonnegative")
            for c in (
                "input_tokens",
                "output_tokens",
                "reasoning_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "latency_ms",
                "cost",
            )
        ),
        sa.Index("ix_llm_calls_game_id_turn_seq", "game_id", "turn_seq"),
        sa.Index("ix_llm_calls_request_model", "request_model"),
    )


class GameSnapshot(Base):
    """The full game state at a turn, with the sha256 of its canonical JSON for verification."""

    __tablename__ = "game_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(sa.ForeignKey("games.id", ondelete="CASCADE"))
    turn: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(20), default="periodic", server_default="periodic")
    state: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()

    game: Mapped[Game] = relationship(back_populates="snapshots")

    __table_args__ = (
        sa.UniqueConstraint("game_id", "turn", "kind"),
        sa.CheckConstraint(check_in("kind", SNAPSHOT_KINDS), name="kind"),
        sa.CheckConstraint("turn >= 0", name="turn_nonnegative"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256_length"),
    )


class PendingAction(Base):
    """A seat's action for a turn that has not resolved yet (simultaneous moves).

    Committed as soon as it is submitted, so a runner that dies before the turn resolves finds
    it again on resume; deleted when the turn is recorded. One per seat and turn: submitting
    again replaces it.
    """

    __tablename__ = "pending_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(sa.ForeignKey("games.id", ondelete="CASCADE"))
    turn_number: Mapped[int]
    seat: Mapped[int]
    action: Mapped[str | None] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any] | None]
    submitted_at: Mapped[datetime] = created_at_column()

    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["game_id", "seat"],
            ["game_players.game_id", "game_players.seat"],
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("game_id", "turn_number", "seat"),
        sa.CheckConstraint("turn_number >= 0", name="turn_number_nonnegative"),
    )
