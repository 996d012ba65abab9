"""Alembic environment for arenadb.

Run three ways, all with the same behaviour:
- from arenadb (`arenadb migrate up`, `arenadb init`, tests): a connection that already holds the
  migration lock is passed in `config.attributes["connection"]` and is used as it is; an Engine
  there (the Alembic cookbook's and pytest-alembic's way) gets a connection of its own, locked;
- plain `alembic upgrade head` from the repository root: the URL comes from arenadb's settings
  (flag-less precedence: ARENADB_DATABASE_URL, DATABASE_URL, DB_*, DB_PATH, default), and the
  migration runs under the same lock;
- offline (`--sql`, `arenadb migrate sql`): SQL is written out for a DBA.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection, Engine

from arenadb.models import metadata
from arenadb.schema.compare import include_name, include_object

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
        # The full-text index is no model: autogenerate must not offer to drop it.
        include_name=include_name,
        include_object=include_object,
        # SQLite cannot ALTER most things: batch mode recreates the table instead.
        render_as_batch=True,
        on_version_apply=config.attributes.get("on_version_apply") or (),
        **kwargs,
    )


def run_migrations_offline() -> None:
    url = config.attributes.get("settings") and config.get_main_option("sqlalchemy.url")
    if not url:
        url = _settings().database_url
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _refuse_another_applications_database(connection: Connection) -> None:
    """THE rule of arenadb.db.admin.is_arenadb_database, before any revision runs: a database
    holding another application's tables is migrated only when told so (`any_database`, or
    `alembic -x any_database=true upgrade head`)."""
    from arenadb.db.admin import connection_tables, refuse_foreign_database

    told = context.get_x_argument(as_dictionary=True).get("any_database", "")
    if config.attributes.get("any_database") or told.lower() in ("1", "true", "yes"):
        return
    began = not connection.in_transaction()
    tables = connection_tables(connection)
    if began and connection.dialect.name == "postgresql":
        connection.commit()  # leave the transactions to Alembic (see migration_lock)
    from arenadb.urls import mask_url

    settings = config.attributes.get("settings")
    where = (
        settings.masked_url
        if settings is not None
        else mask_url(connection.engine.url.render_as_string(hide_password=False))
    )
    refuse_foreign_database(where, tables, doing="migrate", outcome="nothing was changed")


def _run_on(connection: Connection) -> None:
    _refuse_another_applications_database(connection)
    # PostgreSQL commits each revision on its own, so a revision that waited too long for a lock
    # is retried from where it stopped, and a CONCURRENTLY index build (arenadb.schema.online)
    # commits no more than its own revision's work. SQLite keeps one transaction: its foreign
    # keys are verified before the one commit (arenadb.schema.migrations.migration_lock).
    per_revision = connection.dialect.name == "postgresql"
    _configure(connection=connection, transaction_per_migration=per_revision)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    from arenadb.schema.migrations import locked_migration_connection, migration_lock

    connectable = config.attributes.get("connection")
    if isinstance(connectable, Connection):
        _run_on(connectable)
    elif isinstance(connectable, Engine):
        with connectable.connect() as conn, migration_lock(conn) as locked:
            _run_on(locked)
    elif connectable is not None:
        raise TypeError(
            f'config.attributes["connection"] must be an Engine or a Connection, '
            f"not {type(connectable).__name__}"
        )
    else:
        with locked_migration_connection(_settings()) as conn:
            _run_on(conn)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
