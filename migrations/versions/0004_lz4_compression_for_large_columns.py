"""PostgreSQL: LZ4 compression for the large columns (LLM calls, turns, snapshots, actions).

Revision ID: 0004
Revises: 0003

PostgreSQL compresses a value that does not fit in about 2 KB of its row (TOAST), with pglz
unless the column says otherwise. An LLM call's request and response are several KB of JSON
each, so recording games spent a fifth of the server's CPU in pglz_compress (measured with
`perf` during benchmarks/record.py). LZ4 compresses and decompresses several times faster at a
similar ratio on this kind of text. PostgreSQL 14 and newer offer it when the server was built
with it (Debian's, the official images' and most distributions' are); the statements run only
then, so this revision is a no-op on older or LZ4-less servers and on SQLite.

Only how new values are stored changes: existing values keep their compression until they are
rewritten. No table is created and nothing is rewritten (the ALTERs change metadata only).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns whose values are routinely larger than a TOAST chunk.
LARGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "llm_calls": ("request", "response", "reasoning"),
    "game_turns": ("observation",),
    "game_snapshots": ("state",),
    "player_actions": ("payload", "result"),
}


def _set_compression(method: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    statements = [
        f"ALTER TABLE {table} "
        + ", ".join(f"ALTER COLUMN {column} SET COMPRESSION {method}" for column in columns)
        for table, columns in LARGE_COLUMNS.items()
    ]
    body = "\n    ".join(f"EXECUTE '{statement}';" for statement in statements)
    # Decided by the server itself, so that offline SQL (`arenadb migrate sql`) does the same:
    # `default_toast_compression` exists from PostgreSQL 14 and lists lz4 only when built in.
    op.execute(
        "DO $$\nBEGIN\n  IF EXISTS (SELECT 1 FROM pg_settings "
        "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN\n    "
        f"{body}\n  END IF;\nEND\n$$"
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("DEFAULT")
