"""scenarios, event queue, engines, execution logs: PyScrAI's event-driven runtime.

Scenario templates and their runs, event types, the event queue (priority, status, lock, retries,
processing history), the engines that drain it, and execution logs. `ix_events_claim` is a partial
index on the live events (queued, processing) in claim order: priority DESC, then id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:35:49.904368
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on PostgreSQL, JSON (text) elsewhere; the same type the models declare.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engine_type", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("last_heartbeat", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_workload", sa.Integer(), server_default="0", nullable=False),
        sa.Column("static_config", JSON, nullable=True),
        sa.Column("dynamic_state", JSON, nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'stale', 'stopped')", name=op.f("ck_engines_status")
        ),
        sa.CheckConstraint("current_workload >= 0", name=op.f("ck_engines_workload_nonnegative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engines")),
    )
    with op.batch_alter_table("engines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engines_engine_type"), ["engine_type"], unique=False)
        batch_op.create_index(
            "ix_engines_status_last_heartbeat", ["status", "last_heartbeat"], unique=False
        )

    op.create_table(
        "event_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("engine_type", sa.String(length=50), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("payload_schema", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_types")),
        sa.UniqueConstraint("name", name=op.f("uq_event_types_name")),
    )
    with op.batch_alter_table("event_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_types_category"), ["category"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_event_types_engine_type"), ["engine_type"], unique=False
        )

    op.create_table(
        "scenario_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("config", JSON, nullable=True),
        sa.Column("agent_roles", JSON, nullable=True),
        sa.Column("event_flow", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_scenario_templates_name")),
    )
    op.create_table(
        "scenario_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("config", JSON, nullable=True),
        sa.Column("results", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'aborted')",
            name=op.f("ck_scenario_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["scenario_templates.id"],
            name=op.f("fk_scenario_runs_template_id_scenario_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_runs")),
    )
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.create_index("ix_scenario_runs_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scenario_runs_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_type_id", sa.Integer(), nullable=False),
        sa.Column("scenario_run_id", sa.Integer(), nullable=True),
        sa.Column("game_id", sa.Integer(), nullable=True),
        sa.Column("source_agent_id", sa.Integer(), nullable=True),
        sa.Column("target_agent_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("payload", JSON, nullable=True),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="queued", nullable=False),
        sa.Column("locked_by", sa.Uuid(), nullable=True),
        sa.Column("lock_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", JSON, nullable=True),
        sa.Column("processing_history", JSON, server_default="[]", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'processing' OR (lock_until IS NOT NULL AND claimed_at IS NOT NULL)",
            name=op.f("ck_events_processing_is_locked"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'completed', 'failed')",
            name=op.f("ck_events_status"),
        ),
        sa.CheckConstraint("retry_count >= 0", name=op.f("ck_events_retry_count_nonnegative")),
        sa.CheckConstraint(
            "scenario_run_id IS NULL OR game_id IS NULL",
            name=op.f("ck_events_run_or_game_not_both"),
        ),
        sa.ForeignKeyConstraint(
            ["event_type_id"],
            ["event_types.id"],
            name=op.f("fk_events_event_type_id_event_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"], ["games.id"], name=op.f("fk_events_game_id_games"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["locked_by"],
            ["engines.id"],
            name=op.f("fk_events_locked_by_engines"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["scenario_run_id"],
            ["scenario_runs.id"],
            name=op.f("fk_events_scenario_run_id_scenario_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_agent_id"],
            ["agents.id"],
            name=op.f("fk_events_source_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["target_agent_id"],
            ["agents.id"],
            name=op.f("fk_events_target_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    if op.get_context().dialect.name == "postgresql":
        # A queue table is rewritten row by row all day: have autovacuum clean and re-analyze it
        # after 1% of it changed instead of 20% / 10%, so dead rows do not pile up in front of
        # every claim and the planner knows how many events are queued.
        op.execute(
            "ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_analyze_scale_factor = 0.01)"
        )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_claim",
            [sa.literal_column("priority DESC"), "id"],
            unique=False,
            sqlite_where=sa.text("status IN ('queued', 'processing')"),
            postgresql_where=sa.text("status IN ('queued', 'processing')"),
        )
        batch_op.create_index(
            batch_op.f("ix_events_event_type_id"), ["event_type_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_game_id"), ["game_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_locked_by"), ["locked_by"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_events_scenario_run_id"), ["scenario_run_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_events_source_agent_id"), ["source_agent_id"], unique=False
        )
        batch_op.create_index("ix_events_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_events_target_agent_id"), ["target_agent_id"], unique=False
        )

    op.create_table(
        "execution_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_run_id", sa.Integer(), nullable=True),
        sa.Column("game_id", sa.Integer(), nullable=True),
        sa.Column("engine_id", sa.Uuid(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=10), server_default="info", nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", JSON, nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('debug', 'info', 'warning', 'error', 'critical')",
            name=op.f("ck_execution_logs_level"),
        ),
        sa.ForeignKeyConstraint(
            ["engine_id"],
            ["engines.id"],
            name=op.f("fk_execution_logs_engine_id_engines"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_execution_logs_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_execution_logs_game_id_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scenario_run_id"],
            ["scenario_runs.id"],
            name=op.f("fk_execution_logs_scenario_run_id_scenario_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_logs")),
    )
    with op.batch_alter_table("execution_logs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_execution_logs_engine_id"), ["engine_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_execution_logs_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_execution_logs_game_id"), ["game_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_execution_logs_scenario_run_id"), ["scenario_run_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("execution_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_execution_logs_scenario_run_id"))
        batch_op.drop_index(batch_op.f("ix_execution_logs_game_id"))
        batch_op.drop_index(batch_op.f("ix_execution_logs_event_id"))
        batch_op.drop_index(batch_op.f("ix_execution_logs_engine_id"))

    op.drop_table("execution_logs")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_target_agent_id"))
        batch_op.drop_index("ix_events_status_id")
        batch_op.drop_index(batch_op.f("ix_events_source_agent_id"))
        batch_op.drop_index(batch_op.f("ix_events_scenario_run_id"))
        batch_op.drop_index(batch_op.f("ix_events_locked_by"))
        batch_op.drop_index(batch_op.f("ix_events_game_id"))
        batch_op.drop_index(batch_op.f("ix_events_event_type_id"))
        batch_op.drop_index(
            "ix_events_claim",
            sqlite_where=sa.text("status IN ('queued', 'processing')"),
            postgresql_where=sa.text("status IN ('queued', 'processing')"),
        )

    op.drop_table("events")
    with op.batch_alter_table("scenario_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scenario_runs_template_id"))
        batch_op.drop_index("ix_scenario_runs_status_id")

    op.drop_table("scenario_runs")
    op.drop_table("scenario_templates")
    with op.batch_alter_table("event_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_types_engine_type"))
        batch_op.drop_index(batch_op.f("ix_event_types_category"))

    op.drop_table("event_types")
    with op.batch_alter_table("engines", schema=None) as batch_op:
        batch_op.drop_index("ix_engines_status_last_heartbeat")
        batch_op.drop_index(batch_op.f("ix_engines_engine_type"))

    op.drop_table("engines")
