"""Live schema against the models: what `db check` and `migrate check` both report as drift.

Alembic's autogenerate compares tables, columns, types, nullability, indexes, unique and foreign
key constraints, but neither CHECK constraints nor triggers; those two are compared here, by
name and by normalised SQL text. Nor SQLite's AUTOINCREMENT, which a batch migration that forgets
`sqlite_autoincrement` would silently drop: compared here too. The comparison is a catalogue
read of the database it is given.

PostgreSQL stores a CHECK as a parsed expression and prints it back in its own words
(`(version >= 1)`, `((status)::text = ANY (...))`), so the models' text is put through the same
printer: the model's constraints are created on temporary tables inside a transaction that is
rolled back, and read back with pg_get_constraintdef. Nothing is left behind and no real table
is locked. SQLite keeps the CREATE TABLE text, which SQLAlchemy wrote from the same models.

The full-text index (`arenadb.db.fulltext`, migration 0006) is no model either: its FTS5 tables
and their shadow tables (SQLite) and its GIN expression indexes (PostgreSQL) are left out of the
autogenerate comparison (which would report them as tables or indexes to remove) and checked
here by name instead, so a database without them is drift and one with them is clean.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arenadb.db import fulltext, partitions

# Triggers are written by migrations (a model has no trigger object): every trigger a revision
# creates is listed here, as (table, trigger name), so a database without it is drift.
EXPECTED_TRIGGERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("prompts", "prompts_immutable"),
        ("agents", "agents_leave_access_lists"),
        ("rating_events", "rating_events_count_deleted"),
        # rated_pools, the stored boards' watermark (migration 0015)
        ("games", "games_rated_pools_insert"),
        ("games", "games_rated_pools_update"),
        ("games", "games_rated_pools_delete"),
    }
)
# PostgreSQL only: the trigger that creates partitions ahead of new games (migration 0013), and
# rated_pools' on TRUNCATE (migration 0015; SQLite has no TRUNCATE).
PG_TRIGGERS: frozenset[tuple[str, str]] = frozenset(
    {("games", partitions.TRIGGER), ("games", "games_rated_pools_truncate")}
)
# What each of those triggers must be, as live_triggers() reads it from a database migrated to
# head: a short sha256 of its normalised definition. A migration that changes a trigger changes
# its digest here (tests/db/schema/test_compare.py prints the new values).
TRIGGER_DIGESTS: dict[str, dict[tuple[str, str], str]] = {
    "postgresql": {
        ("agents", "agents_leave_access_lists"): "96b66bd28d3fb975",
        ("games", partitions.TRIGGER): "c8c037387341260e",
        ("games", "games_rated_pools_delete"): "f05384fde9567fd7",
        ("games", "games_rated_pools_insert"): "9c3edaabefc7a278",
        ("games", "games_rated_pools_truncate"): "abcbfc7bc89385f9",
        ("games", "games_rated_pools_update"): "b19a215505c4b84d",
        ("prompts", "prompts_immutable"): "506b0dd60e1a498e",
        ("rating_events", "rating_events_count_deleted"): "36b429a9dfa56c05",
    },
    "sqlite": {
        ("agents", "agents_leave_access_lists"): "8b6b8fc82dcf62c2",
        ("game_turns", "search_turns_delete"): "d857a238a903efae",
        ("game_turns", "search_turns_insert"): "ae3f0d0613e6718d",
        ("game_turns", "search_turns_update"): "aa986a82b87837dc",
        ("games", "games_rated_pools_delete"): "aa63dd0d8488661e",
        ("games", "games_rated_pools_insert"): "b28ae7412f1b2fe6",
        ("games", "games_rated_pools_update"): "d0110b83b345b9a0",
        ("knowledge_chunks", "search_knowledge_delete"): "e68d248eece6a6f5",
        ("knowledge_chunks", "search_knowledge_insert"): "930dbe8816393687",
        ("knowledge_chunks", "search_knowledge_update"): "48a947dd5181761f",
        ("llm_calls", "search_llm_calls_delete"): "346ba06e79c9b7b2",
        ("llm_calls", "search_llm_calls_insert"): "4c873357136a0573",
        ("llm_calls", "search_llm_calls_update"): "ee8297e3b4899390",
        ("messages", "search_messages_delete"): "df6457c8605a9e63",
        ("messages", "search_messages_insert"): "a1dda08bb0484597",
        ("messages", "search_messages_update"): "11e1078ff1075247",
        ("prompts", "prompts_immutable"): "a3c94874b3197b91",
        ("rating_events", "rating_events_count_deleted"): "e5a0e3088dd517ab",
    },
}

_SPACES = re.compile(r"\s+")


def schema_differences(conn: Connection) -> list[str]:
    """Every way the live schema differs from the models, one line each; empty when it matches."""
    return [
        *_autogenerate_differences(conn),
        *check_constraint_differences(conn),
        *trigger_differences(conn),
        *autoincrement_differences(conn),
        *search_index_differences(conn),
        *partitions.partition_differences(conn),
    ]


def is_search_index(name: str | None, type_: str) -> bool:
    """An object of the full-text index, which the models do not declare (see the docstring)."""
    if name is None:
        return False
    if type_ == "table":
        return fulltext.is_fts5_table(name)
    if type_ == "index":
        return name in {index for _table, index in fulltext.PG_INDEXES}
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name` hook: compare everything but the full-text index and the
    partitions of the partitioned tables (PostgreSQL, `arenadb.db.partitions`), whose
    indexes and keys PostgreSQL derives from their parents'."""
    if type_ == "table" and partitions.is_partition_name(name):
        return False
    if type_ == "table" and name not in _model_tables():
        # Another application's table in a database shared on purpose (`init --any-database`):
        # not arenadb's to compare (`db check` lists them as `other_tables`).
        return False
    if partitions.is_partition_name((parent_names or {}).get("table_name")):
        return False
    return not is_search_index(name, type_)


def include_object(obj: Any, _name: Any, type_: str, reflected: bool, _compare_to: Any) -> bool:
    """Alembic's `include_object` hook: a foreign key into a partitioned table is held in the
    catalogue once more for each partition it points at; those copies are PostgreSQL's."""
    if type_ == "foreign_key_constraint" and reflected:
        return not partitions.is_partition_name(obj.referred_table.name)
    return True


def _autogenerate_differences(conn: Connection) -> list[str]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from arenadb.models import metadata

    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "target_metadata": metadata,
            "include_name": include_name,
            "include_object": include_object,
        },
    )
    return [_describe_diff(d) for d in compare_metadata(context, metadata)]


def _describe_diff(diff: Any) -> str:
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe_diff(d) for d in diff)
    kind, *rest = diff
    if kind.startswith("modify_") and len(rest) == 6:  # (schema, table, column, info, old, new)
        _schema, table, column, _info, old, new = rest
        return f"{kind} {table}.{column}: {old!r} -> {new!r}"
    parts = []
    for item in rest:
        name = getattr(item, "name", None)
        table = getattr(getattr(item, "table", None), "name", None)
        if name and table and table != name:
            parts.append(f"{table}.{name}")
        elif name:
            parts.append(str(name))
        else:
            parts.append(repr(item))
    return f"{kind} " + " ".join(parts)


def normalise_sql(text: str) -> str:
    """One spelling of an SQL expression: spaces collapsed, lower case, outer parentheses off."""
    text = _SPACES.sub(" ", text.strip()).lower()
    if text.startswith("check"):
        text = text[len("check") :].strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    text = re.sub(r"\( ", "(", text)
    return re.sub(r" \)", ")", text)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def check_constraint_differences(conn: Connection) -> list[str]:
    """CHECK constraints missing, unexpected, or with another condition than the models'."""
    live = _live_checks(conn)
    wanted = _model_checks(conn)
    out = []
    for key in sorted(wanted.keys() - live.keys()):
        if key[0] in _live_tables(conn):  # a missing table is reported once, by autogenerate
            text = f": {wanted[key]}" if wanted[key] else ""
            out.append(f"missing check constraint {key[0]}.{key[1]}{text}")
    for key in sorted(live.keys() - wanted.keys()):
        if key[0] in _model_tables():
            out.append(f"unexpected check constraint {key[0]}.{key[1]}: {live[key]}")
    for key in sorted(live.keys() & wanted.keys()):
        # None: the models' text could not be put in PostgreSQL's words (a read-only database);
        # names are still compared.
        if wanted[key] is not None and live[key] != wanted[key]:
            out.append(
                f"changed check constraint {key[0]}.{key[1]}: "
                f"database has {live[key]!r}, models say {wanted[key]!r}"
            )
    return out


def _model_tables() -> set[str]:
    from arenadb.models import metadata

    return set(metadata.tables)


def _live_tables(conn: Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


def _model_check_constraints() -> list[tuple[sa.Table, sa.CheckConstraint]]:
    from arenadb.models import metadata

    return [
        (table, constraint)
        for table in metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
        # SQLAlchemy's own CHECKs for Boolean/Enum on backends without those types are not
        # written by our migrations and carry no name of ours.
        and not getattr(constraint, "_type_bound", False)
    ]


def _compiled(conn: Connection, constraint: sa.CheckConstraint) -> str:
    return str(
        constraint.sqltext.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    )


def _model_checks(conn: Connection) -> dict[tuple[str, str], str | None]:
    checks = _model_check_constraints()
    if conn.dialect.name != "postgresql":
        return {
            (table.name, str(constraint.name)): normalise_sql(_compiled(conn, constraint))
            for table, constraint in checks
        }
    spelled = _postgresql_spelling(conn, checks)
    if spelled is None:
        return {(table.name, str(constraint.name)): None for table, constraint in checks}
    return dict(spelled)


def _postgresql_spelling(
    conn: Connection, checks: list[tuple[sa.Table, sa.CheckConstraint]]
) -> dict[tuple[str, str], str] | None:
    """The models' CHECKs as PostgreSQL prints them, from temporary tables rolled back.

    None on a database that takes no temporary table (a read-only one, a hot standby).
    """
    out: dict[tuple[str, str], str] = {}
    probe = sa.MetaData()
    probes: dict[str, sa.Table] = {}
    for table, constraint in checks:
        if table.name not in probes:
            probes[table.name] = sa.Table(
                f"arenadb_probe_{len(probes)}",
                probe,
                *[sa.Column(c.name, c.type) for c in table.columns],
                prefixes=["TEMPORARY"],
            )
        probes[table.name].append_constraint(
            sa.CheckConstraint(
                sa.text(_compiled(conn, constraint)),
                name=sa.sql.elements.conv(str(constraint.name)),
            )
        )
    outer = conn.in_transaction()
    transaction = conn.begin_nested() if outer else conn.begin()
    try:
        for table_name, probe_table in probes.items():
            probe_table.create(conn)
            rows = conn.execute(
                sa.text(
                    "select conname, pg_get_constraintdef(oid) from pg_constraint "
                    "where conrelid = cast(:t as regclass) and contype = 'c'"
                ),
                {"t": f"pg_temp.{probe_table.name}"},
            ).all()
            for name, definition in rows:
                out[(table_name, name)] = normalise_sql(definition)
    except sa.exc.DBAPIError:
        return None
    finally:
        transaction.rollback()
    return out


def _live_checks(conn: Connection) -> dict[tuple[str, str], str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text(
                "select c.relname, k.conname, pg_get_constraintdef(k.oid) "
                "from pg_constraint k join pg_class c on c.oid = k.conrelid "
                "where k.contype = 'c' and c.relnamespace = current_schema()::regnamespace"
            )
        ).all()
        return {(table, name): normalise_sql(text) for table, name, text in rows}
    inspector = sa.inspect(conn)
    out = {}
    for table in inspector.get_table_names():
        for check in inspector.get_check_constraints(table):
            out[(table, str(check.get("name")))] = normalise_sql(check["sqltext"])
    return out


def live_triggers(conn: Connection) -> dict[tuple[str, str], str]:
    """(table, trigger) pairs the database has, leaving out PostgreSQL's internal ones, each with
    the sha256 of its normalised definition (on PostgreSQL with its function's body, which is
    where such a trigger does its work; the schema's name left out)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            sa.text(
                "select c.relname, t.tgname, replace(pg_get_triggerdef(t.oid), "
                "' ON ' || quote_ident(n.nspname) || '.', ' ON ') || ' ' || p.prosrc "
                "from pg_trigger t join pg_class c on c.oid = t.tgrelid "
                "join pg_namespace n on n.oid = c.relnamespace "
                "join pg_proc p on p.oid = t.tgfoid "
                "where not t.tgisinternal and c.relnamespace = current_schema()::regnamespace"
            )
        ).all()
    else:
        rows = conn.exec_driver_sql(
            "select tbl_name, name, sql from sqlite_master where type = 'trigger'"
        ).all()
    return {
        (str(table), str(name)): hashlib.sha256(normalise_sql(str(sql)).encode()).hexdigest()[:16]
        for table, name, sql in rows
    }


def expected_triggers(conn: Connection) -> frozenset[tuple[str, str]]:
    """EXPECTED_TRIGGERS, plus on SQLite the triggers that keep the FTS5 tables in sync."""
    if conn.dialect.name == "postgresql":
        return EXPECTED_TRIGGERS | PG_TRIGGERS
    return EXPECTED_TRIGGERS | fulltext.SQLITE_TRIGGERS


def trigger_differences(conn: Connection) -> list[str]:
    live = live_triggers(conn)
    tables = _live_tables(conn)
    expected = expected_triggers(conn)
    digests = TRIGGER_DIGESTS[conn.dialect.name]
    out = [
        f"missing trigger {table}.{name}"
        for table, name in sorted(expected - live.keys())
        if table in tables
    ]
    out += [
        f"unexpected trigger {table}.{name}"
        for table, name in sorted(live.keys() - expected)
        if table in _model_tables()
    ]
    # A trigger of the right name can still do nothing (a body replaced, a WHEN that never holds).
    out += [
        f"trigger {table}.{name}: its definition differs from the migrations'"
        for table, name in sorted(live.keys() & expected)
        if live[(table, name)] != digests.get((table, name))
    ]
    return out


def autoincrement_differences(conn: Connection) -> list[str]:
    """SQLite tables whose AUTOINCREMENT (ids never reused) differs from the models'."""
    if conn.dialect.name != "sqlite":
        return []  # PostgreSQL sequences never reuse an id
    from arenadb.models import metadata

    live = {
        str(name): "AUTOINCREMENT" in str(sql).upper()
        for name, sql in conn.exec_driver_sql(
            "select name, sql from sqlite_master where type = 'table'"
        ).all()
    }
    out = []
    for name, table in sorted(metadata.tables.items()):
        wanted = bool(table.dialect_options["sqlite"].get("autoincrement"))
        if name in live and live[name] != wanted:
            out.append(f"table {name}: AUTOINCREMENT {'missing' if wanted else 'unexpected'}")
    return out


def search_index_differences(conn: Connection) -> list[str]:
    """The full-text index's tables and views (SQLite) or indexes (PostgreSQL) that are missing."""
    tables = _live_tables(conn)
    if conn.dialect.name == "postgresql":
        live = {
            (str(table), str(name))
            for table, name in conn.execute(
                sa.text(
                    "select tablename, indexname from pg_indexes "
                    "where schemaname = current_schema()"
                )
            )
        }
        return [
            f"missing search index {table}.{name}"
            for table, name in sorted(fulltext.PG_INDEXES - live)
            if table in tables
        ]
    sources = {source.fts: source.table for source in fulltext.SOURCES.values()}
    views = set(sa.inspect(conn).get_view_names())
    return [
        f"missing search table {fts} (of {table})"
        for fts, table in sorted(sources.items())
        if table in tables and fts not in tables
    ] + [f"missing search view {view}" for view in sorted(fulltext.SQLITE_VIEWS - views)]
