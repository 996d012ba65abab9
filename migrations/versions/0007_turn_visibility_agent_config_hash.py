"""Turns say who saw them and why a move was invalid; an agent's config is part of its identity.

Revision ID: 0007
Revises: 0006

- `game_turns.visibility` (public / private / system, default public), `game_turns.recipients`
  (the seats a private turn was shown to, a JSON list) and `game_turns.invalid_reason`. Columns on
  the turn, not a turn_recipients table: recording stays one row per turn in the bulk writer and
  `game replay --as-seat` reads one table.
- `agents.config_hash`: the sha256 of the agent config's canonical JSON (no config hashes as
  `{}`), backfilled for existing agents, and the unique key becomes
  (kind, model, prompt, config_hash): two temperatures are two agents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_CONFIG_HASH = hashlib.sha256(b"{}").hexdigest()
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _config_hash(config: object) -> str:
    # The canonical JSON of arenadb.db.json (sorted keys, no spaces, UTF-8), frozen here.
    text = json.dumps(config or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("game_turns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=20), server_default="public", nullable=False)
        )
        batch_op.add_column(sa.Column("recipients", JSONType, nullable=True))
        batch_op.add_column(sa.Column("invalid_reason", sa.Text(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_game_turns_visibility"), "visibility IN ('public', 'private', 'system')"
        )

    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "config_hash",
                sa.String(length=64),
                server_default=EMPTY_CONFIG_HASH,
                nullable=False,
            )
        )
    conn = op.get_bind()
    agents = sa.table("agents", sa.column("id"), sa.column("config", JSONType))
    hashed = sa.table("agents", sa.column("id"), sa.column("config_hash"))
    for agent_id, config in conn.execute(
        sa.select(agents.c.id, agents.c.config).where(agents.c.config.is_not(None))
    ).all():
        digest = _config_hash(config)
        if digest != EMPTY_CONFIG_HASH:
            conn.execute(
                sa.update(hashed).where(hashed.c.id == agent_id).values(config_hash=digest)
            )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_agents_kind_id_model_id_prompt_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_agents_kind_id_model_id_prompt_id_config_hash"),
            ["kind_id", "model_id", "prompt_id", "config_hash"],
        )


def downgrade() -> None:
    # Fails (a unique violation) when agents differ only in config: remove them first.
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_agents_kind_id_model_id_prompt_id_config_hash"), type_="unique"
        )
        batch_op.create_unique_constraint(
            op.f("uq_agents_kind_id_model_id_prompt_id"), ["kind_id", "model_id", "prompt_id"]
        )
        batch_op.drop_column("config_hash")
    with op.batch_alter_table("game_turns", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_game_turns_visibility"), type_="check")
        batch_op.drop_column("invalid_reason")
        batch_op.drop_column("recipients")
        batch_op.drop_column("visibility")
