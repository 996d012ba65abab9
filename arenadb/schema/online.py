"""Helpers for migrations that must not block a live, large PostgreSQL database.

`CREATE INDEX` locks a table against writes for as long as the build takes (minutes on a big
`game_turns`); `CREATE INDEX CONCURRENTLY` lets writers go on, but cannot run inside a
transaction. These helpers run it in Alembic's `autocommit_block` (which commits the revision's
earlier work first: keep such a revision to the index alone), without the statement timeout, and
drop the INVALID index a failed or interrupted build leaves behind before building again. On
SQLite they are plain CREATE/DROP INDEX. How to write such a migration:
docs/contributing-migrations.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


def _drop_invalid(index_name: str) -> None:
    context = op.get_context()
    if context.as_sql:
        return  # offline SQL for a DBA: nothing to inspect
    invalid = (
        op.get_bind()
        .execute(
            sa.text(
                "select 1 from pg_index i join pg_class c on c.oid = i.indexrelid "
                "where c.relname = :name and c.relnamespace = current_schema()::regnamespace "
                "and not i.indisvalid"
            ),
            {"name": index_name},
        )
        .first()
    )
    if invalid:
        op.drop_index(index_name, postgresql_concurrently=True, if_exists=True)


def create_index_concurrently(
    index_name: str, table_name: str, columns: Sequence[str | Any], **kwargs: Any
) -> None:
    """In a revision's upgrade(): build an index while writers keep writing (PostgreSQL)."""
    if op.get_context().dialect.name != "postgresql":
        op.create_index(index_name, table_name, list(columns), **kwargs)
        return
    with op.get_context().autocommit_block():
        # An index build on a big table may take longer than any statement timeout set for the
        # application; lock_timeout still bounds how long it queues for its table lock.
        op.execute("SET statement_timeout = 0")
        try:
            _drop_invalid(index_name)
            op.create_index(
                index_name,
                table_name,
                list(columns),
                postgresql_concurrently=True,
                if_not_exists=True,
                **kwargs,
            )
        finally:
            op.execute("RESET statement_timeout")


def drop_index_concurrently(index_name: str, table_name: str) -> None:
    """In a revision's downgrade(): drop an index without blocking readers and writers."""
    if op.get_context().dialect.name != "postgresql":
        op.drop_index(index_name, table_name=table_name)
        return
    with op.get_context().autocommit_block():
        op.drop_index(
            index_name, table_name=table_name, postgresql_concurrently=True, if_exists=True
        )
