"""Ids are never reused: SQLite AUTOINCREMENT; a deleted agent leaves every access list.

Revision ID: 0007
Revises: 0006

SQLite gives a new row max(id) + 1 unless the table is AUTOINCREMENT, so the agent registered
after the newest one was deleted got its id, and with it the deleted agent's place on knowledge
graph access lists. Every table whose id is referenced by a foreign key or named by a command or
the library becomes AUTOINCREMENT (`arenadb.models.base.never_reused_ids`). SQLite cannot ALTER a
table into AUTOINCREMENT: each table is rebuilt (the documented 12-step procedure) from its own
CREATE TABLE text, so every constraint, CHECK and default stays exactly as it was; its indexes
and triggers are recreated from their stored SQL, and the high-water mark in sqlite_sequence
starts at max(id) (an id deleted before this revision above that cannot be known any more).
Foreign keys are off during migrations (`arenadb.schema.migrations.migration_lock`), so dropping
the old table cascades nothing; foreign_key_check runs before the commit. PostgreSQL sequences
never go back: nothing to rebuild there.

On both backends a trigger removes a deleted agent from every knowledge graph's access list,
whatever deletes it (the library, `clean`, raw SQL).

A later batch migration of one of these tables must pass `table_kwargs={"sqlite_autoincrement":
True}`, or it loses AUTOINCREMENT (`migrate check` reports that as drift).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not read from the models): what this revision rebuilt.
TABLES = (
    "llm_models",
    "agent_kinds",
    "prompts",
    "agents",
    "game_types",
    "games",
    "users",
    "conversations",
    "messages",
    "coalitions",
    "scenario_templates",
    "scenario_runs",
    "event_types",
    "events",
    "knowledge_chunks",
    "knowledge_graphs",
)
TRIGGER = "agents_leave_access_lists"


def _with_autoincrement(table: str, sql: str, autoincrement: bool) -> str:
    """The CREATE TABLE text of `table` with (or without) AUTOINCREMENT on its integer id."""
    pk = f"CONSTRAINT pk_{table} PRIMARY KEY"
    if autoincrement:
        # `id INTEGER NOT NULL, ... CONSTRAINT pk_t PRIMARY KEY (id), ...` -> an inline key;
        # a table this revision's downgrade rebuilt has the inline key already.
        new, columns = re.subn(
            rf"\bid INTEGER NOT NULL {pk},",
            f"id INTEGER NOT NULL {pk} AUTOINCREMENT,",
            sql,
            count=1,
        )
        keys = columns
        if not columns:
            new, columns = re.subn(
                r"\bid INTEGER NOT NULL,", f"id INTEGER NOT NULL {pk} AUTOINCREMENT,", sql, count=1
            )
            new, keys = re.subn(rf",\s*{pk} \(id\)", "", new, count=1)
    else:
        new, columns = re.subn(rf"\s+{pk} AUTOINCREMENT,", f" {pk},", sql, count=1)
        keys = 1
    if columns != 1 or keys != 1:
        raise RuntimeError(f"table {table} does not have the expected integer primary key: {sql}")
    return new


def _rebuild_statements(
    table: str, sql: str, others: Sequence[str], autoincrement: bool
) -> list[str]:
    """SQLite's 12-step table rebuild into `sql` (foreign keys are off during migrations)."""
    temporary = f"_arenadb_rebuild_{table}"
    create = re.sub(
        rf"^CREATE TABLE \"?{table}\"? \(",
        f"CREATE TABLE {temporary} (",
        _with_autoincrement(table, sql, autoincrement),
        count=1,
    )
    statements = [
        create,
        f"INSERT INTO {temporary} SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {temporary} RENAME TO {table}",
        *others,
        f"DELETE FROM sqlite_sequence WHERE name = '{table}'",
    ]
    if autoincrement:
        statements.append(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT '{table}', max(id) FROM {table} "
            "HAVING max(id) IS NOT NULL"
        )
    return statements


def _sqlite_rebuild(table: str, autoincrement: bool) -> None:
    if op.get_context().as_sql:
        # Offline SQL cannot read the database: it is written for one exactly at 0006 (whose new table needs no rebuild).
        sql, others = SQLITE_AT_0005[table]
        if not autoincrement:
            sql = _with_autoincrement(table, sql, True)
    else:
        bind = op.get_bind()
        sql = bind.exec_driver_sql(
            "select sql from sqlite_master where type = 'table' and name = ?", (table,)
        ).scalar_one()
        if autoincrement and "AUTOINCREMENT" in sql.upper():
            return
        others = tuple(
            bind.exec_driver_sql(
                "select sql from sqlite_master where tbl_name = ? and type in ('index', 'trigger') "
                "and sql is not null order by type, name",
                (table,),
            ).scalars()
        )
    for statement in _rebuild_statements(table, sql, others, autoincrement):
        op.execute(statement)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION arenadb_agents_leave_access_lists() RETURNS trigger "
            "LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            "  UPDATE knowledge_graphs SET access_list = COALESCE((\n"
            "    SELECT jsonb_agg(e.value ORDER BY e.n)\n"
            "    FROM jsonb_array_elements(access_list) WITH ORDINALITY AS e(value, n)\n"
            "    WHERE e.value <> to_jsonb(OLD.id)), '[]'::jsonb)\n"
            "  WHERE access_list @> jsonb_build_array(OLD.id);\n"
            "  RETURN OLD;\n"
            "END\n$$"
        )
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON agents FOR EACH ROW "
            "EXECUTE FUNCTION arenadb_agents_leave_access_lists()"
        )
        return
    for table in TABLES:
        _sqlite_rebuild(table, autoincrement=True)
    # After the rebuilds: a trigger naming knowledge_graphs would block renaming it.
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON agents FOR EACH ROW BEGIN "
        "UPDATE knowledge_graphs SET access_list = ("
        "SELECT json_group_array(a.value) FROM json_each(knowledge_graphs.access_list) AS a "
        "WHERE a.value IS NOT OLD.id) "
        "WHERE EXISTS (SELECT 1 FROM json_each(knowledge_graphs.access_list) AS a "
        "WHERE a.value = OLD.id); END"
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON agents")
        op.execute("DROP FUNCTION arenadb_agents_leave_access_lists()")
        return
    op.execute(f"DROP TRIGGER {TRIGGER}")
    for table in TABLES:
        _sqlite_rebuild(table, autoincrement=False)


# The tables as revisions 0001-0005 left them on SQLite (for offline SQL, which cannot read
# the database): CREATE TABLE text, then its indexes and triggers.
SQLITE_AT_0005: dict[str, tuple[str, tuple[str, ...]]] = {
    "llm_models": (
        "CREATE TABLE llm_models (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tprovider VARCHAR(100), \n\tlitellm_name VARCHAR(200), \n\tactive BOOLEAN DEFAULT 1 NOT NULL, \n\tinput_price_per_mtok DOUBLE, \n\toutput_price_per_mtok DOUBLE, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_llm_models PRIMARY KEY (id), \n\tCONSTRAINT ck_llm_models_input_price CHECK (input_price_per_mtok IS NULL OR input_price_per_mtok >= 0), \n\tCONSTRAINT ck_llm_models_output_price CHECK (output_price_per_mtok IS NULL OR output_price_per_mtok >= 0), \n\tCONSTRAINT uq_llm_models_name UNIQUE (name)\n)",
        (),
    ),
    "agent_kinds": (
        "CREATE TABLE agent_kinds (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tdescription TEXT, \n\tactive BOOLEAN DEFAULT 1 NOT NULL, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_agent_kinds PRIMARY KEY (id), \n\tCONSTRAINT uq_agent_kinds_name UNIQUE (name)\n)",
        (),
    ),
    "prompts": (
        "CREATE TABLE prompts (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tversion INTEGER DEFAULT '1' NOT NULL, \n\tcontent TEXT NOT NULL, \n\tsha256 VARCHAR(64) NOT NULL, \n\tforked_from_id INTEGER, \n\tactive BOOLEAN DEFAULT 1 NOT NULL, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_prompts PRIMARY KEY (id), \n\tCONSTRAINT ck_prompts_sha256_length CHECK (length(sha256) = 64), \n\tCONSTRAINT ck_prompts_version_positive CHECK (version >= 1), \n\tCONSTRAINT fk_prompts_forked_from_id_prompts FOREIGN KEY(forked_from_id) REFERENCES prompts (id) ON DELETE SET NULL, \n\tCONSTRAINT uq_prompts_name_sha256 UNIQUE (name, sha256), \n\tCONSTRAINT uq_prompts_name_version UNIQUE (name, version)\n)",
        (
            "CREATE INDEX ix_prompts_forked_from_id ON prompts (forked_from_id)",
            "CREATE TRIGGER prompts_immutable BEFORE UPDATE ON prompts FOR EACH ROW WHEN NEW.name IS NOT OLD.name OR NEW.version IS NOT OLD.version OR NEW.content IS NOT OLD.content OR NEW.sha256 IS NOT OLD.sha256 BEGIN SELECT RAISE(ABORT, 'prompts are immutable (name, version, content, sha256): register a new version'); END",
        ),
    ),
    "agents": (
        "CREATE TABLE agents (\n\tid INTEGER NOT NULL, \n\tkind_id INTEGER NOT NULL, \n\tmodel_id INTEGER NOT NULL, \n\tprompt_id INTEGER NOT NULL, \n\talias VARCHAR(200), \n\tagent_class VARCHAR(200), \n\tconfig JSON, \n\tactive BOOLEAN DEFAULT 1 NOT NULL, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_agents PRIMARY KEY (id), \n\tCONSTRAINT fk_agents_kind_id_agent_kinds FOREIGN KEY(kind_id) REFERENCES agent_kinds (id) ON DELETE RESTRICT, \n\tCONSTRAINT fk_agents_model_id_llm_models FOREIGN KEY(model_id) REFERENCES llm_models (id) ON DELETE RESTRICT, \n\tCONSTRAINT fk_agents_prompt_id_prompts FOREIGN KEY(prompt_id) REFERENCES prompts (id) ON DELETE RESTRICT, \n\tCONSTRAINT uq_agents_alias UNIQUE (alias), \n\tCONSTRAINT uq_agents_kind_id_model_id_prompt_id UNIQUE (kind_id, model_id, prompt_id)\n)",
        (
            "CREATE INDEX ix_agents_model_id ON agents (model_id)",
            "CREATE INDEX ix_agents_prompt_id ON agents (prompt_id)",
        ),
    ),
    "game_types": (
        "CREATE TABLE game_types (\n\tid INTEGER NOT NULL, \n\tenv_id VARCHAR(200) NOT NULL, \n\tname VARCHAR(200), \n\tdescription TEXT, \n\tmin_seats INTEGER DEFAULT '2' NOT NULL, \n\tmax_seats INTEGER DEFAULT '2' NOT NULL, \n\tsides JSON, \n\troles JSON, \n\tconfig JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_game_types PRIMARY KEY (id), \n\tCONSTRAINT ck_game_types_seat_range CHECK (min_seats >= 1 AND max_seats >= min_seats), \n\tCONSTRAINT uq_game_types_env_id UNIQUE (env_id)\n)",
        (),
    ),
    "games": (
        "CREATE TABLE games (\n\tid INTEGER NOT NULL, \n\tuuid CHAR(32) NOT NULL, \n\tgame_type_id INTEGER NOT NULL, \n\tstatus VARCHAR(20) DEFAULT 'queued' NOT NULL, \n\tseed BIGINT, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tstarted_at DATETIME, \n\tfinished_at DATETIME, \n\toutcome VARCHAR(20), \n\twinning_side VARCHAR(100), \n\tend_reason TEXT, \n\tenvironment_crashed BOOLEAN DEFAULT 0 NOT NULL, \n\terror TEXT, \n\trated BOOLEAN DEFAULT 1 NOT NULL, \n\tinfo JSON, \n\tCONSTRAINT pk_games PRIMARY KEY (id), \n\tCONSTRAINT ck_games_outcome CHECK (outcome IS NULL OR outcome IN ('win', 'draw', 'no_contest')), \n\tCONSTRAINT ck_games_status CHECK (status IN ('queued', 'running', 'completed', 'failed', 'aborted')), \n\tCONSTRAINT ck_games_finished_after_started CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at), \n\tCONSTRAINT fk_games_game_type_id_game_types FOREIGN KEY(game_type_id) REFERENCES game_types (id) ON DELETE RESTRICT, \n\tCONSTRAINT uq_games_uuid UNIQUE (uuid)\n)",
        (
            "CREATE INDEX ix_games_game_type_id ON games (game_type_id)",
            "CREATE INDEX ix_games_started_at ON games (started_at)",
            "CREATE INDEX ix_games_status_id ON games (status, id)",
        ),
    ),
    "users": (
        "CREATE TABLE users (\n\tid INTEGER NOT NULL, \n\tuuid CHAR(32) NOT NULL, \n\texternal_id VARCHAR(255), \n\temail VARCHAR(320), \n\tname VARCHAR(200), \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tupdated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_users PRIMARY KEY (id), \n\tCONSTRAINT uq_users_email UNIQUE (email), \n\tCONSTRAINT uq_users_external_id UNIQUE (external_id), \n\tCONSTRAINT uq_users_uuid UNIQUE (uuid)\n)",
        (),
    ),
    "conversations": (
        "CREATE TABLE conversations (\n\tid INTEGER NOT NULL, \n\tuuid CHAR(32) NOT NULL, \n\ttype VARCHAR(20) DEFAULT 'group' NOT NULL, \n\ttitle VARCHAR(300), \n\tstatus VARCHAR(20) DEFAULT 'active' NOT NULL, \n\tuser_id INTEGER, \n\tgame_id INTEGER, \n\tmeta JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tupdated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tlast_message_at DATETIME, \n\tCONSTRAINT pk_conversations PRIMARY KEY (id), \n\tCONSTRAINT ck_conversations_status CHECK (status IN ('active', 'archived')), \n\tCONSTRAINT ck_conversations_type CHECK (type IN ('direct', 'group', 'broadcast', 'system')), \n\tCONSTRAINT fk_conversations_game_id_games FOREIGN KEY(game_id) REFERENCES games (id) ON DELETE CASCADE, \n\tCONSTRAINT fk_conversations_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, \n\tCONSTRAINT uq_conversations_uuid UNIQUE (uuid)\n)",
        (
            "CREATE INDEX ix_conversations_game_id ON conversations (game_id)",
            "CREATE INDEX ix_conversations_status_id ON conversations (status, id)",
            "CREATE INDEX ix_conversations_type_id ON conversations (type, id)",
            "CREATE INDEX ix_conversations_user_id_status_id ON conversations (user_id, status, id)",
        ),
    ),
    "messages": (
        "CREATE TABLE messages (\n\tid INTEGER NOT NULL, \n\tconversation_id INTEGER NOT NULL, \n\tsender_type VARCHAR(20) NOT NULL, \n\tsender_agent_id INTEGER, \n\tsender_user_id INTEGER, \n\tmessage_type VARCHAR(50) DEFAULT 'text' NOT NULL, \n\tcontent TEXT NOT NULL, \n\tmeta JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_messages PRIMARY KEY (id), \n\tCONSTRAINT ck_messages_sender_matches_type CHECK ((sender_type = 'agent' AND sender_agent_id IS NOT NULL AND sender_user_id IS NULL) OR (sender_type = 'user' AND sender_user_id IS NOT NULL AND sender_agent_id IS NULL) OR (sender_type = 'system' AND sender_agent_id IS NULL AND sender_user_id IS NULL)), \n\tCONSTRAINT ck_messages_sender_type CHECK (sender_type IN ('agent', 'user', 'system')), \n\tCONSTRAINT fk_messages_conversation_id_conversations FOREIGN KEY(conversation_id) REFERENCES conversations (id) ON DELETE CASCADE, \n\tCONSTRAINT fk_messages_sender_agent_id_agents FOREIGN KEY(sender_agent_id) REFERENCES agents (id) ON DELETE RESTRICT, \n\tCONSTRAINT fk_messages_sender_user_id_users FOREIGN KEY(sender_user_id) REFERENCES users (id) ON DELETE CASCADE\n)",
        (
            "CREATE INDEX ix_messages_conversation_id_id ON messages (conversation_id, id)",
            "CREATE INDEX ix_messages_conversation_id_sender_type_id ON messages (conversation_id, sender_type, id)",
            "CREATE INDEX ix_messages_sender_agent_id ON messages (sender_agent_id)",
            "CREATE INDEX ix_messages_sender_user_id ON messages (sender_user_id)",
        ),
    ),
    "coalitions": (
        "CREATE TABLE coalitions (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tgoal TEXT, \n\trules JSON, \n\tstatus VARCHAR(20) DEFAULT 'forming' NOT NULL, \n\tvalue_pool DOUBLE DEFAULT '0' NOT NULL, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tupdated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tdissolved_at DATETIME, \n\tCONSTRAINT pk_coalitions PRIMARY KEY (id), \n\tCONSTRAINT ck_coalitions_dissolved_at_iff_dissolved CHECK ((status = 'dissolved') = (dissolved_at IS NOT NULL)), \n\tCONSTRAINT ck_coalitions_status CHECK (status IN ('forming', 'active', 'suspended', 'dissolved')), \n\tCONSTRAINT ck_coalitions_value_pool_nonnegative CHECK (value_pool >= 0), \n\tCONSTRAINT uq_coalitions_name UNIQUE (name)\n)",
        ("CREATE INDEX ix_coalitions_status_id ON coalitions (status, id)",),
    ),
    "scenario_templates": (
        "CREATE TABLE scenario_templates (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(200) NOT NULL, \n\tdescription TEXT, \n\tconfig JSON, \n\tagent_roles JSON, \n\tevent_flow JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_scenario_templates PRIMARY KEY (id), \n\tCONSTRAINT uq_scenario_templates_name UNIQUE (name)\n)",
        (),
    ),
    "scenario_runs": (
        "CREATE TABLE scenario_runs (\n\tid INTEGER NOT NULL, \n\ttemplate_id INTEGER, \n\tname VARCHAR(200), \n\tstatus VARCHAR(20) DEFAULT 'pending' NOT NULL, \n\tconfig JSON, \n\tresults JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tstarted_at DATETIME, \n\tcompleted_at DATETIME, \n\tCONSTRAINT pk_scenario_runs PRIMARY KEY (id), \n\tCONSTRAINT ck_scenario_runs_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'aborted')), \n\tCONSTRAINT fk_scenario_runs_template_id_scenario_templates FOREIGN KEY(template_id) REFERENCES scenario_templates (id) ON DELETE SET NULL\n)",
        (
            "CREATE INDEX ix_scenario_runs_status_id ON scenario_runs (status, id)",
            "CREATE INDEX ix_scenario_runs_template_id ON scenario_runs (template_id)",
        ),
    ),
    "event_types": (
        "CREATE TABLE event_types (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(100) NOT NULL, \n\tcategory VARCHAR(50), \n\tengine_type VARCHAR(50), \n\tdescription TEXT, \n\tpayload_schema JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_event_types PRIMARY KEY (id), \n\tCONSTRAINT uq_event_types_name UNIQUE (name)\n)",
        (
            "CREATE INDEX ix_event_types_category ON event_types (category)",
            "CREATE INDEX ix_event_types_engine_type ON event_types (engine_type)",
        ),
    ),
    "events": (
        "CREATE TABLE events (\n\tid INTEGER NOT NULL, \n\tevent_type_id INTEGER NOT NULL, \n\tscenario_run_id INTEGER, \n\tgame_id INTEGER, \n\tsource_agent_id INTEGER, \n\ttarget_agent_id INTEGER, \n\tsource VARCHAR(200), \n\ttarget VARCHAR(200), \n\tpayload JSON, \n\tpriority INTEGER DEFAULT '0' NOT NULL, \n\tstatus VARCHAR(20) DEFAULT 'queued' NOT NULL, \n\tlocked_by CHAR(32), \n\tlock_until DATETIME, \n\tclaimed_at DATETIME, \n\tretry_count INTEGER DEFAULT '0' NOT NULL, \n\tlast_error TEXT, \n\tnext_retry_at DATETIME, \n\tresult JSON, \n\tprocessing_history JSON DEFAULT '[]' NOT NULL, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tcompleted_at DATETIME, \n\tCONSTRAINT pk_events PRIMARY KEY (id), \n\tCONSTRAINT ck_events_processing_is_locked CHECK (status <> 'processing' OR (lock_until IS NOT NULL AND claimed_at IS NOT NULL)), \n\tCONSTRAINT ck_events_status CHECK (status IN ('queued', 'processing', 'completed', 'failed')), \n\tCONSTRAINT ck_events_retry_count_nonnegative CHECK (retry_count >= 0), \n\tCONSTRAINT ck_events_run_or_game_not_both CHECK (scenario_run_id IS NULL OR game_id IS NULL), \n\tCONSTRAINT fk_events_event_type_id_event_types FOREIGN KEY(event_type_id) REFERENCES event_types (id) ON DELETE RESTRICT, \n\tCONSTRAINT fk_events_game_id_games FOREIGN KEY(game_id) REFERENCES games (id) ON DELETE CASCADE, \n\tCONSTRAINT fk_events_locked_by_engines FOREIGN KEY(locked_by) REFERENCES engines (id) ON DELETE SET NULL, \n\tCONSTRAINT fk_events_scenario_run_id_scenario_runs FOREIGN KEY(scenario_run_id) REFERENCES scenario_runs (id) ON DELETE CASCADE, \n\tCONSTRAINT fk_events_source_agent_id_agents FOREIGN KEY(source_agent_id) REFERENCES agents (id) ON DELETE SET NULL, \n\tCONSTRAINT fk_events_target_agent_id_agents FOREIGN KEY(target_agent_id) REFERENCES agents (id) ON DELETE SET NULL\n)",
        (
            "CREATE INDEX ix_events_claim ON events (priority DESC, id) WHERE status IN ('queued', 'processing')",
            "CREATE INDEX ix_events_event_type_id ON events (event_type_id)",
            "CREATE INDEX ix_events_game_id ON events (game_id)",
            "CREATE INDEX ix_events_locked_by ON events (locked_by)",
            "CREATE INDEX ix_events_scenario_run_id ON events (scenario_run_id)",
            "CREATE INDEX ix_events_source_agent_id ON events (source_agent_id)",
            "CREATE INDEX ix_events_status_id ON events (status, id)",
            "CREATE INDEX ix_events_target_agent_id ON events (target_agent_id)",
        ),
    ),
    "knowledge_chunks": (
        "CREATE TABLE knowledge_chunks (\n\tid INTEGER NOT NULL, \n\tsource VARCHAR(200) NOT NULL, \n\texternal_id VARCHAR(500) NOT NULL, \n\ttitle VARCHAR(500), \n\tcontent TEXT NOT NULL, \n\tmeta JSON, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tupdated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_knowledge_chunks PRIMARY KEY (id), \n\tCONSTRAINT uq_knowledge_chunks_source_external_id UNIQUE (source, external_id)\n)",
        ("CREATE INDEX ix_knowledge_chunks_external_id ON knowledge_chunks (external_id)",),
    ),
    "knowledge_graphs": (
        "CREATE TABLE knowledge_graphs (\n\tid INTEGER NOT NULL, \n\tuuid CHAR(32) NOT NULL, \n\towner_agent_id INTEGER, \n\tname VARCHAR(200) NOT NULL, \n\ttype VARCHAR(20) DEFAULT 'personal' NOT NULL, \n\tdescription TEXT, \n\tnodes JSON NOT NULL, \n\tedges JSON NOT NULL, \n\tis_public BOOLEAN DEFAULT 0 NOT NULL, \n\taccess_list JSON NOT NULL, \n\tcreated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tupdated_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, \n\tCONSTRAINT pk_knowledge_graphs PRIMARY KEY (id), \n\tCONSTRAINT ck_knowledge_graphs_owner_unless_global CHECK (type = 'global' OR owner_agent_id IS NOT NULL), \n\tCONSTRAINT ck_knowledge_graphs_type CHECK (type IN ('personal', 'shared', 'global')), \n\tCONSTRAINT fk_knowledge_graphs_owner_agent_id_agents FOREIGN KEY(owner_agent_id) REFERENCES agents (id) ON DELETE CASCADE, \n\tCONSTRAINT uq_knowledge_graphs_owner_agent_id_name UNIQUE (owner_agent_id, name), \n\tCONSTRAINT uq_knowledge_graphs_uuid UNIQUE (uuid)\n)",
        (
            "CREATE INDEX ix_knowledge_graphs_owner_agent_id ON knowledge_graphs (owner_agent_id)",
            "CREATE UNIQUE INDEX uq_knowledge_graphs_ownerless_name ON knowledge_graphs (name) WHERE owner_agent_id IS NULL",
        ),
    ),
}
