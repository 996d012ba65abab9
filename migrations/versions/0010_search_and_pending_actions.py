"""Full-text search over the record (turns, messages, LLM responses, knowledge); pending actions.

Revision ID: 0010
Revises: 0009

Search (`arenadb search`, `arenadb.inspection.search`; the query side is
`arenadb.db.fulltext`, whose expressions must stay the ones written here):

- PostgreSQL: one GIN expression index per searched table over `to_tsvector('simple', ...)`.
  'simple' (lower case, no stemming, no stop words) because what is searched is game transcripts,
  actions like `[vote] 3`, model output in any language and names, where English stemming would
  conflate or drop words; and because it finds the same words as SQLite's unicode61 tokenizer,
  so a search means the same on both backends. Each text is cut to its first 100,000 characters:
  a tsvector holds at most 1 MB, and an index expression that fails would fail the write.
- SQLite: one FTS5 external-content table per searched table, kept in sync by triggers on the
  content table. External content rather than contentless: snippet() needs the text, which stays
  stored once, in the content table. LLM responses are indexed as the string values of their
  JSON (not its keys or escapes), read through a view that is the FTS table's content.

Pending actions (`pending_actions`): a seat's action for a turn that has not resolved yet,
committed as soon as it is submitted, deleted when the turn is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_CHARS = 100_000

# PostgreSQL: index name -> (table, tsvector expression). arenadb.db.fulltext uses the same.
PG_INDEXES: dict[str, tuple[str, str]] = {
    "ix_game_turns_search": (
        "game_turns",
        "to_tsvector('simple'::regconfig, left(coalesce(observation, '') || ' ' "
        f"|| coalesce(action, ''), {MAX_CHARS}))",
    ),
    "ix_messages_search": (
        "messages",
        f"to_tsvector('simple'::regconfig, left(content, {MAX_CHARS}))",
    ),
    "ix_llm_calls_search": (
        "llm_calls",
        f"(to_tsvector('simple'::regconfig, left(coalesce(reasoning, ''), {MAX_CHARS})) "
        "|| jsonb_to_tsvector('simple'::regconfig, coalesce(response, 'null'::jsonb), "
        "'[\"string\"]'::jsonb))",
    ),
    "ix_knowledge_chunks_search": (
        "knowledge_chunks",
        "to_tsvector('simple'::regconfig, left(coalesce(title, '') || ' ' "
        f"|| content, {MAX_CHARS}))",
    ),
}

# SQLite: FTS table -> (content table, content rowid, columns, their value in a row `r`).
RESPONSE_TEXT = (
    "CASE WHEN json_valid({r}.response) THEN (SELECT group_concat(value, ' ') "
    "FROM json_tree({r}.response) WHERE type = 'text') END"
)
FTS_TABLES: dict[str, tuple[str, str, tuple[str, ...], tuple[str, ...]]] = {
    "search_turns": ("game_turns", "rowid", ("observation", "action"), ("observation", "action")),
    "search_messages": ("messages", "id", ("content",), ("content",)),
    "search_llm_calls": (
        "llm_calls",
        "id",
        ("reasoning", "response"),
        ("reasoning", RESPONSE_TEXT),
    ),
    "search_knowledge": ("knowledge_chunks", "id", ("title", "content"), ("title", "content")),
}
LLM_VIEW = "search_llm_calls_text"
TOKENIZER = "unicode61 remove_diacritics 0"


def _sqlite_upgrade() -> None:
    op.execute(
        f"CREATE VIEW {LLM_VIEW} AS SELECT r.id AS id, r.reasoning AS reasoning, "
        f"{RESPONSE_TEXT.format(r='r')} AS response FROM llm_calls r"
    )
    for fts, (table, rowid, columns, values) in FTS_TABLES.items():
        content = LLM_VIEW if table == "llm_calls" else table
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({', '.join(columns)}, content='{content}', "
            f"content_rowid='{'id' if rowid == 'id' else 'rowid'}', tokenize='{TOKENIZER}')"
        )
        cols = ", ".join(columns)

        def row(r: str, values: tuple[str, ...] = values) -> str:
            return ", ".join(v.format(r=r) if "{r}" in v else f"{r}.{v}" for v in values)

        insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.{rowid}, {row('new')});"
        delete = (
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.{rowid}, {row('old')});"
        )
        watched = ", ".join(c for c in columns)
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {watched} ON {table} "
            f"BEGIN {delete} {insert} END"
        )
        # What is already there ('rebuild' would do it, but cannot read a view).
        op.execute(f"INSERT INTO {fts}(rowid, {cols}) SELECT r.{rowid}, {row('r')} FROM {table} r")


def _sqlite_downgrade() -> None:
    for fts in FTS_TABLES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{event}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
    op.execute(f"DROP VIEW IF EXISTS {LLM_VIEW}")


def upgrade() -> None:
    op.create_table(
        "pending_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("turn_number", sa.Integer(), nullable=False),
        sa.Column("seat", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "turn_number >= 0", name=op.f("ck_pending_actions_turn_number_nonnegative")
        ),
        sa.ForeignKeyConstraint(
            ["game_id"],
            ["games.id"],
            name=op.f("fk_pending_actions_game_id_games"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["game_id", "seat"],
            ["game_players.game_id", "game_players.seat"],
            name=op.f("fk_pending_actions_game_id_seat_game_players"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_actions")),
        sa.UniqueConstraint(
            "game_id",
            "turn_number",
            "seat",
            name=op.f("uq_pending_actions_game_id_turn_number_seat"),
        ),
    )
    if op.get_context().dialect.name == "postgresql":
        for name, (table, expression) in PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (({expression}))")
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    else:
        _sqlite_downgrade()
    op.drop_table("pending_actions")
