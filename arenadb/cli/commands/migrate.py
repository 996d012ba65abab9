"""`arenadb migrate ...`: Alembic migrations under a lock, and the CI check."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arenadb.cli.common import app_context, confirm_destructive
from arenadb.cli.options import CsvOption, JsonOption, ShareDatabaseOption, YesOption
from arenadb.cli.render.output import info, output_format, print_json, render_rows

app = typer.Typer(help="Apply, inspect and check schema migrations.", no_args_is_help=True)


def _print_step(step: Any) -> None:
    verb = "applied" if step.upgrade else "reverted"
    info(f"  {verb} {step.revision}  {step.message}  ({step.seconds:.2f} s)")


@app.command("up")
def up(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision: an id, +N, or head.")] = "head",
    any_database: ShareDatabaseOption = False,
) -> None:
    """Migrate the database up to REVISION (default: head), printing each revision as it runs."""
    from arenadb.schema.migrations import upgrade

    settings = app_context(ctx).settings()
    result = upgrade(settings, revision, on_step=_print_step, any_database=any_database)
    if result.applied:
        info(f"applied {', '.join(result.applied)}; now at {', '.join(result.after)}")
    else:
        info(f"nothing to do; at {', '.join(result.after) or 'base'}")


# ignore_unknown_options: `migrate down -1` is a revision, not an option.
@app.command("down", context_settings={"ignore_unknown_options": True})
def down(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision: an id, -1, or base (removes every table).")
    ],
    yes: YesOption = False,
) -> None:
    """Migrate the database down to REVISION. Going to `base` must be named and confirmed."""
    from arenadb.schema.migrations import downgrade

    settings = app_context(ctx).settings()
    confirm_destructive(
        f"migrate {settings.masked_url} down to {revision} (dropped tables lose their data)",
        yes=yes,
    )
    result = downgrade(settings, revision, on_step=_print_step)
    if result.applied:
        info(f"reverted {', '.join(result.applied)}; now at {', '.join(result.after) or 'base'}")
    else:
        info(f"nothing to do; at {', '.join(result.after) or 'base'}")


@app.command("status")
def status(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Current revision, head and pending migrations; exits 0 in every state (`db check` gates)."""
    from arenadb.schema.migrations import migration_status

    result = migration_status(app_context(ctx).settings())
    fmt = output_format(ctx, json_output)
    if fmt == "json":
        print_json(
            {
                "status": result.state,
                "summary": result.summary,
                "database": result.database,
                "current": result.current,
                "heads": result.heads,
                "pending": result.pending,
                "foreign_tables": result.foreign_tables,
            }
        )
        return
    typer.echo(f"state:    {result.summary}")
    typer.echo(f"database: {result.database}")
    typer.echo(f"current:  {', '.join(result.current) or 'base (empty)'}")
    typer.echo(f"head:     {', '.join(result.heads)}")
    if result.pending:
        typer.echo(f"pending:  {len(result.pending)}")
        for rev in result.pending:
            typer.echo(f"  {rev.revision}  {rev.message}")
    else:
        typer.echo("pending:  none")


@app.command("history")
def history(
    ctx: typer.Context, json_output: JsonOption = False, csv_output: CsvOption = False
) -> None:
    """Every revision, oldest first, and whether the database has it."""
    from arenadb.db.admin import database_exists
    from arenadb.schema.migrations import RevisionInfo
    from arenadb.schema.migrations import history as revision_history

    settings = app_context(ctx).settings()
    rows = revision_history(settings if database_exists(settings) else None)
    render_rows(
        rows,
        ["revision", "down_revision", "message", "is_head", "applied"],
        output_format(ctx, json_output, csv_output),
        title="migrations",
        csv_fields=RevisionInfo,
    )


@app.command("sql")
def sql(
    ctx: typer.Context,
    revision_range: Annotated[
        str | None,
        typer.Argument(
            help="FROM:TO revisions: base:head, 0001:head (up) or head:0003 (down, TO below FROM)."
        ),
    ] = None,
    down: Annotated[
        bool,
        typer.Option("--down", help="A downgrade (default range head:base; FROM above TO)."),
    ] = False,
) -> None:
    """Print the SQL a migration would run (offline), for review by a DBA."""
    from arenadb.schema.migrations import offline_sql

    settings = app_context(ctx).settings()
    typer.echo(offline_sql(settings, revision_range, down=True if down else None), nl=False)


@app.command("check")
def check(
    ctx: typer.Context,
    json_output: JsonOption = False,
    target: Annotated[
        bool,
        typer.Option(
            "--target/--no-target",
            help="Also report pending migrations on the configured database, if it exists.",
        ),
    ] = True,
) -> None:
    """The CI check: one head, models match migrations, up/down/up works (exit 3 if not)."""
    from arenadb.errors import CheckFailedError
    from arenadb.schema.check import check_migrations

    fmt = output_format(ctx, json_output)
    try:
        report = check_migrations(app_context(ctx).settings(), check_target=target)
    except CheckFailedError as failed:
        if fmt == "json":
            print_json(failed.details)
        else:
            details: Any = failed.details
            for line in [*details.differences, *details.target_differences]:
                typer.echo(f"  {line}", err=True)
        raise
    if fmt == "json":
        print_json(report)
        return
    info(f"heads: {', '.join(report.heads)}")
    info(f"models match migrations on a scratch {report.scratch_backend} database")
    info("up -> down to base -> up: ok")
    for leftover in report.stale_scratch_removed:
        info(f"removed {leftover}, left behind by a check that was killed")
    if report.target_checked:
        info(f"{report.target}: no pending migrations")
    elif report.target:
        info(f"{report.target}: does not exist, pending migrations not checked")
    typer.echo("ok")
