"""core arena schema: models, kinds, prompts, agents, game types, games and what they record,
snapshots, ratings, and the arenadb_meta key/value table.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 17:28:46.283996
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on PostgreSQL, JSON (text) elsewhere; the same type the models declare.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_kinds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_kinds")),
        sa.UniqueConstraint("name", name=op.f("uq_agent_kinds_name")),
    )
    op.create_table(
        "arenadb_meta",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_arenadb_meta")),
    )
    op.create_table(
        "game_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("env_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("min_seats", sa.Integer(), server_default="2", nullable=False),
        sa.Column("max_seats", sa.Integer(), server_default="2", nullable=False),
        sa.Column("sides", JSON, nullable=True),
        sa.Column("roles", JSON, nullable=True),
        sa.Column("config", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "min_seats >= 1 AND max_seats >= min_seats", name=op.f("ck_game_types_seat_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_types")),
        sa.UniqueConstraint("env_id", name=op.f("uq_game_types_env_id")),
    )
    op.create_table(
        "llm_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=True),
        sa.Column("litellm_name", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("input_price_per_mtok", sa.Double(), nullable=True),
        sa.Column("output_price_per_mtok", sa.Double(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "input_price_per_mtok IS NULL OR input_price_per_mtok >= 0",
            name=op.f("ck_llm_models_input_price"),
        ),
        sa.CheckConstraint(
            "output_price_per_mtok IS NULL OR output_price_per_mtok >= 0",
            name=op.f("ck_llm_models_output_price"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_models")),
        sa.UniqueConstraint("name", name=op.f("uq_llm_models_name")),
    )
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("forked_from_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_prompts_sha256_length")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_prompts_version_positive")),
        sa.ForeignKeyConstraint(
            ["forked_from_id"],
            ["prompts.id"],
            name=op.f("fk_prompts_forked_from_id_prompts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
        sa.UniqueConstraint("name", "sha256", name=op.f("uq_prompts_name_sha256")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_prompts_name_version")),
    )
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prompts_forked_from_id"), ["forked_from_id"], unique=False
        )

    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("prompt_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=200), nullable=True),
        sa.Column("agent_class", sa.String(length=200), nullable=True),
        sa.Column("config", JSON, nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["kind_id"],
            ["agent_kinds.id"],
            name=op.f("fk_agents_kind_id_agent_kinds"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["llm_models.id"],
            name=op.f("fk_agents_model_id_llm_models"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_agents_prompt_id_prompts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("alias", name=op.f("uq_agents_alias")),
        sa.UniqueConstraint(
            "kind_id", "model_id", "prompt_id", name=op.f("uq_agents_kind_id_model_id_prompt_id")
        ),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_agents_prompt_id"), ["prompt_id"], unique=False)

    op.create_table(
        "games",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("game_type_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("winning_side", sa.String(length=100), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("environment_crashed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rated", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("info", JSON, nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('win', 'draw', 'no_contest')",
            name=op.f("ck_games_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'aborted')",
            name=op.f("ck_games_status"),
        ),
        sa.CheckConstraint(
            "finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at",
            name=op.f("ck_games_finished_after_started"),
        ),
        sa.ForeignKeyConstraint(
            ["game_type_id"],
            ["game_types.id"],
            name=op.f("fk_games_game_type_id_game_types"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_games")),
        sa.UniqueConstraint("uuid", name=op.f("uq_games_uuid")),
    )
    with op.batch_alter_table("games", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_games_game_type_id"), ["game_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_games_started_at"), ["started_at"], unique=False)
        batch_op.create_index("ix_games_status_id", ["status", "id"], unique=False)

    op.create_table(
        "game_players",
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("reward", sa.Double(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("eliminated_turn", sa.Integer(), nullable=True),
        sa.Column("invalid_moves", sa.Integer(), server_default="0", nullable=False),
        sa.Column("info", JSON, nullable=True),
        sa.CheckConstraint(
            "invalid_moves >= 0", name=op.f("ck_game_players_invalid_moves_nonnegative")
        ),
        sa.CheckConstraint("rank IS NULL OR rank >= 1", name=op.f("ck_game_players_rank_positive")),
        sa.CheckConstraint("seat >= 0", name=op.f("ck_game_players_seat_nonnegative")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_game_players_agent_id_agents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_game_players_game_id_games"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("game_id", "seat", name=op.f("pk_game_players")),
    )
    with op.batch_alter_table("game_players", schema=None) as batch_op:
        batch_op.create_index(
            "ix_game_players_agent_id_game_id", ["agent_id", "game_id"], unique=False
        )

    op.create_table(
        "game_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), server_default="periodic", nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('periodic', 'manual', 'critical', 'final')",
            name=op.f("ck_game_snapshots_kind"),
        ),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_game_snapshots_sha256_length")),
        sa.CheckConstraint("turn >= 0", name=op.f("ck_game_snapshots_turn_nonnegative")),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_game_snapshots_game_id_games"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_snapshots")),
        sa.UniqueConstraint(
            "game_id", "turn", "kind", name=op.f("uq_game_snapshots_game_id_turn_kind")
        ),
    )
    op.create_table(
        "rating_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("game_type_id", sa.Integer(), nullable=True),
        sa.Column("mu_before", sa.Double(), nullable=False),
        sa.Column("sigma_before", sa.Double(), nullable=False),
        sa.Column("mu_after", sa.Double(), nullable=False),
        sa.Column("sigma_after", sa.Double(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_rating_events_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_rating_events_game_id_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["game_type_id"],
            ["game_types.id"],
            name=op.f("fk_rating_events_game_type_id_game_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rating_events")),
    )
    with op.batch_alter_table("rating_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rating_events_agent_id_system_id", ["agent_id", "system", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rating_events_game_id"), ["game_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rating_events_game_type_id"), ["game_type_id"], unique=False
        )

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("game_type_id", sa.Integer(), nullable=True),
        sa.Column("mu", sa.Double(), nullable=False),
        sa.Column("sigma", sa.Double(), nullable=False),
        sa.Column("games", sa.Integer(), server_default="0", nullable=False),
        sa.Column("wins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("draws", sa.Integer(), server_default="0", nullable=False),
        sa.Column("losses", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_game_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "games >= 0 AND wins >= 0 AND draws >= 0 AND losses >= 0",
            name=op.f("ck_ratings_counts_nonnegative"),
        ),
        sa.CheckConstraint("sigma > 0", name=op.f("ck_ratings_sigma_positive")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_ratings_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["game_type_id"],
            ["game_types.id"],
            name=op.f("fk_ratings_game_type_id_game_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_game_id"],
            ["games.id"],
            name=op.f("fk_ratings_last_game_id_games"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint(
            "agent_id",
            "system",
            "game_type_id",
            name=op.f("uq_ratings_agent_id_system_game_type_id"),
        ),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ratings_game_type_id"), ["game_type_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ratings_last_game_id"), ["last_game_id"], unique=False)
        batch_op.create_index(
            "ix_ratings_system_game_type_id_mu", ["system", "game_type_id", "mu"], unique=False
        )
        batch_op.create_index(
            "uq_ratings_overall",
            ["agent_id", "system"],
            unique=True,
            sqlite_where=sa.text("game_type_id IS NULL"),
            postgresql_where=sa.text("game_type_id IS NULL"),
        )

    op.create_table(
        "game_turns",
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("turn_number", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=100), nullable=True),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("observation", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("state_hash", sa.String(length=64), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "latency_ms IS NULL OR latency_ms >= 0", name=op.f("ck_game_turns_latency_nonnegative")
        ),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_game_turns_seq_nonnegative")),
        sa.CheckConstraint("turn_number >= 0", name=op.f("ck_game_turns_turn_number_nonnegative")),
        sa.ForeignKeyConstraint(
            ["game_id", "seat"],
            ["game_players.game_id", "game_players.seat"],
            name=op.f("fk_game_turns_game_id_seat_game_players"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_game_turns_game_id_games"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("game_id", "seq", name=op.f("pk_game_turns")),
    )
    with op.batch_alter_table("game_turns", schema=None) as batch_op:
        batch_op.create_index("ix_game_turns_game_id_seat", ["game_id", "seat"], unique=False)

    op.create_table(
        "llm_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("turn_seq", sa.Integer(), nullable=True),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=True),
        sa.Column("request_model", sa.String(length=200), nullable=True),
        sa.Column("response_model", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_token_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=True),
        sa.Column("cache_read_tokens", sa.Integer(), nullable=True),
        sa.Column("cache_write_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Double(), nullable=True),
        sa.Column("finish_reason", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="ok", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("request", JSON, nullable=True),
        sa.Column("response", JSON, nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('ok', 'error', 'timeout')", name=op.f("ck_llm_calls_status")
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_llm_calls_attempt_positive")),
        sa.CheckConstraint(
            "cache_read_tokens IS NULL OR cache_read_tokens >= 0",
            name=op.f("ck_llm_calls_cache_read_tokens_nonnegative"),
        ),
        sa.CheckConstraint(
            "cache_write_tokens IS NULL OR cache_write_tokens >= 0",
            name=op.f("ck_llm_calls_cache_write_tokens_nonnegative"),
        ),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name=op.f("ck_llm_calls_cost_nonnegative")),
        sa.CheckConstraint(
            "input_tokens IS NULL OR input_tokens >= 0",
            name=op.f("ck_llm_calls_input_tokens_nonnegative"),
        ),
        sa.CheckConstraint(
            "latency_ms IS NULL OR latency_ms >= 0",
            name=op.f("ck_llm_calls_latency_ms_nonnegative"),
        ),
        sa.CheckConstraint(
            "output_tokens IS NULL OR output_tokens >= 0",
            name=op.f("ck_llm_calls_output_tokens_nonnegative"),
        ),
        sa.CheckConstraint(
            "reasoning_tokens IS NULL OR reasoning_tokens >= 0",
            name=op.f("ck_llm_calls_reasoning_tokens_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["game_id", "turn_seq"],
            ["game_turns.game_id", "game_turns.seq"],
            name=op.f("fk_llm_calls_game_id_turn_seq_game_turns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_llm_calls_game_id_games"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["llm_models.id"],
            name=op.f("fk_llm_calls_model_id_llm_models"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_calls")),
    )
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_llm_calls_game_id_turn_seq", ["game_id", "turn_seq"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_llm_calls_model_id"), ["model_id"], unique=False)
        batch_op.create_index("ix_llm_calls_request_model", ["request_model"], unique=False)

    op.create_table(
        "player_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("turn_seq", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), server_default="0", nullable=False),
        sa.Column("seat", sa.Integer(), nullable=True),
        sa.Column("action_type", sa.String(length=100), nullable=False),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.CheckConstraint("idx >= 0", name=op.f("ck_player_actions_idx_nonnegative")),
        sa.ForeignKeyConstraint(
            ["game_id", "turn_seq"],
            ["game_turns.game_id", "game_turns.seq"],
            name=op.f("fk_player_actions_game_id_turn_seq_game_turns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_player_actions")),
        sa.UniqueConstraint(
            "game_id", "turn_seq", "idx", name=op.f("uq_player_actions_game_id_turn_seq_idx")
        ),
    )


def downgrade() -> None:
    op.drop_table("player_actions")
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_calls_request_model")
        batch_op.drop_index(batch_op.f("ix_llm_calls_model_id"))
        batch_op.drop_index("ix_llm_calls_game_id_turn_seq")

    op.drop_table("llm_calls")
    with op.batch_alter_table("game_turns", schema=None) as batch_op:
        batch_op.drop_index("ix_game_turns_game_id_seat")

    op.drop_table("game_turns")
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_ratings_overall",
            sqlite_where=sa.text("game_type_id IS NULL"),
            postgresql_where=sa.text("game_type_id IS NULL"),
        )
        batch_op.drop_index("ix_ratings_system_game_type_id_mu")
        batch_op.drop_index(batch_op.f("ix_ratings_last_game_id"))
        batch_op.drop_index(batch_op.f("ix_ratings_game_type_id"))

    op.drop_table("ratings")
    with op.batch_alter_table("rating_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_events_game_type_id"))
        batch_op.drop_index(batch_op.f("ix_rating_events_game_id"))
        batch_op.drop_index("ix_rating_events_agent_id_system_id")

    op.drop_table("rating_events")
    op.drop_table("game_snapshots")
    with op.batch_alter_table("game_players", schema=None) as batch_op:
        batch_op.drop_index("ix_game_players_agent_id_game_id")

    op.drop_table("game_players")
    with op.batch_alter_table("games", schema=None) as batch_op:
        batch_op.drop_index("ix_games_status_id")
        batch_op.drop_index(batch_op.f("ix_games_started_at"))
        batch_op.drop_index(batch_op.f("ix_games_game_type_id"))

    op.drop_table("games")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_prompt_id"))
        batch_op.drop_index(batch_op.f("ix_agents_model_id"))

    op.drop_table("agents")
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prompts_forked_from_id"))

    op.drop_table("prompts")
    op.drop_table("llm_models")
    op.drop_table("game_types")
    op.drop_table("arenadb_meta")
    op.drop_table("agent_kinds")
