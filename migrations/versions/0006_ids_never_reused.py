"""Ids are never reused: SQLite AUTOINCREMENT; a deleted agent leaves every access list.

Revision ID: 0006
Revises: 0005

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

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
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


def _sqlite_rebuild(table: str, autoincrement: bool) -> None:
    bind = op.get_bind()
    (sql,) = bind.exec_driver_sql(
        "select sql from sqlite_master where type = 'table' and name = ?", (table,)
    ).one()
    pk = f"CONSTRAINT pk_{table} PRIMARY KEY"
    if autoincrement:
        if "AUTOINCREMENT" in sql.upper():
            return
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
    temporary = f"_arenadb_rebuild_{table}"
    new = re.sub(rf"^CREATE TABLE \"?{table}\"? \(", f"CREATE TABLE {temporary} (", new, count=1)
    others = (
        bind.exec_driver_sql(
            "select sql from sqlite_master where tbl_name = ? and type in ('index', 'trigger') "
            "and sql is not null order by type, name",
            (table,),
        )
        .scalars()
        .all()
    )
    bind.exec_driver_sql(new)
    bind.exec_driver_sql(f"INSERT INTO {temporary} SELECT * FROM {table}")
    bind.exec_driver_sql(f"DROP TABLE {table}")
    bind.exec_driver_sql(f"ALTER TABLE {temporary} RENAME TO {table}")
    for statement in others:
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
    if autoincrement:
        bind.exec_driver_sql(
            f"INSERT INTO sqlite_sequence (name, seq) SELECT ?, max(id) FROM {table} "
            "HAVING max(id) IS NOT NULL",
            (table,),
        )


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
