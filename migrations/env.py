"""Alembic environment for arenadb.

Run three ways, all with the same behaviour:
- from arenadb (`arenadb migrate up`, `arenadb init`, tests): a connection that already holds the
  migration lock is passed in `config.attributes["connection"]` and is used as it is;
- plain `alembic upgrade head` from the repository root: the URL comes from arenadb's settings
  (flag-less precedence: ARENADB_DATABASE_URL, DATABASE_URL, DB_*, DB_PATH, default), and the
  migration runs under the same lock;
- offline (`--sql`, `arenadb migrate sql`): SQL is written out for a DBA.
"""

from __future__ import annotations

from alembic import context

from arenadb.models import metadata

config = context.config


def _settings():
    settings = config.attributes.get("settings")
    if settings is None:
        from arenadb.config import load_settings

        settings = load_settings()
    return settings


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode recreates the table instead.
        render_as_batch=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = config.attributes.get("settings") and config.get_main_option("sqlalchemy.url")
    if not url:
        url = _settings().database_url
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from arenadb.schema.migrations import locked_migration_connection

    with locked_migration_connection(_settings()) as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
