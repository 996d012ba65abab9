"""Prompts are immutable in the database too: an UPDATE of a prompt's text or identity fails.

Revision ID: 0005
Revises: 0004

A prompt's name, version, content and sha256 never change: a new text is a new version that
records its parent (`arenadb.catalog.registration.register_prompt`). The ORM refuses such an update
(`models.catalog._prompts_are_immutable`); this trigger makes every other writer (raw SQL, another
tool, a hand-run fix) refuse it as well, on SQLite and on PostgreSQL. `active` may still change,
and prompts may be deleted. No table is created.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "prompts are immutable (name, version, content, sha256): register a new version"
CHANGED = " OR ".join(
    f"NEW.{column} IS DISTINCT FROM OLD.{column}"
    for column in ("name", "version", "content", "sha256")
)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION arenadb_prompts_immutable() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f"  RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';\n"
            "END\n$$"
        )
        op.execute(
            "CREATE TRIGGER prompts_immutable BEFORE UPDATE ON prompts FOR EACH ROW "
            f"WHEN ({CHANGED}) EXECUTE FUNCTION arenadb_prompts_immutable()"
        )
    else:
        # SQLite has no IS DISTINCT FROM; IS NOT compares NULLs the same way.
        changed = CHANGED.replace("IS DISTINCT FROM", "IS NOT")
        op.execute(
            f"CREATE TRIGGER prompts_immutable BEFORE UPDATE ON prompts FOR EACH ROW "
            f"WHEN {changed} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER prompts_immutable"
        + (" ON prompts" if op.get_context().dialect.name == "postgresql" else "")
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION arenadb_prompts_immutable()")
