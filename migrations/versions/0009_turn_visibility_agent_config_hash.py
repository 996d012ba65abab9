"""Turns say who saw them and why a move was invalid; an agent's config is part of its identity.

Revision ID: 0009
Revises: 0008

- `game_turns.visibility` (public / private / system, default public), `game_turns.recipients`
  (the seats a private turn was shown to, a JSON list) and `game_turns.invalid_reason`. Columns on
  the turn, not a turn_recipients table: recording stays one row per turn in the bulk writer and
  `game replay --as-seat` reads one table.
- `agents.config_hash`: the sha256 of the agent config's canonical JSON (no config hashes as
  `{}`), backfilled for existing agents, and the unique key becomes
  (kind, model, prompt, config_hash): two temperatures are two agents.

SQLite: no batch mode (its table copy would drop the AUTOINCREMENT and the triggers of 0007 and
needs reflection, which offline SQL does not have). Columns are added with ALTER TABLE (the CHECK
on the column itself), and the agents' unique key is changed by SQLite's table rebuild from the
table's own CREATE TABLE text, keeping its indexes and triggers (offline: the text as 0008 left it).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_CONFIG_HASH = hashlib.sha256(b"{}").hexdigest()
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _config_hash(config: object) -> str:
    # The canonical JSON of arenadb.db.json (sorted keys, no spaces, UTF-8), frozen here.
    text = json.dumps(config or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


VISIBILITY_CHECK = "visibility IN ('public', 'private', 'system')"
OLD_KEY = "CONSTRAINT uq_agents_kind_id_model_id_prompt_id UNIQUE (kind_id, model_id, prompt_id)"
NEW_KEY = (
    "CONSTRAINT uq_agents_kind_id_model_id_prompt_id_config_hash "
    "UNIQUE (kind_id, model_id, prompt_id, config_hash)"
)
# agents as revision 0008 left it on SQLite, with config_hash added (for offline SQL only).
SQLITE_AGENTS_AT_0008 = (
    'CREATE TABLE "agents" (\n\tid INTEGER NOT NULL CONSTRAINT pk_agents PRIMARY KEY '
    "AUTOINCREMENT, \n\tkind_id INTEGER NOT NULL, \n\tmodel_id INTEGER NOT NULL, "
    "\n\tprompt_id INTEGER NOT NULL, \n\talias VARCHAR(200), \n\tagent_class VARCHAR(200), "
    "\n\tconfig JSON, \n\tactive BOOLEAN DEFAULT 1 NOT NULL, "
    "\n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, config_hash VARCHAR(64) "
    f"DEFAULT '{EMPTY_CONFIG_HASH}' NOT NULL, "
    "\n\tCONSTRAINT fk_agents_kind_id_agent_kinds FOREIGN KEY(kind_id) REFERENCES agent_kinds "
    "(id) ON DELETE RESTRICT, \n\tCONSTRAINT fk_agents_model_id_llm_models FOREIGN KEY(model_id) "
    "REFERENCES llm_models (id) ON DELETE RESTRICT, \n\tCONSTRAINT fk_agents_prompt_id_prompts "
    "FOREIGN KEY(prompt_id) REFERENCES prompts (id) ON DELETE RESTRICT, "
    "\n\tCONSTRAINT uq_agents_alias UNIQUE (alias), \n\t" + OLD_KEY + "\n)"
)


def _sqlite_rebuild_agents(old: str, new: str) -> None:
    """SQLite's table rebuild of agents with its unique key `old` replaced by `new`."""
    if op.get_context().as_sql:
        sql = SQLITE_AGENTS_AT_0008.replace(OLD_KEY, old)
        others: list[str] = []
    else:
        bind = op.get_bind()
        sql = bind.exec_driver_sql(
            "select sql from sqlite_master where type = 'table' and name = 'agents'"
        ).scalar_one()
        others = list(
            bind.exec_driver_sql(
                "select sql from sqlite_master where tbl_name = 'agents' "
                "and type in ('index', 'trigger') and sql is not null order by type, name"
            ).scalars()
        )
    if old not in sql:
        raise RuntimeError(f"agents does not have the expected unique key {old}: {sql}")
    create = re.sub(r'^CREATE TABLE "?agents"? \(', "CREATE TABLE _arenadb_rebuild_agents (", sql)
    for statement in (
        create.replace(old, new),
        "INSERT INTO _arenadb_rebuild_agents SELECT * FROM agents",
        "DROP TABLE agents",
        "ALTER TABLE _arenadb_rebuild_agents RENAME TO agents",
        *others,
    ):
        op.execute(statement)


def _backfill_config_hashes() -> None:
    if op.get_context().as_sql:
        return  # offline SQL cannot read configs: agents with a config keep the default hash
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


def _upgrade_sqlite() -> None:
    op.execute(
        "ALTER TABLE game_turns ADD COLUMN visibility VARCHAR(20) DEFAULT 'public' NOT NULL "
        f"CONSTRAINT ck_game_turns_visibility CHECK ({VISIBILITY_CHECK})"
    )
    op.execute("ALTER TABLE game_turns ADD COLUMN recipients JSON")
    op.execute("ALTER TABLE game_turns ADD COLUMN invalid_reason TEXT")
    op.execute(
        f"ALTER TABLE agents ADD COLUMN config_hash VARCHAR(64) DEFAULT '{EMPTY_CONFIG_HASH}' "
        "NOT NULL"
    )
    _backfill_config_hashes()
    _sqlite_rebuild_agents(OLD_KEY, NEW_KEY)


def _downgrade_sqlite() -> None:
    # Fails (a unique violation) when agents differ only in config: remove them first.
    _sqlite_rebuild_agents(NEW_KEY, OLD_KEY)
    op.execute("ALTER TABLE agents DROP COLUMN config_hash")
    for column in ("invalid_reason", "recipients", "visibility"):
        op.execute(f"ALTER TABLE game_turns DROP COLUMN {column}")


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _upgrade_sqlite()
        return
    with op.batch_alter_table("game_turns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("visibility", sa.String(length=20), server_default="public", nullable=False)
        )
        batch_op.add_column(sa.Column("recipients", JSONType, nullable=True))
        batch_op.add_column(sa.Column("invalid_reason", sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_game_turns_visibility"), VISIBILITY_CHECK)
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "config_hash",
                sa.String(length=64),
                server_default=EMPTY_CONFIG_HASH,
                nullable=False,
            )
        )
    _backfill_config_hashes()
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_agents_kind_id_model_id_prompt_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_agents_kind_id_model_id_prompt_id_config_hash"),
            ["kind_id", "model_id", "prompt_id", "config_hash"],
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _downgrade_sqlite()
        return
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
