"""`arenadb db ...` and `arenadb init`: check, create, drop and reset whole databases."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arenadb.cli.common import app_context, confirm_destructive
from arenadb.cli.options import (
    AnyDatabaseOption,
    CsvOption,
    JsonOption,
    ShareDatabaseOption,
    YesOption,
)
from arenadb.cli.render.output import (
    info,
    output_format,
    print_json,
    render_object,
    render_rows,
    to_plain,
)

app = typer.Typer(help="Check, create, drop and reset the database.", no_args_is_help=True)


@app.command("check")
def check(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Exit 0 only for an arenadb database at head whose schema matches the models (else 3)."""
    from arenadb.errors import CheckFailedError
    from arenadb.schema.lifecycle import check_database

    fmt = output_format(ctx, json_output)
    try:
        result = check_database(app_context(ctx).settings())
    except CheckFailedError as failed:
        if fmt == "json":
            print_json(_check_data(failed.details))
        else:
            details: Any = failed.details
            for line in details.differences:
                typer.echo(f"  {line}", err=True)
        raise
    render_object(_check_data(result), fmt, title="arenadb database")


def _check_data(result: Any) -> dict[str, Any]:
    return {
        "status": "ok" if result.ok else "failed",
        "url": result.url,
        "backend": result.backend,
        "server_version": result.server_version,
        "database": result.database,
        "migration_state": result.migration_state,
        "current_revision": ",".join(result.current_revision) or None,
        "head_revision": ",".join(result.head_revision),
        "pending": result.pending,
        "problems": result.problems,
        "differences": result.differences,
        "derived_problems": result.derived_problems,
        "other_tables": result.other_tables,  # another application's: listed, not checked
        "seed": result.seed,
        **result.extra,
    }


@app.command("create")
def create(
    ctx: typer.Context,
    if_not_exists: Annotated[
        bool, typer.Option("--if-not-exists", help="An existing database is not an error.")
    ] = False,
) -> None:
    """Create the (empty) database: a SQLite file, or CREATE DATABASE on PostgreSQL."""
    from arenadb.db.admin import create_database

    settings = app_context(ctx).settings()
    created = create_database(settings, if_not_exists=if_not_exists)
    info(f"{'created' if created else 'already exists:'} {settings.masked_url}")


@app.command("drop")
def drop(
    ctx: typer.Context,
    yes: YesOption = False,
    any_database: AnyDatabaseOption = False,
) -> None:
    """Drop the whole database, data and schema. Asks first."""
    from arenadb.db.admin import database_exists, drop_database
    from arenadb.errors import DatabaseMissingError

    settings = app_context(ctx).settings()
    if not database_exists(settings):
        raise DatabaseMissingError(f"database {settings.masked_url} does not exist")
    confirm_destructive(f"drop database {settings.masked_url} and all its data", yes=yes)
    drop_database(settings, any_database=any_database)
    info(f"dropped {settings.masked_url}")


SeedOption = Annotated[
    str | None,
    typer.Option("--seed", help="Then seed it with this environment (demo, development, test)."),
]


@app.command("reset")
def reset(
    ctx: typer.Context,
    yes: YesOption = False,
    seed: SeedOption = None,
    any_database: AnyDatabaseOption = False,
) -> None:
    """Drop the database, create it again and migrate it to head. Asks first."""
    from arenadb.cli.render.progress import progress_bar
    from arenadb.schema.lifecycle import reset_database

    settings = app_context(ctx).settings()
    confirm_destructive(f"reset database {settings.masked_url} (all data is lost)", yes=yes)
    with progress_bar() as bar:
        result = reset_database(settings, seed=seed, progress=bar, any_database=any_database)
    info(f"reset {result.url}: schema at {', '.join(result.migration.after) or 'base'}")
    if result.seed is not None:
        info(describe_seed(result.seed))


def init(
    ctx: typer.Context, seed: SeedOption = None, any_database: ShareDatabaseOption = False
) -> None:
    """Create the database if it is missing, migrate it to head, optionally seed it."""
    from arenadb.cli.render.progress import progress_bar
    from arenadb.schema.lifecycle import init_database

    settings = app_context(ctx).settings()
    with progress_bar() as bar:
        result = init_database(settings, seed=seed, progress=bar, any_database=any_database)
    state = "created" if result.created else "exists"
    applied = result.migration.applied
    migrated = f"applied {', '.join(applied)}" if applied else "already at head"
    info(f"{result.url}: {state}, {migrated}")
    if result.seed is not None:
        info(describe_seed(result.seed))


def describe_seed(result: Any) -> str:
    """One line about a SeedResult for people."""
    created = ", ".join(f"{n} {what}" for what, n in result.created.items() if n)
    if not result.changed:
        return f"seed {result.env} v{result.version}: already applied, nothing changed"
    parts = [f"{result.games_written} games"] + ([created] if created else [])
    if result.games_existing:
        parts.append(f"{result.games_existing} games already there")
    return f"seed {result.env} v{result.version}: wrote " + ", ".join(parts)


def seed(
    ctx: typer.Context,
    env: Annotated[
        str, typer.Option("--env", "-e", help="Seed environment: demo, development or test.")
    ],
    reset_data: Annotated[
        bool, typer.Option("--reset", help="Empty every table first (asks first).")
    ] = False,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Write an environment's seed data (one transaction; running it twice changes nothing)."""
    from arenadb.cli.render.progress import progress_bar
    from arenadb.seeding.files import load_seed
    from arenadb.seeding.seeder import seed_database

    settings = app_context(ctx).settings()
    load_seed(env)  # an unknown environment or a broken file fails before any question
    if reset_data:
        confirm_destructive(f"empty every table of {settings.masked_url} before seeding", yes=yes)
    with progress_bar() as bar:
        result = seed_database(settings, env, reset=reset_data, progress=bar)
    if output_format(ctx, json_output) == "json":
        print_json({"status": "ok", "changed": result.changed, **vars(result)})
        return
    info(describe_seed(result))


@app.command("reindex")
def reindex(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Rebuild the full-text search index from the rows it indexes (when `db check` says so)."""
    from arenadb.db import engine_scope
    from arenadb.db.search_index import rebuild_search_index

    with engine_scope(app_context(ctx).settings(), pooled=False) as engine:
        result = rebuild_search_index(engine)
    if output_format(ctx, json_output) == "json":
        print_json({"status": "ok", **vars(result)})
        return
    done = ", ".join(f"{n} {what}" for what, n in result.rows.items()) or ", ".join(result.indexes)
    info(f"rebuilt the search index ({done}) in {result.seconds:.2f}s")


StatsExactOption = Annotated[
    bool,
    typer.Option(
        "--exact",
        help="Count every row (and on SQLite read every page for the sizes): exact, in a "
        "time that grows with the tables.",
    ),
]


@app.command("stats")
def stats(
    ctx: typer.Context,
    exact: StatsExactOption = False,
    json_output: JsonOption = False,
    csv_output: CsvOption = False,
) -> None:
    """Rows and size on disk (with indexes) of every table.

    Rows are estimates read in a bounded time (`~`; `estimated` in JSON and CSV): PostgreSQL's
    planner statistics, SQLite's rowid spans (SQLite then shows only the file's size);
    --exact counts every row and sizes every table."""
    from arenadb.cli.render.tables import human_size
    from arenadb.db import engine_scope
    from arenadb.inspection.stats import TableStats, db_stats

    fmt = output_format(ctx, json_output, csv_output)
    with engine_scope(app_context(ctx).settings()) as engine:
        result = db_stats(engine, exact=exact)
    if fmt != "table":
        render_rows(
            to_plain(result.tables),
            ["table", "rows", "size_bytes", "estimated"],
            fmt,
            csv_fields=TableStats,
        )
        return
    rows = [
        {
            "table": t.table,
            "rows": f"~{t.rows:,}" if t.estimated else f"{t.rows:,}",
            "size": human_size(t.size_bytes),
        }
        for t in result.tables
    ]
    rows.append({"table": "total", "rows": "", "size": human_size(result.size_bytes)})
    title = f"{result.backend} tables" + (" (~: estimated rows)" if result.estimated else "")
    render_rows(rows, ["table", "rows", "size"], fmt, title=title)
    if result.estimated:
        sizes = "" if result.backend == "postgresql" else " and each table's size"
        info(f"rows are estimates (~){sizes}: --exact counts every row")
