"""`arenadb export|import|copy|clean|backup`: moving data between databases, and upkeep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from arenadb.cli.commands.game_filter import (
    AgentOption,
    ModelOption,
    SinceOption,
    StatusOption,
    TypeOption,
    UntilOption,
    game_filter,
)
from arenadb.cli.common import app_context, confirm_destructive
from arenadb.cli.options import (
    ForceOption,
    JsonOption,
    OptionalLimitOption,
    ShareDatabaseOption,
    YesOption,
    time_option,
)
from arenadb.cli.render.output import info, output_format, print_json, render_rows


def export(
    ctx: typer.Context,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="File to write (gzip if it ends in .gz); - for stdout. Parquet: a new folder.",
        ),
    ] = "-",
    dataset_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="jsonl (one record per line, for import) or parquet (a partitioned dataset "
            "for analysis; needs arenadb[analysis]).",
        ),
    ] = "jsonl",
    status: StatusOption = None,
    game_type: TypeOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: OptionalLimitOption = None,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Export games with seats, turns, actions, LLM calls and snapshots as JSON Lines, or as a
    Parquet dataset partitioned by game type and day (with a verified manifest)."""
    import sys

    from arenadb.cli.render.progress import progress_bar
    from arenadb.db import engine_scope
    from arenadb.errors import UsageError
    from arenadb.portability.export import export_games

    if dataset_format not in ("jsonl", "parquet"):
        raise UsageError(f"unknown --format {dataset_format!r}: jsonl or parquet")
    to_stdout = output == "-"
    fmt = output_format(ctx, json_output)
    if dataset_format == "parquet" and to_stdout:
        raise UsageError("--format parquet needs -o FOLDER: a dataset is a folder of files")
    if to_stdout and fmt == "json":
        raise UsageError("--json needs -o FILE: the export itself goes to stdout")
    filters = game_filter(
        status=status,
        game_type=game_type,
        agent=agent,
        model=model,
        since=since,
        until=until,
        limit=limit,
    )
    settings = app_context(ctx).settings()
    if dataset_format == "parquet":
        _export_parquet(settings, Path(output), filters, force=force, json_output=fmt == "json")
        return
    with (
        engine_scope(settings, pooled=False) as engine,
        progress_bar("exporting") as update,
    ):
        result = export_games(
            engine,
            sys.stdout if to_stdout else Path(output),
            filters,
            progress=update,
            force=force,
        )
    if fmt == "json":
        print_json(result)
        return
    info(
        f"exported {result.games} games ({result.rows} rows, {result.catalog} catalog records) "
        f"to {'stdout' if to_stdout else output} in {result.seconds:.2f}s"
    )


def _export_parquet(
    settings: Any, directory: Path, filters: Any, *, force: bool, json_output: bool
) -> None:
    from arenadb.analysis.parquet import export_parquet
    from arenadb.cli.render.progress import progress_bar
    from arenadb.db import engine_scope

    with (
        engine_scope(settings, pooled=False) as engine,
        progress_bar("exporting") as update,
    ):
        result = export_parquet(engine, directory, filters, force=force, progress=update)
    if json_output:
        print_json(result)
        return
    rows = sum(result.rows.values())
    info(
        f"exported {result.games} games ({rows} rows in {result.files} Parquet files, "
        f"{result.bytes / 1e6:.1f} MB, manifest verified) to {directory} in {result.seconds:.2f}s"
    )


def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An `arenadb export` file (.jsonl or .jsonl.gz).")],
    json_output: JsonOption = False,
) -> None:
    """Import games from an export; games already present (same UUID) are skipped.

    A bad record is reported as FILE:LINE: problem and nothing of that game is written; the
    other games are imported, and the command exits with status 1.
    """
    from arenadb.cli.render.progress import progress_bar
    from arenadb.db import engine_scope
    from arenadb.errors import InvalidDataError
    from arenadb.portability.importing import import_games

    fmt = output_format(ctx, json_output)
    settings = app_context(ctx).settings()
    with (
        engine_scope(settings, pooled=False) as engine,
        progress_bar(f"importing {file.name}") as update,
    ):
        result = import_games(engine, file, progress=update)
    if fmt == "json":
        print_json(result)
    for problem in result.problems:
        info(str(problem))
    created = ", ".join(f"{count} {kind}" for kind, count in sorted(result.created.items()))
    summary = (
        f"{result.imported} games imported ({result.rows} rows), {result.skipped} already "
        f"present, {result.rejected} rejected" + (f"; created {created}" if created else "")
    )
    if result.problems:
        raise InvalidDataError(f"{len(result.problems)} records rejected: {summary}")
    if fmt != "json":
        info(f"{summary} in {result.seconds:.2f}s")


def copy(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option("--to", help="Target database URL (created and migrated if needed)."),
    ],
    force: ForceOption = False,
    yes: YesOption = False,
    json_output: JsonOption = False,
    any_database: ShareDatabaseOption = False,
) -> None:
    """Copy the whole database to another one (SQLite <-> PostgreSQL), ids preserved."""
    from arenadb.cli.render.progress import progress_bar
    from arenadb.portability.copy import copy_database

    settings = app_context(ctx).settings()
    target = settings.with_url(to, origin="--to")
    fmt = output_format(ctx, json_output)
    if force:
        confirm_destructive(f"replace everything in {target.masked_url}", yes=yes)
    with progress_bar("copying") as update:
        result = copy_database(
            settings, target, force=force, progress=update, any_database=any_database
        )
    if fmt == "json":
        print_json(result)
        return
    render_rows(
        [{"table": t.table, "source rows": t.rows, "target rows": t.copied} for t in result.tables],
        ["table", "source rows", "target rows"],
        fmt,
        title=f"{result.source} -> {result.target}",
    )
    info(f"copied {result.rows} rows in {len(result.tables)} tables in {result.seconds:.2f}s")


def clean(
    ctx: typer.Context,
    before: Annotated[
        str, time_option(help="Remove what is older than this: 2026-01-01 or an age such as 90d.")
    ],
    what: Annotated[
        list[str] | None,
        typer.Option(
            help="llm-payloads, logs, events, snapshots, game-detail, or all (every one but "
            "game-detail); repeat or comma-separate; default llm-payloads,logs.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Retention: drop old LLM payloads, logs, finished events, snapshots, game detail."""
    from arenadb.db import engine_scope
    from arenadb.inspection.filters import parse_when
    from arenadb.portability.upkeep import check_categories, clean_database

    settings = app_context(ctx).settings()
    fmt = output_format(ctx, json_output)
    cutoff = parse_when(before)
    categories = check_categories(what)
    if not dry_run:
        confirm_destructive(
            f"remove {', '.join(categories)} older than {cutoff.isoformat()} from "
            f"{settings.masked_url}",
            yes=yes,
        )
    with engine_scope(settings, pooled=False) as engine:
        report = clean_database(engine, before=cutoff, what=categories, dry_run=dry_run)
    if fmt == "json":
        print_json(report)
        return
    render_rows(report.items, ["category", "table", "action", "rows"], fmt, title="clean")
    verb = "would affect" if dry_run else "affected"
    info(f"{verb} {report.rows} rows (before {cutoff.isoformat()})")
    if report.partitions:
        verb = "would drop" if dry_run else "dropped"
        info(f"{verb} {len(report.partitions)} partitions: {', '.join(report.partitions)}")


def backup(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="Backup file (PostgreSQL: custom format; plain SQL if .sql).")
    ],
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Back up the live database: SQLite's online backup API, or pg_dump for PostgreSQL."""
    from arenadb.cli.render.progress import progress_bar
    from arenadb.cli.render.tables import human_size
    from arenadb.portability.upkeep import backup_database

    settings = app_context(ctx).settings()
    fmt = output_format(ctx, json_output)
    with progress_bar("backing up") as update:
        result = backup_database(settings, file, force=force, progress=update)
    if fmt == "json":
        print_json(result)
        return
    info(
        f"backed up {settings.masked_url} to {result.path} ({result.method}, "
        f"{human_size(result.bytes)}) in {result.seconds:.2f}s"
    )
